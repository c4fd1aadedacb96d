package coordinator

import (
	"context"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/gokafka/gokafka/protocol"
)

// QuorumState is the Raft quorum as the active controller sees it, for
// DescribeQuorum (kafka-metadata-quorum.sh): the leader, its term as the
// leader epoch, the commit index as the high watermark, and how far each
// voter and observer has applied the log.
type QuorumState struct {
	LeaderID      int32
	LeaderEpoch   int32
	HighWatermark int64
	Voters        []ReplicaProgress
	Observers     []ReplicaProgress
}

// ReplicaProgress is one node's place in the metadata log. Followers
// report it in their broker heartbeats; times are ms since the epoch, -1
// when unknown.
type ReplicaProgress struct {
	ID           int32
	LogEndOffset int64
	LastFetch    int64
	LastCaughtUp int64
}

// progress records a heartbeat's applied index; called under ct.mu.
func (ct *controller) recordProgress(id int32, applied uint64) {
	now := time.Now().UnixMilli()
	p, ok := ct.progress[id]
	if !ok {
		p = ReplicaProgress{ID: id, LastCaughtUp: -1}
	}
	p.LogEndOffset, p.LastFetch = int64(applied), now
	if applied >= ct.c.raft.CommitIndex() {
		p.LastCaughtUp = now
	}
	ct.progress[id] = p
}

// DescribeQuorum asks the active controller for the quorum's state.
func (c *Coordinator) DescribeQuorum(ctx context.Context) (*QuorumState, error) {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcDescribeQuorum})
	if err == nil {
		err = resp.err()
	}
	return resp.Quorum, err
}

func (c *Coordinator) describeQuorum() rpcResponse {
	c.ctrl.mu.Lock()
	defer c.ctrl.mu.Unlock()
	if !c.ctrl.active {
		return errResponse(notController(c))
	}
	future := c.raft.GetConfiguration()
	if err := future.Error(); err != nil {
		return errResponse(protocol.Errorf(protocol.UnknownServerError, "raft configuration: %v", err))
	}
	term, _ := strconv.ParseInt(c.raft.Stats()["term"], 10, 32)
	q := &QuorumState{LeaderID: c.cfg.NodeID, LeaderEpoch: int32(term), HighWatermark: int64(c.raft.CommitIndex())}
	now := time.Now().UnixMilli()
	for _, s := range future.Configuration().Servers {
		id64, err := strconv.ParseInt(string(s.ID), 10, 32)
		if err != nil {
			continue
		}
		id := int32(id64)
		p, ok := c.ctrl.progress[id]
		switch {
		case id == c.cfg.NodeID:
			p = ReplicaProgress{ID: id, LogEndOffset: int64(c.raft.LastIndex()), LastFetch: now, LastCaughtUp: now}
		case !ok:
			p = ReplicaProgress{ID: id, LogEndOffset: -1, LastFetch: -1, LastCaughtUp: -1}
		}
		if s.Suffrage == raft.Voter {
			q.Voters = append(q.Voters, p)
		} else {
			q.Observers = append(q.Observers, p)
		}
	}
	return rpcResponse{Quorum: q}
}
