package broker

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

// CreateAcls, DescribeAcls and DeleteAcls manage the ACLs the authorizer
// reads; they live in the metadata quorum. Creating and deleting needs
// Alter on the cluster, describing needs Describe, as in Kafka.

// noAuthorizer is Kafka's answer when authorizer.class.name is unset.
const noAuthorizer = "No Authorizer is configured."

func handleCreateAcls(b *Broker, c *conn, req *kmsg.CreateACLsRequest) *kmsg.CreateACLsResponse {
	out := kmsg.NewPtrCreateACLsResponse()
	code, msg := c.aclAdmin(authzCreateACLs)
	acls := make([]auth.ACL, 0, len(req.Creations))
	fails := make([]kmsg.CreateACLsResponseResult, len(req.Creations))
	for i, cr := range req.Creations {
		a := auth.ACL{ResourceType: cr.ResourceType, ResourceName: cr.ResourceName, PatternType: cr.ResourcePatternType,
			Principal: cr.Principal, Host: cr.Host, Operation: cr.Operation, Permission: cr.PermissionType}
		fails[i] = kmsg.NewCreateACLsResponseResult()
		if code == 0 {
			fails[i].ErrorCode, fails[i].ErrorMessage = vacl(auth.ValidateACL(a))
		} else {
			fails[i].ErrorCode, fails[i].ErrorMessage = int16(code), msg
		}
		if fails[i].ErrorCode == 0 {
			acls = append(acls, a)
		}
	}
	if len(acls) > 0 {
		errs, err := b.coord.CreateACLs(b.ctx, acls)
		j := 0
		for i := range fails {
			if fails[i].ErrorCode != 0 {
				continue
			}
			e := err
			if e == nil && j < len(errs) {
				e = errs[j]
			}
			j++
			if e != nil {
				fails[i].ErrorCode, fails[i].ErrorMessage = int16(protocol.Code(e)), kmsg.StringPtr(e.Error())
			}
		}
	}
	out.Results = fails
	return out
}

// vacl turns auth.ValidateACL's answer into a result's fields.
func vacl(code int16, msg string) (int16, *string) {
	if code == 0 {
		return 0, nil
	}
	return code, &msg
}

// aclAdmin checks that ACLs can be managed at all, and by this principal.
func (c *conn) aclAdmin(a Authorization) (protocol.ErrorCode, *string) {
	switch {
	case c.b.cfg.Authorizer == nil:
		return protocol.SecurityDisabled, kmsg.StringPtr(noAuthorizer)
	case !c.may(a, ""):
		return a.Error, nil
	}
	return 0, nil
}

func handleDescribeAcls(b *Broker, c *conn, req *kmsg.DescribeACLsRequest) *kmsg.DescribeACLsResponse {
	out := kmsg.NewPtrDescribeACLsResponse()
	if code, msg := c.aclAdmin(authzDescribeACLs); code != 0 {
		out.ErrorCode, out.ErrorMessage = int16(code), msg
		return out
	}
	f := auth.ACLFilter{ResourceType: req.ResourceType, ResourceName: req.ResourceName, PatternType: req.ResourcePatternType,
		Principal: req.Principal, Host: req.Host, Operation: req.Operation, Permission: req.PermissionType}
	if code, msg := auth.ValidateFilter(f); code != 0 {
		out.ErrorCode, out.ErrorMessage = code, &msg
		return out
	}
	var matched []auth.ACL
	for _, a := range b.coord.Metadata().ACLs.All() {
		if f.Matches(a) {
			matched = append(matched, a)
		}
	}
	out.Resources = describeResources(matched)
	return out
}

// describeResources groups ACLs by their resource pattern, in a stable
// order.
func describeResources(acls []auth.ACL) []kmsg.DescribeACLsResponseResource {
	slices.SortFunc(acls, func(x, y auth.ACL) int {
		return cmp.Or(cmp.Compare(x.ResourceType, y.ResourceType), cmp.Compare(x.ResourceName, y.ResourceName),
			cmp.Compare(x.PatternType, y.PatternType), cmp.Compare(x.Principal, y.Principal),
			cmp.Compare(x.Host, y.Host), cmp.Compare(x.Operation, y.Operation), cmp.Compare(x.Permission, y.Permission))
	})
	var out []kmsg.DescribeACLsResponseResource
	for _, a := range acls {
		n := len(out)
		if n == 0 || out[n-1].ResourceType != a.ResourceType || out[n-1].ResourceName != a.ResourceName ||
			out[n-1].ResourcePatternType != a.PatternType {
			r := kmsg.NewDescribeACLsResponseResource()
			r.ResourceType, r.ResourceName, r.ResourcePatternType = a.ResourceType, a.ResourceName, a.PatternType
			out = append(out, r)
			n++
		}
		e := kmsg.NewDescribeACLsResponseResourceACL()
		e.Principal, e.Host, e.Operation, e.PermissionType = a.Principal, a.Host, a.Operation, a.Permission
		out[n-1].ACLs = append(out[n-1].ACLs, e)
	}
	return out
}

func handleDeleteAcls(b *Broker, c *conn, req *kmsg.DeleteACLsRequest) *kmsg.DeleteACLsResponse {
	out := kmsg.NewPtrDeleteACLsResponse()
	out.Results = make([]kmsg.DeleteACLsResponseResult, len(req.Filters))
	code, msg := c.aclAdmin(authzDeleteACLs)
	var filters []auth.ACLFilter
	var at []int // the result each filter in filters answers
	for i, rf := range req.Filters {
		r := &out.Results[i]
		*r = kmsg.NewDeleteACLsResponseResult()
		f := auth.ACLFilter{ResourceType: rf.ResourceType, ResourceName: rf.ResourceName, PatternType: rf.ResourcePatternType,
			Principal: rf.Principal, Host: rf.Host, Operation: rf.Operation, Permission: rf.PermissionType}
		switch {
		case code != 0:
			r.ErrorCode, r.ErrorMessage = int16(code), msg
		default:
			if fc, fm := auth.ValidateFilter(f); fc != 0 {
				r.ErrorCode, r.ErrorMessage = fc, &fm
				continue
			}
			filters, at = append(filters, f), append(at, i)
		}
	}
	if len(filters) == 0 {
		return out
	}
	deleted, err := b.coord.DeleteACLs(b.ctx, filters)
	for j, i := range at {
		r := &out.Results[i]
		if err != nil {
			r.ErrorCode, r.ErrorMessage = int16(protocol.Code(err)), kmsg.StringPtr(err.Error())
			continue
		}
		for _, a := range deleted[j] {
			m := kmsg.NewDeleteACLsResponseResultMatchingACL()
			m.ResourceType, m.ResourceName, m.ResourcePatternType = a.ResourceType, a.ResourceName, a.PatternType
			m.Principal, m.Host, m.Operation, m.PermissionType = a.Principal, a.Host, a.Operation, a.Permission
			r.MatchingACLs = append(r.MatchingACLs, m)
		}
	}
	return out
}
