package coordinator

import (
	"context"
	"errors"
	"fmt"
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

// RaftStats is this node's view of the Raft log, for metrics.
type RaftStats struct {
	State        string // Leader, Follower, Candidate or Shutdown
	Term         uint64
	LastIndex    uint64 // last entry in the local log
	CommitIndex  uint64
	AppliedIndex uint64 // applied to the metadata image
	// LastContact is how long ago the leader was last heard from: zero on
	// the leader, -1 when it never was.
	LastContact time.Duration
}

// RaftStats returns the local Raft node's figures now.
func (c *Coordinator) RaftStats() RaftStats {
	s := RaftStats{
		State:        c.raft.State().String(),
		Term:         c.raft.CurrentTerm(),
		LastIndex:    c.raft.LastIndex(),
		CommitIndex:  c.raft.CommitIndex(),
		AppliedIndex: c.raft.AppliedIndex(),
		LastContact:  -1,
	}
	switch last := c.raft.LastContact(); {
	case s.State == raft.Leader.String():
		s.LastContact = 0
	case !last.IsZero():
		s.LastContact = time.Since(last)
	}
	return s
}

// Health says why this node is not a current member of the metadata
// quorum, or returns nil: it has joined, hears from a leader (or is one)
// and has applied what it knows to be committed, give or take a few
// entries in flight.
func (c *Coordinator) Health() error {
	s := c.RaftStats()
	stale := 3 * c.cfg.ElectionTimeout
	switch {
	case !c.Ready():
		return errors.New("has not joined the metadata quorum yet")
	case s.State == raft.Leader.String():
		return nil
	case s.LastContact < 0 || s.LastContact > stale:
		return fmt.Errorf("has not heard from a Raft leader for more than %s", stale)
	case s.CommitIndex > s.AppliedIndex+maxHealthyApplyLag:
		return fmt.Errorf("metadata is %d entries behind the commit index", s.CommitIndex-s.AppliedIndex)
	}
	return nil
}

// maxHealthyApplyLag is how far applying may trail committing on a healthy
// node: entries land in batches, so a few are always in flight.
const maxHealthyApplyLag = 64
