package broker

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// DescribeUserScramCredentials and AlterUserScramCredentials manage the
// SCRAM users of SASL listeners (KIP-554), stored in the metadata quorum;
// Describe and Alter on the cluster, as in Kafka.

func handleDescribeUserScram(b *Broker, c *conn, req *kmsg.DescribeUserSCRAMCredentialsRequest) *kmsg.DescribeUserSCRAMCredentialsResponse {
	out := kmsg.NewPtrDescribeUserSCRAMCredentialsResponse()
	if !c.may(authzDescribeScram, "") {
		out.ErrorCode = int16(authzDescribeScram.Error)
		return out
	}
	stored := b.coord.Metadata().Scram
	users := slices.Sorted(maps.Keys(stored))
	// No user named (null or an empty list, as Java sends it) describes every user.
	explicit := len(req.Users) > 0
	if explicit {
		users = users[:0]
		for _, u := range req.Users {
			users = append(users, u.Name)
		}
	}
	for i, u := range users {
		r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		r.User = u
		switch creds, ok := stored[u]; {
		case slices.Contains(users[:i], u) || slices.Contains(users[i+1:], u):
			r.ErrorCode = int16(protocol.DuplicateResource)
			r.ErrorMessage = kmsg.StringPtr("Cannot describe SCRAM credentials for the same user twice in a single request: " + u)
		case !ok:
			r.ErrorCode = int16(protocol.ResourceNotFound)
			r.ErrorMessage = kmsg.StringPtr("Attempt to describe a user credential that does not exist: " + u)
		default:
			for _, m := range slices.Sorted(maps.Keys(creds)) {
				ci := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
				ci.Mechanism, ci.Iterations = int8(m), creds[m].Iterations
				r.CredentialInfos = append(r.CredentialInfos, ci)
			}
		}
		out.Results = append(out.Results, r)
	}
	return out
}

func handleAlterUserScram(b *Broker, c *conn, req *kmsg.AlterUserSCRAMCredentialsRequest) *kmsg.AlterUserSCRAMCredentialsResponse {
	out := kmsg.NewPtrAlterUserSCRAMCredentialsResponse()
	var users []string // in request order, each once
	errs := map[string]error{}
	note := func(u string, err error) {
		if !slices.Contains(users, u) {
			users = append(users, u)
		}
		if errs[u] == nil {
			errs[u] = err
		}
	}
	allowed := c.may(authzAlterScram, "")
	// Kafka alters a user at most once per request: a user named twice,
	// whatever the mechanisms, is refused and left as it was.
	count := map[string]int{}
	for _, d := range req.Deletions {
		note(d.Name, nil)
		count[d.Name]++
	}
	for _, u := range req.Upsertions {
		note(u.Name, nil)
		count[u.Name]++
	}
	for u, n := range count {
		if n > 1 {
			errs[u] = protocol.Errorf(protocol.DuplicateResource, "A user credential cannot be altered twice in the same request")
		}
	}
	var up []coordinator.ScramUpsertion
	var del []coordinator.ScramDeletion
	for _, d := range req.Deletions {
		if count[d.Name] == 1 {
			del = append(del, coordinator.ScramDeletion{Name: d.Name, Mechanism: auth.ScramMechanism(d.Mechanism)})
		}
	}
	for _, u := range req.Upsertions {
		if count[u.Name] == 1 {
			up = append(up, coordinator.ScramUpsertion{Name: u.Name, Mechanism: auth.ScramMechanism(u.Mechanism),
				Iterations: u.Iterations, Salt: u.Salt, SaltedPassword: u.SaltedPassword})
		}
	}
	switch {
	case !allowed:
		for _, u := range users {
			note(u, protocol.Errorf(protocol.ClusterAuthorizationFailed, ""))
		}
	case len(up)+len(del) > 0:
		results, err := b.coord.AlterScram(b.ctx, up, del)
		for _, u := range users {
			note(u, err)
		}
		for _, r := range results {
			note(r.User, r.Err)
		}
	}
	for _, u := range users {
		r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		r.User = u
		if err := errs[u]; err != nil {
			r.ErrorCode = int16(protocol.Code(err))
			if msg := err.Error(); msg != "" {
				r.ErrorMessage = kmsg.StringPtr(msg)
			}
		}
		out.Results = append(out.Results, r)
	}
	return out
}
