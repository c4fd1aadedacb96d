package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// oneTopic is a Cluster whose __consumer_offsets has one partition and
// whose topic t has one.
type oneTopic struct{}

func (oneTopic) OffsetsPartitions() (int32, bool) { return 1, true }
func (oneTopic) PartitionExists(topic string, partition int32) bool {
	return topic == "t" && partition == 0
}

// loaded starts a coordinator over m and waits until it serves.
func loaded(t *testing.T, m *memLog) *Coordinator {
	t.Helper()
	gc := New(DefaultConfig(), m, oneTopic{}, discard, func() {})
	gc.Load(0, 0)
	awaitServing(t, gc)
	return gc
}

// awaitServing waits until gc serves group g.
func awaitServing(t *testing.T, gc *Coordinator) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := gc.serving("g"); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("not serving: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// fetched is g's offset of t-0 as OffsetFetch answers it, and its error.
func fetched(gc *Coordinator, requireStable bool) (int64, protocol.ErrorCode) {
	out := gc.FetchOffsets("g", []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}, false, requireStable)
	p := out.Topics[0].Partitions[0]
	return p.Offset, protocol.ErrorCode(p.ErrorCode)
}

// commit runs an asynchronous call that answers with a code, and waits.
func commit(t *testing.T, call func(answer func(protocol.ErrorCode))) {
	t.Helper()
	done := make(chan protocol.ErrorCode, 1)
	call(func(code protocol.ErrorCode) { done <- code })
	select {
	case code := <-done:
		if code != protocol.None {
			t.Fatalf("commit: %v", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("commit never answered")
	}
}

// The whole path of transactional offsets through the coordinator, over a
// partition in memory: a TxnOffsetCommit stays pending (OffsetFetch shows
// the plain commit, RequireStable answers UNSTABLE_OFFSET_COMMIT), the
// commit marker makes it visible, and a coordinator that loads the same
// partition afresh, marker included, ends in the same state.
func TestCoordinatorTxnOffsetsOverMemory(t *testing.T) {
	m := &memLog{}
	gc := loaded(t, m)
	plain := kmsg.NewPtrOffsetCommitRequest()
	plain.Group, plain.Generation = "g", -1
	commit(t, func(answer func(protocol.ErrorCode)) {
		gc.CommitOffsets(plain, PartitionOffsets{tp0: {Offset: 5}}, answer)
	})
	txn := kmsg.NewPtrTxnOffsetCommitRequest()
	txn.Group, txn.TransactionalID, txn.ProducerID, txn.Generation = "g", "tx", 7, -1
	commit(t, func(answer func(protocol.ErrorCode)) {
		gc.CommitTxnOffsets(txn, PartitionOffsets{tp0: {Offset: 9}}, answer)
	})
	if off, code := fetched(gc, false); off != 5 || code != protocol.None {
		t.Fatalf("pending: OffsetFetch %d %v, want 5", off, code)
	}
	if _, code := fetched(gc, true); code != protocol.UnstableOffsetCommit {
		t.Fatalf("pending with RequireStable: %v, want UNSTABLE_OFFSET_COMMIT", code)
	}

	marker := protocol.EndTxnMarker(7, 0, true, 0, 1)
	if _, err := m.Append(0, marker, 0, func(error) {}); err != nil {
		t.Fatal(err)
	}
	gc.CompleteTxn(0, 7, true)
	if off, code := fetched(gc, true); off != 9 || code != protocol.None {
		t.Fatalf("committed: OffsetFetch %d %v, want 9", off, code)
	}
	if off, code := fetched(loaded(t, m), true); off != 9 || code != protocol.None {
		t.Fatalf("after a reload: OffsetFetch %d %v, want 9", off, code)
	}
}

// A member joins and syncs through the coordinator alone; the group it
// forms comes back, Stable with its assignment, in a coordinator that
// loads the partition afresh.
func TestCoordinatorGroupSurvivesReload(t *testing.T) {
	m := &memLog{}
	cfg := DefaultConfig()
	cfg.InitialRebalanceDelay = 0
	gc := New(cfg, m, oneTopic{}, discard, func() {})
	gc.Load(0, 0)
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "g", "consumer", 10000, 10000
	join.InstanceID = kmsg.StringPtr("i") // static: no MEMBER_ID_REQUIRED round
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{1}}}
	joined := make(chan *kmsg.JoinGroupResponse, 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		gc.JoinGroup(join, Client{ID: "c", Host: "/127.0.0.1"}, func(r *kmsg.JoinGroupResponse) { joined <- r })
		r := <-joined
		if r.ErrorCode == 0 {
			join.MemberID = r.MemberID
			break
		}
		if protocol.ErrorCode(r.ErrorCode) != protocol.CoordinatorLoadInProgress || time.Now().After(deadline) {
			t.Fatalf("join: %v", protocol.ErrorCode(r.ErrorCode))
		}
		time.Sleep(time.Millisecond)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation, sync.InstanceID = "g", join.MemberID, 1, join.InstanceID
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: join.MemberID, MemberAssignment: []byte("a")}}
	synced := make(chan *kmsg.SyncGroupResponse, 1)
	gc.SyncGroup(sync, func(r *kmsg.SyncGroupResponse) { synced <- r })
	if r := <-synced; r.ErrorCode != 0 || string(r.MemberAssignment) != "a" {
		t.Fatalf("sync: %v, assignment %q", protocol.ErrorCode(r.ErrorCode), r.MemberAssignment)
	}
	again := loaded(t, m)
	d := again.DescribeGroup("g")
	if d.State != "Stable" || len(d.Members) != 1 || string(d.Members[0].MemberAssignment) != "a" || d.Members[0].ClientHost != "/127.0.0.1" {
		t.Fatalf("reloaded group: state %s, members %+v", d.State, d.Members)
	}
}

// lagging is a memLog led in an epoch whose high watermark is still below
// where the leadership began: AwaitCommitted answers only when told.
type lagging struct {
	*memLog
	awaited chan error
}

func (l lagging) AwaitCommitted(int32, int32) error { return <-l.awaited }

// A load begins only once the high watermark covers the start of the
// leadership; until then the coordinator answers
// COORDINATOR_LOAD_IN_PROGRESS, and a wait that ends without the
// leadership is retried by the next request rather than left hanging.
func TestLoadWaitsForTheEpochStart(t *testing.T) {
	m := &memLog{}
	co := Offset{Offset: 7}
	m.Append(0, protocol.BuildBatch(1, []protocol.KV{Record("g", tp0, &co)}), 0, func(error) {})
	l := lagging{m, make(chan error)}
	gc := New(DefaultConfig(), l, oneTopic{}, discard, func() {})
	gc.Load(0, 0)
	if _, err := gc.serving("g"); protocol.Code(err) != protocol.CoordinatorLoadInProgress {
		t.Fatalf("serving while the high watermark lags: %v, want COORDINATOR_LOAD_IN_PROGRESS", err)
	}
	select {
	case l.awaited <- protocol.Errorf(protocol.NotLeaderOrFollower, "deposed"):
	case <-time.After(5 * time.Second):
		t.Fatal("the load does not wait for the high watermark")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := gc.serving("g") // starts a load again once the failed one is gone
		select {
		case l.awaited <- nil:
		case <-time.After(10 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatalf("no second load; serving answers %v", err)
			}
			continue
		}
		break
	}
	awaitServing(t, gc)
	if off, code := fetched(gc, false); code != protocol.None || off != 7 {
		t.Fatalf("offset fetch after the load: %d, %v; want 7", off, code)
	}
}
