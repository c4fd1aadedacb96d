package coordinator

import (
	"context"
	"fmt"
	"slices"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

// ACLs live in the image as an auth.ACLSet, rebuilt by each command that
// changes them. The controller validates every ACL and resolves DeleteAcls
// filters to the exact ACLs they remove before proposing, so applying is a
// pure function of the image and the command (Kafka's AclControlManager
// does the same with ACL ids).

const (
	// maxACLs bounds the ACLs in the image: 100,000 ACLs index in tens of
	// megabytes, far beyond any cluster's needs, and bound what a client
	// with Alter on the cluster can make every node hold.
	maxACLs = 100_000
	// maxACLsPerOp bounds the ACLs one request creates or removes, as
	// Kafka's MAX_RECORDS_PER_USER_OP (10,000) does.
	maxACLsPerOp = 10_000
	// maxACLFiltersPerOp bounds the filters of one DeleteAcls: the
	// controller tries each against every stored ACL while it holds its
	// lock (heartbeats wait), and 1,000 × 100,000 tries took 3.3 s on a
	// busy 2-core machine; 200 keeps it under a second. kafka-acls
	// --remove sends one filter per principal, host and operation given.
	maxACLFiltersPerOp = 200
	// maxACLFieldLen bounds an ACL's resource name, principal and host,
	// so that 100,000 ACLs stay within a few hundred megabytes at worst.
	maxACLFieldLen = 1024
)

// CreateACLs stores the ACLs that pass validation, in one command. The
// first slice has one entry per ACL (nil when it is stored, or already
// was); the error is the whole operation's.
func (c *Coordinator) CreateACLs(ctx context.Context, acls []auth.ACL) ([]error, error) {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcCreateACLs, ACLs: acls})
	if err == nil {
		err = resp.err()
	}
	if err != nil {
		return nil, err
	}
	out := make([]error, len(acls))
	for i := range out {
		if i < len(resp.Results) && resp.Results[i].Code != 0 {
			out[i] = &protocol.Error{Code: protocol.ErrorCode(resp.Results[i].Code), Msg: resp.Results[i].Msg}
		}
	}
	return out, nil
}

// DeleteACLs removes every stored ACL that one of the filters matches, in
// one command, and returns per filter the ACLs it matched. A filter that
// fails auth.ValidateFilter fails the whole operation: the broker answers
// those itself before asking.
func (c *Coordinator) DeleteACLs(ctx context.Context, filters []auth.ACLFilter) ([][]auth.ACL, error) {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcDeleteACLs, Filters: filters})
	if err == nil {
		err = resp.err()
	}
	if err != nil {
		return nil, err
	}
	out := make([][]auth.ACL, len(filters))
	copy(out, resp.Deleted)
	return out, nil
}

// checkACL is what the controller and the state machine refuse in a new
// ACL: what Kafka refuses, and fields beyond maxACLFieldLen.
func checkACL(a auth.ACL) error {
	if code, msg := auth.ValidateACL(a); code != 0 {
		return &protocol.Error{Code: protocol.ErrorCode(code), Msg: msg}
	}
	if len(a.ResourceName) > maxACLFieldLen || len(a.Principal) > maxACLFieldLen || len(a.Host) > maxACLFieldLen {
		return protocol.Errorf(protocol.InvalidRequest, "ACL resource name, principal and host are limited to %d bytes each", maxACLFieldLen)
	}
	return nil
}

// checkACLCount refuses an operation over more than maxACLsPerOp ACLs.
func checkACLCount(n int) error {
	if n > maxACLsPerOp {
		return protocol.Errorf(protocol.InvalidRequest, "at most %d ACLs may be created or removed at once, got %d", maxACLsPerOp, n)
	}
	return nil
}

// checkFilterCount refuses a DeleteAcls of more than maxACLFiltersPerOp
// filters.
func checkFilterCount(n int) error {
	if n > maxACLFiltersPerOp {
		return protocol.Errorf(protocol.InvalidRequest, "at most %d ACL filters may be given at once, got %d", maxACLFiltersPerOp, n)
	}
	return nil
}

func (c *Coordinator) createACLs(acls []auth.ACL) rpcResponse {
	if err := checkACLCount(len(acls)); err != nil {
		return errResponse(err)
	}
	results := make([]rpcResult, len(acls))
	res, err := c.ctrl.do(func(md *Metadata) (*command, error) {
		seen := aclSet(md.ACLs.All())
		cmd := &command{Op: opCreateACLs}
		for i, a := range acls {
			if err := checkACL(a); err != nil {
				results[i].fail(err)
				continue
			}
			if _, ok := seen[a]; ok {
				continue // Kafka answers success for an ACL that exists
			}
			if len(seen) >= maxACLs {
				results[i].fail(protocol.Errorf(protocol.PolicyViolation, "the cluster holds %d ACLs, the most it may", maxACLs))
				continue
			}
			seen[a] = struct{}{}
			cmd.ACLs = append(cmd.ACLs, a)
		}
		if len(cmd.ACLs) == 0 {
			return nil, nil
		}
		return cmd, nil
	})
	r := respond(res, err)
	r.Results = results
	return r
}

func (c *Coordinator) deleteACLs(filters []auth.ACLFilter) rpcResponse {
	if err := checkFilterCount(len(filters)); err != nil {
		return errResponse(err)
	}
	for _, f := range filters {
		if code, msg := auth.ValidateFilter(f); code != 0 {
			return errResponse(&protocol.Error{Code: protocol.ErrorCode(code), Msg: msg})
		}
	}
	deleted := make([][]auth.ACL, len(filters))
	res, err := c.ctrl.do(func(md *Metadata) (*command, error) {
		cmd := &command{Op: opDeleteACLs}
		for _, a := range md.ACLs.All() {
			matched := false
			for i, f := range filters {
				if f.Matches(a) {
					deleted[i] = append(deleted[i], a)
					matched = true
				}
			}
			if matched {
				cmd.ACLs = append(cmd.ACLs, a)
			}
		}
		if err := checkACLCount(len(cmd.ACLs)); err != nil {
			return nil, fmt.Errorf("the filters match %d ACLs: %w", len(cmd.ACLs), err)
		}
		if len(cmd.ACLs) == 0 {
			return nil, nil
		}
		return cmd, nil
	})
	r := respond(res, err)
	if err == nil {
		r.Deleted = deleted
	}
	return r
}

// addACLs is create_acls applied: ACLs already stored are skipped, and
// none beyond maxACLs is added.
func addACLs(m *Metadata, acls []auth.ACL) error {
	all := m.ACLs.All()
	seen := aclSet(all)
	for _, a := range acls {
		if _, ok := seen[a]; ok {
			continue
		}
		if len(all) >= maxACLs {
			return fmt.Errorf("the image holds %d ACLs, the most it may", maxACLs)
		}
		seen[a] = struct{}{}
		all = append(all, a)
	}
	m.ACLs = auth.NewACLSet(all)
	return nil
}

// removeACLs is delete_acls applied.
func removeACLs(m *Metadata, acls []auth.ACL) {
	gone := aclSet(acls)
	m.ACLs = auth.NewACLSet(slices.DeleteFunc(m.ACLs.All(), func(a auth.ACL) bool {
		_, ok := gone[a]
		return ok
	}))
}

// aclSet indexes acls for membership tests: operations over 10,000 ACLs
// against 100,000 stored ones must not compare every pair.
func aclSet(acls []auth.ACL) map[auth.ACL]struct{} {
	s := make(map[auth.ACL]struct{}, len(acls))
	for _, a := range acls {
		s[a] = struct{}{}
	}
	return s
}
