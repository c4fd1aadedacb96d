package replica

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

// leaderOf returns partition t-0 led by broker 1 with replicas 1,2,3 and
// ISR 1,3, and three records appended.
func leaderOf(t *testing.T) *Partition {
	cfg := klog.DefaultManagerConfig()
	cfg.Dirs = []string{t.TempDir()}
	m, err := klog.OpenManager(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tp := klog.TopicPartition{Topic: "t", Partition: 0}
	l, err := m.GetOrCreate(tp, [16]byte{1}, cfg.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	p := &Partition{tp: tp, log: l, nodeID: 1}
	p.ApplyState(coordinator.Partition{Leader: 1, ISR: []int32{1, 3}, Replicas: []int32{1, 2, 3}}, 1)
	if _, err := p.AppendAsLeader(prototest.Plain(0, "a", "b", "c").Encode(), -1); err != nil {
		t.Fatal(err)
	}
	return p
}

// A follower that is being added to the ISR may lead as soon as the
// controller commits the change, so from the moment the leader decides to
// add it the high watermark must wait for it too (Kafka's maximal ISR), or
// acknowledged records can be lost in a reassignment.
func TestHighWatermarkWaitsForTheMaximalISR(t *testing.T) {
	for _, refused := range []bool{false, true} {
		p := leaderOf(t)
		now := time.Now()
		p.FollowerFetched(3, 0, 0, true, time.Minute, now)
		req, seq, ok := p.FollowerFetched(2, 0, 0, true, time.Minute, now)
		if !ok || len(req.ISR) != 3 {
			t.Fatalf("follower 2 at the high watermark 0: join request %+v, %v; want ISR 1,3,2", req, ok)
		}
		// Follower 3 fetching ahead right after the decision must not move
		// the high watermark past follower 2, which may lead next.
		p.FollowerFetched(3, 0, 3, true, time.Minute, now)
		if hw := p.HighWatermark(); hw != 0 {
			t.Fatalf("high watermark %d with follower 2 joining at 0, want 0", hw)
		}
		p.isrChangeEnded(seq, false, false) // outcome unknown: keep waiting for 2
		if hw := p.HighWatermark(); hw != 0 {
			t.Fatalf("high watermark %d after an AlterPartition of unknown outcome, want 0", hw)
		}
		_, seq, _ = p.nextISR(2, time.Minute, now)
		if refused {
			p.isrChangeEnded(seq, true, true) // the image shows ISR 1,3 still
			if hw := p.HighWatermark(); hw != 3 {
				t.Fatalf("high watermark %d once the expansion was refused, want 3", hw)
			}
			continue
		}
		p.ApplyState(coordinator.Partition{Leader: 1, PartitionEpoch: 1, ISR: req.ISR, Replicas: []int32{1, 2, 3}}, 1)
		p.isrChangeEnded(seq, true, false)
		if hw := p.HighWatermark(); hw != 0 {
			t.Fatalf("high watermark %d with ISR 1,3,2 and 2 at 0, want 0", hw)
		}
		p.FollowerFetched(2, 0, 3, true, time.Minute, now)
		if hw := p.HighWatermark(); hw != 3 {
			t.Fatalf("high watermark %d with the ISR caught up, want 3", hw)
		}
	}
}

// A new leader's high watermark may trail what its predecessor had
// acknowledged, so a follower must also reach the log end offset at which
// the leadership began before it may join the ISR.
func TestISRJoinWaitsForTheEpochStart(t *testing.T) {
	p := leaderOf(t) // three records at epoch 0, high watermark 0
	p.ApplyState(coordinator.Partition{Leader: 1, LeaderEpoch: 1, ISR: []int32{1, 3}, Replicas: []int32{1, 2, 3}}, 1)
	now := time.Now()
	if _, _, join := p.FollowerFetched(2, 1, 0, true, time.Minute, now); join {
		t.Fatal("follower 2 at offset 0 may join although the epoch began at 3")
	}
	if _, _, join := p.FollowerFetched(2, 1, 3, true, time.Minute, now); !join {
		t.Fatal("follower 2 at the epoch start 3 may not join")
	}
}

// A follower the metadata shows fenced or shutting down fetches like any
// other, but the leader must not propose it for the ISR: the controller
// would refuse, and the next fetch would ask again (Kafka's
// isReplicaIsrEligible).
func TestIneligibleFollowerIsNotProposed(t *testing.T) {
	p := leaderOf(t)
	now := time.Now()
	p.FollowerFetched(3, 0, 3, true, time.Minute, now)
	if _, _, join := p.FollowerFetched(2, 0, 3, false, time.Minute, now); join {
		t.Fatal("fenced follower 2, caught up, proposed for the ISR")
	}
	if _, _, join := p.FollowerFetched(2, 0, 3, true, time.Minute, now); !join {
		t.Fatal("follower 2, caught up and eligible, not proposed for the ISR")
	}
}

// After a refused AlterPartition the leader proposes nothing for
// isrRetryBackoff; a refusal repeated at every fetch was a storm of
// thousands of requests a second.
func TestRefusedISRChangeBacksOff(t *testing.T) {
	p := leaderOf(t)
	now := time.Now()
	p.FollowerFetched(3, 0, 3, true, time.Minute, now)
	_, seq, join := p.FollowerFetched(2, 0, 3, true, time.Minute, now)
	if !join {
		t.Fatal("follower 2 at the log end not proposed for the ISR")
	}
	p.isrChangeEnded(seq, true, true)
	if _, _, join := p.FollowerFetched(2, 0, 3, true, time.Minute, time.Now()); join {
		t.Fatal("proposed again at once after a refusal")
	}
	if _, _, join := p.FollowerFetched(2, 0, 3, true, time.Minute, time.Now().Add(isrRetryBackoff)); !join {
		t.Fatalf("not proposed again %v after the refusal", isrRetryBackoff)
	}
}

// A leader whose replica is deleted here (a reassignment moved it away)
// acknowledges nothing more: its expansion settling afterwards must not
// move the high watermark past the joining follower, which the same image
// may have made leader (an acknowledged record lost in
// TestReassignPartitions), and a parked produce learns it is no leader.
func TestResignedLeaderAcknowledgesNothing(t *testing.T) {
	p := leaderOf(t)
	now := time.Now()
	p.FollowerFetched(3, 0, 0, true, time.Minute, now)
	_, seq, ok := p.FollowerFetched(2, 0, 0, true, time.Minute, now)
	if !ok {
		t.Fatal("follower 2 at the high watermark did not join")
	}
	p.FollowerFetched(3, 0, 3, true, time.Minute, now)
	p.resign()
	p.isrChangeEnded(seq, true, false)
	p.FollowerFetched(3, 0, 3, true, time.Minute, now)
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("high watermark %d after the replica was deleted here, want 0", hw)
	}
	if done, err := p.AckState(3); !done || protocol.Code(err) != protocol.NotLeaderOrFollower {
		t.Fatalf("a parked produce after the deletion: done %v, %v; want NOT_LEADER_OR_FOLLOWER", done, err)
	}
}
