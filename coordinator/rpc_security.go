package coordinator

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/auth"
)

// CreateAcls v3, DeleteAcls v3 and AlterUserScramCredentials v0 carry the
// security operations as Kafka's own clients send them to a broker. The
// decoders check counts against the bounds the controller applies (the
// frame's size bounds them first); enums and names are checked by the
// controller, which answers each ACL, filter or credential on its own.

func encodeCreateACLs(req *rpcRequest) kmsg.Request {
	k := &kmsg.CreateACLsRequest{Version: 3}
	for _, a := range req.ACLs {
		k.Creations = append(k.Creations, kmsg.CreateACLsRequestCreation{ResourceType: a.ResourceType, ResourceName: a.ResourceName,
			ResourcePatternType: a.PatternType, Principal: a.Principal, Host: a.Host, Operation: a.Operation, PermissionType: a.Permission})
	}
	return k
}

func decodeCreateACLs(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.CreateACLsRequest)
	if err := checkACLCount(len(r.Creations)); err != nil {
		return nil, err
	}
	req := &rpcRequest{Op: rpcCreateACLs, ACLs: make([]auth.ACL, 0, len(r.Creations))}
	for _, c := range r.Creations {
		req.ACLs = append(req.ACLs, auth.ACL{ResourceType: c.ResourceType, ResourceName: c.ResourceName, PatternType: c.ResourcePatternType,
			Principal: c.Principal, Host: c.Host, Operation: c.Operation, Permission: c.PermissionType})
	}
	return req, nil
}

func respondCreateACLs(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.CreateACLsResponse{Version: 3}
	for i := range r.Results {
		k.Results = append(k.Results, kmsg.CreateACLsResponseResult{ErrorCode: r.Results[i].Code, ErrorMessage: r.Results[i].msg()})
	}
	return k
}

func resultCreateACLs(k kmsg.Response, r *rpcResponse) error {
	for _, res := range k.(*kmsg.CreateACLsResponse).Results {
		r.Results = append(r.Results, rpcResult{Code: res.ErrorCode, Msg: deref(res.ErrorMessage)})
	}
	return nil
}

func encodeDeleteACLs(req *rpcRequest) kmsg.Request {
	k := &kmsg.DeleteACLsRequest{Version: 3}
	for _, f := range req.Filters {
		k.Filters = append(k.Filters, kmsg.DeleteACLsRequestFilter{ResourceType: f.ResourceType, ResourceName: f.ResourceName,
			ResourcePatternType: f.PatternType, Principal: f.Principal, Host: f.Host, Operation: f.Operation, PermissionType: f.Permission})
	}
	return k
}

func decodeDeleteACLs(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.DeleteACLsRequest)
	if err := checkFilterCount(len(r.Filters)); err != nil {
		return nil, err
	}
	req := &rpcRequest{Op: rpcDeleteACLs, Filters: make([]auth.ACLFilter, 0, len(r.Filters))}
	for _, f := range r.Filters {
		req.Filters = append(req.Filters, auth.ACLFilter{ResourceType: f.ResourceType, ResourceName: f.ResourceName, PatternType: f.ResourcePatternType,
			Principal: f.Principal, Host: f.Host, Operation: f.Operation, Permission: f.PermissionType})
	}
	return req, nil
}

// respondDeleteACLs answers one result per filter with the ACLs it
// removed; a whole-operation error travels in the header.
func respondDeleteACLs(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.DeleteACLsResponse{Version: 3}
	for _, acls := range r.Deleted {
		res := kmsg.DeleteACLsResponseResult{}
		for _, a := range acls {
			res.MatchingACLs = append(res.MatchingACLs, kmsg.DeleteACLsResponseResultMatchingACL{ResourceType: a.ResourceType,
				ResourceName: a.ResourceName, ResourcePatternType: a.PatternType, Principal: a.Principal, Host: a.Host,
				Operation: a.Operation, PermissionType: a.Permission})
		}
		k.Results = append(k.Results, res)
	}
	return k
}

func resultDeleteACLs(k kmsg.Response, r *rpcResponse) error {
	for _, res := range k.(*kmsg.DeleteACLsResponse).Results {
		acls := make([]auth.ACL, 0, len(res.MatchingACLs))
		for _, m := range res.MatchingACLs {
			acls = append(acls, auth.ACL{ResourceType: m.ResourceType, ResourceName: m.ResourceName, PatternType: m.ResourcePatternType,
				Principal: m.Principal, Host: m.Host, Operation: m.Operation, Permission: m.PermissionType})
		}
		r.Deleted = append(r.Deleted, acls)
	}
	return nil
}

func encodeAlterScram(req *rpcRequest) kmsg.Request {
	k := &kmsg.AlterUserSCRAMCredentialsRequest{Version: 0}
	for _, d := range req.ScramDeletes {
		k.Deletions = append(k.Deletions, kmsg.AlterUserSCRAMCredentialsRequestDeletion{Name: d.Name, Mechanism: int8(d.Mechanism)})
	}
	for _, u := range req.ScramUpserts {
		k.Upsertions = append(k.Upsertions, kmsg.AlterUserSCRAMCredentialsRequestUpsertion{Name: u.Name, Mechanism: int8(u.Mechanism),
			Iterations: u.Iterations, Salt: u.Salt, SaltedPassword: u.SaltedPassword})
	}
	return k
}

func decodeAlterScram(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.AlterUserSCRAMCredentialsRequest)
	if n := len(r.Deletions) + len(r.Upsertions); n > maxScramPerOp {
		return nil, invalid("AlterUserScramCredentials: %d changes, at most %d", n, maxScramPerOp)
	}
	req := &rpcRequest{Op: rpcAlterScram}
	for _, d := range r.Deletions {
		req.ScramDeletes = append(req.ScramDeletes, ScramDeletion{Name: d.Name, Mechanism: auth.ScramMechanism(d.Mechanism)})
	}
	for _, u := range r.Upsertions {
		req.ScramUpserts = append(req.ScramUpserts, ScramUpsertion{Name: u.Name, Mechanism: auth.ScramMechanism(u.Mechanism),
			Iterations: u.Iterations, Salt: u.Salt, SaltedPassword: u.SaltedPassword})
	}
	return req, nil
}

// respondAlterScram answers one result per deletion, then per upsertion,
// in request order (Kafka answers one per user; a user may change both
// mechanisms in one request here, so the order says which is which).
func respondAlterScram(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.AlterUserSCRAMCredentialsResponse{Version: 0}
	for i := range r.Results {
		res := &r.Results[i]
		k.Results = append(k.Results, kmsg.AlterUserSCRAMCredentialsResponseResult{User: res.Name, ErrorCode: res.Code, ErrorMessage: res.msg()})
	}
	return k
}

func resultAlterScram(k kmsg.Response, r *rpcResponse) error {
	for _, res := range k.(*kmsg.AlterUserSCRAMCredentialsResponse).Results {
		r.Results = append(r.Results, rpcResult{Name: res.User, Code: res.ErrorCode, Msg: deref(res.ErrorMessage)})
	}
	return nil
}
