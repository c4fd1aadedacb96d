package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/replica"
)

// oneOffsetsPartition is a group.Cluster whose __consumer_offsets has one
// partition and whose topic t has one.
type oneOffsetsPartition struct{}

func (oneOffsetsPartition) OffsetsPartitions() (int32, bool) { return 1, true }
func (oneOffsetsPartition) PartitionExists(topic string, partition int32) bool {
	return topic == "t" && partition == 0
}

// leaderWithTail returns broker 1 leading tp in epoch 2 with ISR 1,2. As
// a follower of broker 2 in epoch 1 it took batches, one record batch
// each at offsets 0, 1, …, but was told high watermark 1: all but the
// first were never acknowledged, and broker 2 does not hold them yet.
func leaderWithTail(t *testing.T, tp klog.TopicPartition, batches ...[]protocol.KV) (*Broker, *replica.Partition) {
	lc := klog.DefaultManagerConfig()
	lc.Dirs = []string{t.TempDir()}
	b := newTestBroker(t, 1, lc)
	l, err := b.logs.GetOrCreate(tp, [16]byte{9}, b.logs.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	p := replica.NewPartition(tp, [16]byte{}, l, 1, nil)
	b.replicas.Add(p)
	p.ApplyState(coordinator.Partition{Leader: 2, LeaderEpoch: 1, ISR: []int32{1, 2}, Replicas: []int32{1, 2}}, 1)
	if err := p.TruncateForLeader(-1, -1); err != nil { // the fetcher's first step; the log is empty
		t.Fatal(err)
	}
	for i, records := range batches {
		batch := protocol.BuildBatch(1, records)
		protocol.SetBaseOffset(batch, int64(i))
		if err := p.AppendAsFollower(2, 1, batch, 1, 0); err != nil {
			t.Fatal(err)
		}
	}
	p.ApplyState(coordinator.Partition{Leader: 1, LeaderEpoch: 2, ISR: []int32{1, 2}, Replicas: []int32{1, 2}}, 1)
	return b, p
}

// newOffsetsLeaderWithTail is leaderWithTail for __consumer_offsets-0,
// with a group coordinator over it loading epoch 2. The partition holds
// two commits of group g for t-0: offset 5, and 1005 in the tail.
func newOffsetsLeaderWithTail(t *testing.T) (*replica.Partition, *grp.Coordinator) {
	commit := func(off int64) []protocol.KV {
		return []protocol.KV{grp.Record("g", klog.TopicPartition{Topic: "t"}, &grp.Offset{Offset: off})}
	}
	b, p := leaderWithTail(t, klog.TopicPartition{Topic: offsetsTopic, Partition: 0}, commit(5), commit(1005))
	gc := grp.New(grp.DefaultConfig(), offsetsLog{b}, oneOffsetsPartition{}, b.log, func() {})
	gc.Load(0, 2)
	return p, gc
}

// fetchedOffset is g's committed offset of t-0 as OffsetFetch answers it,
// or the group's error.
func fetchedOffset(gc *grp.Coordinator) (int64, protocol.ErrorCode) {
	out := gc.FetchOffsets("g", []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}, false, false)
	if out.ErrorCode != 0 {
		return -1, protocol.ErrorCode(out.ErrorCode)
	}
	return out.Topics[0].Partitions[0].Offset, protocol.None
}

// A new coordinator's log may end in records of the old epoch that were
// never acknowledged. Until the high watermark covers them they may still
// be truncated, if it loses the leadership before its followers hold
// them, so it must not show them: it answers COORDINATOR_LOAD_IN_PROGRESS
// (it used to load to the log end and serve offset 1005, which the next
// coordinator never had, issue 17), and shows 1005 once it is committed.
func TestOffsetsLoadWaitsForTheHighWatermark(t *testing.T) {
	p, gc := newOffsetsLeaderWithTail(t)
	var off int64
	loadWaitsForTheHighWatermark(t, p, func() (code protocol.ErrorCode) {
		off, code = fetchedOffset(gc)
		return code
	})
	if off != 1005 {
		t.Fatalf("committed offset %d once everything is committed, want 1005", off)
	}
}

// loadWaitsForTheHighWatermark checks a coordinator loading p, the
// partition leaderWithTail made: ask, a request to it, gets
// COORDINATOR_LOAD_IN_PROGRESS while the high watermark is below the
// epoch start, and an answer once follower 2 holds the tail.
func loadWaitsForTheHighWatermark(t *testing.T, p *replica.Partition, ask func() protocol.ErrorCode) {
	t.Helper()
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if code := ask(); code != protocol.CoordinatorLoadInProgress {
			t.Fatalf("answer with high watermark 1 below the epoch start 2: %v; want COORDINATOR_LOAD_IN_PROGRESS", code)
		}
	}
	p.FollowerFetched(2, 2, 2, true, time.Minute, time.Now())
	if hw := p.HighWatermark(); hw != 2 {
		t.Fatalf("high watermark %d once follower 2 holds offset 1, want 2", hw)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		code := ask()
		if code == protocol.None {
			return
		}
		if code != protocol.CoordinatorLoadInProgress || time.Now().After(deadline) {
			t.Fatalf("answer once committed: %v", code)
		}
	}
}

// A coordinator deposed while it waits for the high watermark never
// serves, and its load ends rather than waiting on: Run, which waits for
// the loads, returns.
func TestOffsetsLoadEndsWhenDeposed(t *testing.T) {
	p, gc := newOffsetsLeaderWithTail(t)
	p.ApplyState(coordinator.Partition{Leader: 2, LeaderEpoch: 3, ISR: []int32{2}, Replicas: []int32{1, 2}}, 1)
	gc.Unload(0)
	if off, code := fetchedOffset(gc); code != protocol.NotCoordinator {
		t.Fatalf("offset fetch from a deposed coordinator: offset %d, %v; want NOT_COORDINATOR", off, code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() {
		gc.Run(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the load of a deposed coordinator still waits")
	}
}
