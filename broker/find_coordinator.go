package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// handleFindCoordinator names a group's coordinator, the leader of its
// partition of __consumer_offsets, or a transactional id's, the leader of
// its partition of __transaction_state; each topic is created on first
// use.
func handleFindCoordinator(b *Broker, c *conn, req *kmsg.FindCoordinatorRequest) *kmsg.FindCoordinatorResponse {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := req.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	for _, key := range keys {
		co := kmsg.NewFindCoordinatorResponseCoordinator()
		co.Key = key
		var id int32
		err := c.findCoordinatorRefusal(key, req.CoordinatorType)
		if err == nil {
			id, err = b.coordinatorFor(key, req.CoordinatorType)
		}
		var ep coordinator.Endpoint
		if err == nil {
			var ok bool
			if ep, ok = endpointOf(b.coord.Metadata(), id, c.listener); !ok {
				err = protocol.Errorf(protocol.CoordinatorNotAvailable, "coordinator %d has no %s listener", id, c.listener)
			}
		}
		if err != nil {
			co.NodeID, co.Port = -1, -1
			co.ErrorCode = int16(protocol.Code(err))
			msg := err.Error()
			co.ErrorMessage = &msg
		} else {
			co.NodeID, co.Host, co.Port = id, ep.Host, ep.Port
		}
		resp.Coordinators = append(resp.Coordinators, co)
	}
	if req.Version < 4 {
		co := resp.Coordinators[0]
		resp.NodeID, resp.Host, resp.Port, resp.ErrorCode, resp.ErrorMessage = co.NodeID, co.Host, co.Port, co.ErrorCode, co.ErrorMessage
		resp.Coordinators = nil
	}
	return resp
}

// findCoordinatorRefusal checks Describe on the group or the
// transactional id whose coordinator is asked for.
func (c *conn) findCoordinatorRefusal(key string, typ int8) error {
	switch typ {
	case 0:
		return c.check(authzFindGroup, key)
	case 1:
		return c.check(authzFindTxn, key)
	}
	return nil
}

func (b *Broker) coordinatorFor(key string, typ int8) (int32, error) {
	switch typ {
	case 0: // group
		ctx, cancel := context.WithTimeout(b.ctx, metadataChangeTimeout)
		defer cancel()
		_, leader, err := b.groupCoordinatorOf(ctx, key)
		if err == nil && leader < 0 {
			err = protocol.Errorf(protocol.CoordinatorNotAvailable, "the partition of group %q has no leader", key)
		}
		return leader, err
	case 1: // transaction
		ctx, cancel := context.WithTimeout(b.ctx, metadataChangeTimeout)
		defer cancel()
		return b.txns.leaderOf(ctx, key)
	}
	return -1, protocol.Errorf(protocol.InvalidRequest, "coordinator type %d", typ)
}

// endpointOf returns broker id's endpoint on listener, if it is live.
func endpointOf(md *coordinator.Metadata, id int32, listener string) (coordinator.Endpoint, bool) {
	br := md.Broker(id)
	if br == nil || br.Fenced {
		return coordinator.Endpoint{}, false
	}
	for _, e := range br.Listeners {
		if e.Name == listener {
			return e, true
		}
	}
	return coordinator.Endpoint{}, false
}
