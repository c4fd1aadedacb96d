package txn

import (
	"context"
	"math"
	"testing"
	"time"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

var ctx = context.Background()

func TestInitProducerIDNewAndBump(t *testing.T) {
	h := newHarness(t)
	pid, epoch, err := h.InitProducerID(ctx, "a", 10000, -1, -1)
	if err != nil || epoch != 0 {
		t.Fatalf("first init: %d/%d, %v", pid, epoch, err)
	}
	if m := h.log.last(t, "a"); m.ProducerID != pid || m.ProducerEpoch != 0 || m.State != Empty || m.TimeoutMs != 10000 {
		t.Fatalf("written %+v", m)
	}
	pid2, epoch2, err := h.InitProducerID(ctx, "a", 10000, -1, -1)
	if err != nil || pid2 != pid || epoch2 != 1 {
		t.Fatalf("second init: %d/%d, %v; want %d/1", pid2, epoch2, err, pid)
	}
	// The older epoch is fenced.
	wantCode(t, h.AddPartitions(ctx, "a", pid, 0, []klog.TopicPartition{tp("t", 0)}), protocol.ProducerFenced)
	wantCode(t, h.AddPartitions(ctx, "a", pid+1, 1, []klog.TopicPartition{tp("t", 0)}), protocol.InvalidProducerIDMapping)
}

func TestInitProducerIDRefusals(t *testing.T) {
	h := newHarness(t)
	_, _, err := h.InitProducerID(ctx, "a", 61000, -1, -1)
	wantCode(t, err, protocol.InvalidTransactionTimeout)
	_, _, err = h.InitProducerID(ctx, "a", 0, -1, -1)
	wantCode(t, err, protocol.InvalidTransactionTimeout)
	_, _, err = h.InitProducerID(ctx, "", 1000, -1, -1)
	wantCode(t, err, protocol.InvalidRequest)

	h.StartLoad(0, 8) // a new leader epoch: loading again
	_, _, err = h.InitProducerID(ctx, "a", 1000, -1, -1)
	wantCode(t, err, protocol.CoordinatorLoadInProgress)
	h.Unload(0)
	_, _, err = h.InitProducerID(ctx, "a", 1000, -1, -1)
	wantCode(t, err, protocol.NotCoordinator)
}

func TestWriteFailureAnswersAndChangesNothing(t *testing.T) {
	h := newHarness(t)
	pid, _, _ := h.InitProducerID(ctx, "a", 1000, -1, -1)
	h.log.fail = protocol.Errorf(protocol.NotEnoughReplicas, "ISR too small")
	_, _, err := h.InitProducerID(ctx, "a", 1000, -1, -1)
	wantCode(t, err, protocol.CoordinatorNotAvailable)
	h.log.fail = errNotLeader
	wantCode(t, h.AddPartitions(ctx, "a", pid, 0, []klog.TopicPartition{tp("t", 0)}), protocol.NotCoordinator)
	if m, _ := h.Describe("a"); m.ProducerEpoch != 0 || m.State != Empty {
		t.Fatalf("after failed writes: %+v", m)
	}
}

func TestCommitSendsMarkersThenCompletes(t *testing.T) {
	h := newHarness(t)
	pid, epoch, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	tps := []klog.TopicPartition{tp("t", 0), tp("t", 1), tp("__consumer_offsets", 3)}
	if err := h.AddPartitions(ctx, "a", pid, epoch, tps[:2]); err != nil {
		t.Fatal(err)
	}
	if err := h.AddPartitions(ctx, "a", pid, epoch, tps[2:]); err != nil {
		t.Fatal(err)
	}
	if m := h.log.last(t, "a"); m.State != Ongoing || len(m.Partitions) != 3 || m.StartMs != h.clock.Now().UnixMilli() {
		t.Fatalf("written %+v", m)
	}
	n := len(h.log.records(0))
	if err := h.AddPartitions(ctx, "a", pid, epoch, tps[:1]); err != nil || len(h.log.records(0)) != n {
		t.Fatalf("adding a partition already there wrote: %v", err)
	}
	if ok, err := h.Verify("a", pid, epoch, []klog.TopicPartition{tps[0], tp("u", 0)}); err != nil || ok[tps[0]] != nil ||
		protocol.Code(ok[tp("u", 0)]) != protocol.TransactionAbortable {
		t.Fatalf("verify: %v, %v", ok, err)
	}
	if _, _, err := h.EndTxn(ctx, "a", pid, epoch, true, false); err != nil {
		t.Fatal(err)
	}
	// Leaders that answer at once have the markers before EndTxn returns.
	if m, _ := h.Describe("a"); m.State != CompleteCommit {
		t.Fatalf("EndTxn returned in state %s, want CompleteCommit", m.State)
	}
	for _, p := range tps {
		if ms := h.markers.markers(p); len(ms) != 1 || !ms[0].Commit || ms[0].ProducerEpoch != epoch || ms[0].CoordinatorEpoch != 7 {
			t.Errorf("%s got markers %s", p, fmtMarkers(ms))
		}
	}
	var states []State
	for _, r := range h.log.records(0) {
		_, m, _ := DecodeRecord(r.Key, r.Value)
		states = append(states, m.State)
	}
	if got := states[len(states)-2:]; got[0] != PrepareCommit || got[1] != CompleteCommit {
		t.Fatalf("states written %v", states)
	}
	// A retried commit is answered OK; an abort now is not.
	if _, _, err := h.EndTxn(ctx, "a", pid, epoch, true, false); err != nil {
		t.Fatal(err)
	}
	_, _, err := h.EndTxn(ctx, "a", pid, epoch, false, false)
	wantCode(t, err, protocol.InvalidTxnState)
	// A second transaction starts from CompleteCommit with a fresh set.
	if err := h.AddPartitions(ctx, "a", pid, epoch, tps[1:2]); err != nil {
		t.Fatal(err)
	}
	if m := h.settled(t, "a", Ongoing); len(m.Partitions) != 1 {
		t.Fatalf("second transaction %+v", m)
	}
}

func TestEndTxnWhileMarkersInFlight(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	h.markers.fail = func(klog.TopicPartition, int) error {
		select {
		case <-release:
			return nil
		default:
			return errNotLeader
		}
	}
	pid, epoch, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	h.AddPartitions(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 0)})
	if _, _, err := h.EndTxn(ctx, "a", pid, epoch, false, false); err != nil {
		t.Fatal(err)
	}
	_, _, err := h.EndTxn(ctx, "a", pid, epoch, false, false)
	wantCode(t, err, protocol.ConcurrentTransactions)
	_, _, err = h.EndTxn(ctx, "a", pid, epoch, true, false)
	wantCode(t, err, protocol.InvalidTxnState)
	wantCode(t, h.AddPartitions(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 1)}), protocol.ConcurrentTransactions)
	_, _, err = h.InitProducerID(ctx, "a", 10000, -1, -1)
	wantCode(t, err, protocol.ConcurrentTransactions)
	time.Sleep(200 * time.Millisecond) // a few retries
	close(release)
	h.settled(t, "a", CompleteAbort)
	if h.markers.tries[tp("t", 0)] < 2 {
		t.Fatalf("markers tried %d times, want retries", h.markers.tries[tp("t", 0)])
	}
}

func TestMarkersDropDeletedPartitions(t *testing.T) {
	h := newHarness(t)
	gone := tp("deleted", 0)
	h.cluster.gone[gone] = true
	h.markers.fail = func(p klog.TopicPartition, _ int) error {
		if p == gone {
			return protocol.Errorf(protocol.UnknownTopicOrPartition, "no such partition")
		}
		return nil
	}
	pid, epoch, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	h.AddPartitions(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 0), gone})
	h.EndTxn(ctx, "a", pid, epoch, true, false)
	h.settled(t, "a", CompleteCommit)
	if len(h.markers.markers(tp("t", 0))) != 1 {
		t.Fatal("the live partition got no marker")
	}
}

func TestFencingAbortsOngoing(t *testing.T) {
	h := newHarness(t)
	pid, epoch, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	h.AddPartitions(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 0)})
	_, _, err := h.InitProducerID(ctx, "a", 10000, -1, -1) // a second producer
	wantCode(t, err, protocol.ConcurrentTransactions)
	h.settled(t, "a", CompleteAbort)
	if ms := h.markers.markers(tp("t", 0)); len(ms) != 1 || ms[0].Commit || ms[0].ProducerEpoch != epoch+1 {
		t.Fatalf("fence markers %s", fmtMarkers(ms))
	}
	pid2, epoch2, err := h.InitProducerID(ctx, "a", 10000, -1, -1)
	if err != nil || pid2 != pid || epoch2 != epoch+2 {
		t.Fatalf("retried init %d/%d %v", pid2, epoch2, err)
	}
	_, _, err = h.EndTxn(ctx, "a", pid, epoch, true, false)
	wantCode(t, err, protocol.ProducerFenced)
}

func TestKIP360EpochBump(t *testing.T) {
	h := newHarness(t)
	pid, epoch, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	p2, e2, err := h.InitProducerID(ctx, "a", 10000, pid, epoch)
	if err != nil || p2 != pid || e2 != epoch+1 {
		t.Fatalf("bump: %d/%d %v", p2, e2, err)
	}
	// The same request again (its answer lost): the same epoch.
	p3, e3, err := h.InitProducerID(ctx, "a", 10000, pid, epoch)
	if err != nil || p3 != pid || e3 != e2 {
		t.Fatalf("retried bump: %d/%d %v, want %d", p3, e3, err, e2)
	}
	_, _, err = h.InitProducerID(ctx, "a", 10000, pid, epoch+5)
	wantCode(t, err, protocol.ProducerFenced)
	_, _, err = h.InitProducerID(ctx, "a", 10000, pid+99, epoch)
	wantCode(t, err, protocol.ProducerFenced)
}

func TestEpochExhaustionRotatesProducerID(t *testing.T) {
	h := newHarness(t)
	pid, _, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	h.mu.Lock()
	h.txns["a"].ProducerEpoch = math.MaxInt16 - 1
	h.mu.Unlock()
	p2, e2, err := h.InitProducerID(ctx, "a", 10000, -1, -1)
	if err != nil || p2 == pid || e2 != 0 {
		t.Fatalf("after exhaustion %d/%d %v, want a new id at epoch 0", p2, e2, err)
	}
	if m := h.log.last(t, "a"); m.PrevProducerID != pid || m.ProducerID != p2 {
		t.Fatalf("written %+v", m)
	}
}

func TestTimedOutTransactionAborted(t *testing.T) {
	h := newHarness(t)
	pid, epoch, _ := h.InitProducerID(ctx, "a", 5000, -1, -1)
	h.AddPartitions(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 0)})
	h.clock.add(4 * time.Second)
	h.AbortTimedOut()
	if m, _ := h.Describe("a"); m.State != Ongoing {
		t.Fatalf("aborted before its timeout: %+v", m)
	}
	h.clock.add(2 * time.Second)
	h.AbortTimedOut()
	m := h.settled(t, "a", CompleteAbort)
	if m.ProducerEpoch != epoch+1 {
		t.Fatalf("epoch %d after the timeout, want %d", m.ProducerEpoch, epoch+1)
	}
	_, _, err := h.EndTxn(ctx, "a", pid, epoch, true, false)
	wantCode(t, err, protocol.ProducerFenced)
}

func TestIdleIDsExpire(t *testing.T) {
	h := newHarness(t)
	h.InitProducerID(ctx, "a", 5000, -1, -1)
	pid, epoch, _ := h.InitProducerID(ctx, "b", 5000, -1, -1)
	h.AddPartitions(ctx, "b", pid, epoch, []klog.TopicPartition{tp("t", 0)})
	h.clock.add(8 * 24 * time.Hour)
	h.RemoveExpired()
	_, err := h.Describe("a")
	wantCode(t, err, protocol.TransactionalIDNotFound)
	if _, err := h.Describe("b"); err != nil {
		t.Fatal("an ongoing transaction expired")
	}
	recs := h.log.records(0)
	if id, m, err := DecodeRecord(recs[len(recs)-1].Key, recs[len(recs)-1].Value); id != "a" || m != nil || err != nil {
		t.Fatalf("last record %q %+v %v, want a tombstone of a", id, m, err)
	}
}

func TestReloadFinishesPreparedTransaction(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	h.markers.fail = func(klog.TopicPartition, int) error {
		select {
		case <-release:
			return nil
		default:
			return errNotLeader
		}
	}
	pid, epoch, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	h.AddPartitions(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 0)})
	h.InitProducerID(ctx, "b", 10000, -1, -1)
	h.EndTxn(ctx, "a", pid, epoch, true, false)
	h.Unload(0) // leadership moves away mid-completion

	h2 := &harness{log: h.log, markers: h.markers, clock: h.clock, cluster: h.cluster, phases: h.phases}
	h2.Coordinator = h2.newCoordinator()
	defer h2.Close()
	h2.StartLoad(0, 9)
	_, err := h2.Describe("a")
	wantCode(t, err, protocol.CoordinatorLoadInProgress)
	h2.FinishLoad(0, 9, append(h.log.records(0), Record{Key: []byte{0xff}, Value: []byte{1}}))
	close(release)
	h2.settled(t, "a", CompleteCommit)
	if m, err := h2.Describe("b"); err != nil || m.State != Empty {
		t.Fatalf("b after reload: %+v %v", m, err)
	}
	ms := h.markers.markers(tp("t", 0))
	if last := ms[len(ms)-1]; last.CoordinatorEpoch != 9 || !last.Commit {
		t.Fatalf("markers after reload %s", fmtMarkers(ms))
	}
}

func TestTV2EndTxnBumpsEpoch(t *testing.T) {
	h := newHarness(t)
	pid, epoch, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	h.AddPartitions(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 0)})
	p2, e2, err := h.EndTxn(ctx, "a", pid, epoch, true, true)
	if err != nil || p2 != pid || e2 != epoch+1 {
		t.Fatalf("tv2 commit: %d/%d %v", p2, e2, err)
	}
	h.settled(t, "a", CompleteCommit)
	if ms := h.markers.markers(tp("t", 0)); ms[0].ProducerEpoch != e2 {
		t.Fatalf("markers %s, want the bumped epoch", fmtMarkers(ms))
	}
	// The retry of that commit, at the old epoch, gets the new epoch.
	if p3, e3, err := h.EndTxn(ctx, "a", pid, epoch, true, true); err != nil || p3 != pid || e3 != e2 {
		t.Fatalf("retry: %d/%d %v", p3, e3, err)
	}
	// An empty abort bumps it again.
	if _, e4, err := h.EndTxn(ctx, "a", pid, e2, false, true); err != nil || e4 != e2+1 {
		t.Fatalf("empty abort: %d %v", e4, err)
	}
	h.settled(t, "a", CompleteAbort)
}

func TestListAndDescribe(t *testing.T) {
	h := newHarness(t)
	pa, ea, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	h.InitProducerID(ctx, "b", 10000, -1, -1)
	h.AddPartitions(ctx, "a", pa, ea, []klog.TopicPartition{tp("t", 0)})
	h.clock.add(3 * time.Second)
	all, _ := h.List(Filter{MinDurationMs: -1})
	ongoing, _ := h.List(Filter{States: []State{Ongoing}, MinDurationMs: -1})
	byPID, _ := h.List(Filter{ProducerIDs: []int64{pa}, MinDurationMs: -1})
	long, _ := h.List(Filter{States: []State{Ongoing}, MinDurationMs: 5000})
	if len(all) != 2 || len(ongoing) != 1 || ongoing[0].TransactionalID != "a" || len(byPID) != 1 || len(long) != 0 {
		t.Fatalf("list: all %d, ongoing %d, by pid %d, long %d", len(all), len(ongoing), len(byPID), len(long))
	}
	h.StartLoad(1, 1)
	_, err := h.List(Filter{MinDurationMs: -1})
	wantCode(t, err, protocol.CoordinatorLoadInProgress)
	if s, ok := ParseState("prepareCommit"); !ok || s != PrepareCommit || s.String() != "PrepareCommit" {
		t.Fatal("ParseState")
	}
}
