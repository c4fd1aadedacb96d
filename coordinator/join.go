package coordinator

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/gokafka/gokafka/protocol"
)

// A broker-only node (process.roles=broker) is a Raft non-voter: it keeps a
// full copy of the metadata without counting toward the quorum. It asks the
// active controller, found through controller.quorum.voters, to add it.

// joinLoop asks to be added until this node has the metadata, or until the
// controller refuses for good (a live node already holds this node.id).
func (c *Coordinator) joinLoop() {
	defer c.wg.Done()
	req := &rpcRequest{Op: rpcJoin, BrokerID: c.cfg.NodeID, Addr: c.cfg.AdvertisedAddr}
	for !c.Ready() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := c.call(ctx, req)
		cancel()
		if err == nil {
			err = resp.err()
		}
		if protocol.Code(err) == protocol.DuplicateBrokerRegistration {
			c.joinErr <- err
			return
		}
		if err != nil {
			c.log.Warn("joining the metadata quorum as a non-voter", "err", err)
		}
		select {
		case <-c.done:
			return
		case <-c.readyCh:
			return
		case <-time.After(time.Second):
		}
	}
}

// join adds a non-voter, refusing an id that a live broker holds at
// another address (a copied config with the same node.id).
func (c *Coordinator) join(id int32, addr string) rpcResponse {
	return respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		f := c.raft.GetConfiguration()
		if err := f.Error(); err != nil {
			return nil, err
		}
		for _, s := range f.Configuration().Servers {
			if s.ID != raft.ServerID(strconv.Itoa(int(id))) || string(s.Address) == addr {
				continue
			}
			if s.Suffrage == raft.Voter || c.ctrl.alive(md, id) {
				return nil, protocol.Errorf(protocol.DuplicateBrokerRegistration,
					"node.id %d is already held by a live node at %s; this one is at %s", id, s.Address, addr)
			}
		}
		if err := c.raft.AddNonvoter(raft.ServerID(strconv.Itoa(int(id))), raft.ServerAddress(addr), 0, 10*time.Second).Error(); err != nil {
			return nil, fmt.Errorf("adding non-voter %d at %s: %w", id, addr, err)
		}
		c.log.Info("non-voter joined the metadata quorum", "node", id, "addr", addr)
		return nil, nil
	}))
}

// alive reports whether broker id is registered, unfenced and has
// heartbeated within the session timeout.
func (ct *controller) alive(md *Metadata, id int32) bool {
	b := md.Brokers[id]
	return b != nil && !b.Fenced && time.Since(ct.lastSeen[id]) <= ct.c.cfg.SessionTimeout
}
