package txn

import (
	"context"
	"testing"
	"time"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// heldLog is a fakeLog whose writes wait, once held, until released:
// a write of __transaction_state in flight.
type heldLog struct {
	*fakeLog
	entered chan struct{}
	release chan struct{}
}

func (l *heldLog) Write(ctx context.Context, part, epoch int32, key, value []byte) error {
	if l.release != nil {
		l.entered <- struct{}{}
		<-l.release
	}
	return l.fakeLog.Write(ctx, part, epoch, key, value)
}

// heldCoordinator is a coordinator over a heldLog, serving producer
// "a", which it returns with its producer id and epoch; the log holds no
// write yet.
func heldCoordinator(t *testing.T) (*Coordinator, *heldLog, int64, int16) {
	t.Helper()
	h := newHarness(t)
	held := &heldLog{fakeLog: h.log}
	c := h.newCoordinator()
	c.d.Writer = held
	c.StartLoad(0, 7)
	c.FinishLoad(0, 7, nil)
	t.Cleanup(c.Close)
	pid, epoch, err := c.InitProducerID(ctx, "a", 10000, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	return c, held, pid, epoch
}

// TestAddPartitionsForWriteWaitsForTheWriteInFlight: the leaders of two
// partitions add them to one transaction at once. A client's own
// AddPartitionsToTxn meeting the first add's write is told
// CONCURRENT_TRANSACTIONS, as Kafka tells it; a leader's add waits for
// that write and then adds its partition, and gives up with
// CONCURRENT_TRANSACTIONS only past its wait.
func TestAddPartitionsForWriteWaitsForTheWriteInFlight(t *testing.T) {
	c, held, pid, epoch := heldCoordinator(t)

	held.entered, held.release = make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- c.AddPartitionsForWrite(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 0)}, time.Second)
	}()
	<-held.entered // the first add's write is in flight

	wantCode(t, c.AddPartitions(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 1)}), protocol.ConcurrentTransactions)
	start := time.Now()
	wantCode(t, c.AddPartitionsForWrite(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 1)}, 30*time.Millisecond),
		protocol.ConcurrentTransactions)
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Fatalf("gave up after %v, before its wait of 30ms", waited)
	}

	second := make(chan error, 1)
	go func() {
		second <- c.AddPartitionsForWrite(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 1)}, 5*time.Second)
	}()
	select {
	case err := <-second:
		t.Fatalf("the second add returned %v while the first was being written", err)
	case <-time.After(20 * time.Millisecond):
	}
	held.release <- struct{}{} // the first write ends; the second add writes next
	<-held.entered
	held.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatalf("first add: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second add: %v", err)
	}
	if m := held.last(t, "a"); m.State != Ongoing || len(m.Partitions) != 2 {
		t.Fatalf("written %+v, want Ongoing with both partitions", m)
	}
}

// TestAddsWaitingOnOneWriteAreWrittenTogether: while the first leader's
// add is written, three more leaders ask; once it ends, their partitions
// are written in one record, and each of them hears that it succeeded.
func TestAddsWaitingOnOneWriteAreWrittenTogether(t *testing.T) {
	c, held, pid, epoch := heldCoordinator(t)
	held.entered, held.release = make(chan struct{}), make(chan struct{})
	add := func(p int32, out chan<- error) {
		out <- c.AddPartitionsForWrite(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", p)}, 5*time.Second)
	}
	first := make(chan error, 1)
	go add(0, first)
	<-held.entered
	others := make(chan error, 3)
	for p := int32(1); p <= 3; p++ {
		go add(p, others)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		q := c.adds[addKey{"a", pid, epoch}]
		n := 0
		if q != nil {
			n = len(q.tps)
		}
		c.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d partitions queued behind the write in flight, want 3", n)
		}
	}
	before := len(held.records(0))
	held.release <- struct{}{} // the first add's write ends
	<-held.entered             // the queued adds' one write
	held.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-others; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(held.records(0)) - before; n != 2 {
		t.Fatalf("%d writes for four adds, the first in flight as the others asked: want 2", n)
	}
	if m := held.last(t, "a"); m.State != Ongoing || len(m.Partitions) != 4 {
		t.Fatalf("written %+v, want Ongoing with four partitions", m)
	}
}

// TestEndTxnV5AnswersBeforeMarkers (KIP-890 part 2): EndTxn v5 answers
// once PrepareCommit is written, with the bumped epoch, while the markers
// are still on their way; the leader's add of the next transaction's
// first partition waits for them and the CompleteCommit, then opens the
// next transaction at the new epoch.
func TestEndTxnV5AnswersBeforeMarkers(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	h.markers.fail = func(klog.TopicPartition, int) error {
		<-release // the leader has not written the marker yet
		return nil
	}
	pid, epoch, _ := h.InitProducerID(ctx, "a", 10000, -1, -1)
	if err := h.AddPartitionsForWrite(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 0)}, time.Second); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	var next int16
	start := time.Now()
	go func() {
		var err error
		_, next, err = h.EndTxn(ctx, "a", pid, epoch, true, true)
		ended <- err
	}()
	select {
	case err := <-ended:
		if err != nil || next != epoch+1 {
			t.Fatalf("EndTxn v5: epoch %d, %v; want %d", next, err, epoch+1)
		}
		if waited := time.Since(start); waited >= endTxnGrace {
			t.Fatalf("EndTxn v5 answered after %v: it waited for the markers", waited)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("EndTxn v5 waited for the markers")
	}
	added := make(chan error, 1)
	go func() {
		added <- h.AddPartitionsForWrite(ctx, "a", pid, next, []klog.TopicPartition{tp("t", 0)}, 5*time.Second)
	}()
	select {
	case err := <-added:
		t.Fatalf("the next transaction began before the previous one's markers: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-added; err != nil {
		t.Fatalf("add after the markers: %v", err)
	}
	m := h.settled(t, "a", Ongoing)
	if _, ok := m.Partitions[tp("t", 0)]; !ok || m.ProducerEpoch != next || len(h.markers.markers(tp("t", 0))) != 1 {
		t.Fatalf("after the add: %+v, markers %v", m, h.markers.markers(tp("t", 0)))
	}
}
