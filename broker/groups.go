package broker

import (
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"

	grp "github.com/gokafka/gokafka/group"
	"github.com/gokafka/gokafka/protocol"
)

// The classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup), versions as protocol.versions lists them: the broker
// authorizes Read on the group, and package group runs the protocol.

func handleJoinGroup(b *Broker, c *conn, req *kmsg.JoinGroupRequest, resp *response) {
	if err := c.check(authzJoin, req.Group); err != nil {
		out := req.ResponseKind().(*kmsg.JoinGroupResponse)
		out.ErrorCode, out.Generation = int16(protocol.Code(err)), -1
		resp.complete(out)
		return
	}
	b.groups.JoinGroup(req, grp.Client{ID: resp.hdr.ClientID, Host: c.clientHost()}, func(r *kmsg.JoinGroupResponse) { resp.complete(r) })
}

// clientHost is the client's address as Kafka shows it in group
// descriptions: "/" and the IP, without the port.
func (c *conn) clientHost() string {
	addr := c.nc.RemoteAddr()
	if addr == nil {
		return ""
	}
	if ip, _, err := net.SplitHostPort(addr.String()); err == nil {
		return "/" + ip
	}
	return "/" + addr.String()
}

func handleSyncGroup(b *Broker, c *conn, req *kmsg.SyncGroupRequest, resp *response) {
	if err := c.check(authzSync, req.Group); err != nil {
		resp.complete(&kmsg.SyncGroupResponse{Version: req.Version, ErrorCode: int16(protocol.Code(err))})
		return
	}
	b.groups.SyncGroup(req, func(r *kmsg.SyncGroupResponse) { resp.complete(r) })
}

func handleHeartbeat(b *Broker, c *conn, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	if err := c.check(authzHeartbeat, req.Group); err != nil {
		out := req.ResponseKind().(*kmsg.HeartbeatResponse)
		out.ErrorCode = int16(protocol.Code(err))
		return out
	}
	return b.groups.Heartbeat(req)
}

func handleLeaveGroup(b *Broker, c *conn, req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	if err := c.check(authzLeave, req.Group); err != nil {
		out := req.ResponseKind().(*kmsg.LeaveGroupResponse)
		out.ErrorCode = int16(protocol.Code(err))
		return out
	}
	return b.groups.LeaveGroup(req)
}
