package broker

import (
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// The group admin APIs: DescribeGroups, ListGroups, DeleteGroups and
// OffsetDelete. The broker authorizes; package group answers.

func handleDescribeGroups(b *Broker, c *conn, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		if err := c.check(authzDescribeGroups, id); err != nil {
			out := kmsg.NewDescribeGroupsResponseGroup()
			out.Group, out.ErrorCode = id, int16(protocol.Code(err))
			resp.Groups = append(resp.Groups, out)
			continue
		}
		out := b.groups.DescribeGroup(id)
		if out.ErrorCode != 0 {
			resp.Groups = append(resp.Groups, out)
			continue
		}
		if out.State == "Dead" && req.Version >= 6 {
			// KIP-1043: v6 says that the group does not exist.
			out.ErrorCode = int16(protocol.GroupIDNotFound)
			out.ErrorMessage = kmsg.StringPtr("Group " + id + " not found.")
		}
		if req.IncludeAuthorizedOperations {
			out.AuthorizedOperations = c.authorizedOperations(resGroup, id)
		}
		resp.Groups = append(resp.Groups, out)
	}
	return resp
}

// handleListGroups lists the groups this broker coordinates. Without
// Describe on the cluster, only the groups the principal may Describe.
func handleListGroups(b *Broker, c *conn, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	everyGroup := c.may(authzListGroupsAll, "")
	resp.Groups = b.groups.ListGroups(req.StatesFilter, func(id string) bool { return everyGroup || c.may(authzListGroups, id) })
	return resp
}

// handleDeleteGroups deletes each group the principal may Delete and
// answers once every deletion is stored or refused.
func handleDeleteGroups(b *Broker, c *conn, req *kmsg.DeleteGroupsRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	out.Groups = make([]kmsg.DeleteGroupsResponseGroup, len(req.Groups))
	var remaining atomic.Int32
	remaining.Store(int32(len(req.Groups)) + 1) // the extra one is this loop's
	finish := func() {
		if remaining.Add(-1) == 0 {
			resp.complete(out)
		}
	}
	for i, id := range req.Groups {
		out.Groups[i].Group = id
		done := func(code protocol.ErrorCode) {
			out.Groups[i].ErrorCode = int16(code)
			finish()
		}
		if err := c.check(authzDeleteGroups, id); err != nil {
			done(protocol.Code(err))
			continue
		}
		b.groups.DeleteGroup(id, done)
	}
	finish()
}

// handleOffsetDelete removes committed offsets of a group whose principal
// may Delete it, for the topics it may Read.
func handleOffsetDelete(b *Broker, c *conn, req *kmsg.OffsetDeleteRequest, resp *response) {
	if err := c.check(authzOffsetDelete, req.Group); err != nil {
		out := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
		out.ErrorCode = int16(protocol.Code(err))
		resp.complete(out)
		return
	}
	refused := func(topic string) protocol.ErrorCode {
		if c.may(authzOffsetDelTopic, topic) {
			return protocol.None
		}
		return authzOffsetDelTopic.Error
	}
	b.groups.DeleteOffsets(req, refused, func(r *kmsg.OffsetDeleteResponse) { resp.complete(r) })
}
