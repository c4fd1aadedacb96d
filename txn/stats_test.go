package txn

import (
	"maps"
	"testing"
	"time"

	klog "github.com/gokafka/gokafka/log"
)

// TestStatsCountMarkersAndOutcomes: a commit over two partitions, one of
// whose leaders fails the first attempt, then an abort; the figures count
// each marker written once, the failed attempt, and each outcome.
func TestStatsCountMarkersAndOutcomes(t *testing.T) {
	h := newHarness(t)
	h.markers.fail = func(p klog.TopicPartition, attempt int) error {
		if p == tp("t", 1) && attempt == 1 {
			return errNotLeader
		}
		return nil
	}
	pid, epoch := commitOne(t, h, "a")
	if err := h.AddPartitions(ctx, "a", pid, epoch, []klog.TopicPartition{tp("t", 0)}); err != nil {
		t.Fatal(err)
	}
	if s := h.Stats(); s.Transactions[Ongoing] != 1 {
		t.Fatalf("during the second transaction: %+v", s)
	}
	if _, _, err := h.EndTxn(ctx, "a", pid, epoch, false, false); err != nil {
		t.Fatal(err)
	}
	h.settled(t, "a", CompleteAbort)
	s := h.Stats()
	// An outcome is counted just after its state is applied.
	for deadline := time.Now().Add(5 * time.Second); s.Aborted == 0 && time.Now().Before(deadline); s = h.Stats() {
		time.Sleep(time.Millisecond)
	}
	if s.MarkersSent != 3 || s.MarkersFailed != 1 || s.MarkersQueued != 0 || s.Committed != 1 || s.Aborted != 1 ||
		s.TimedOut != 0 || s.Transactions[CompleteAbort] != 1 || len(s.Transactions) != 1 {
		t.Fatalf("stats %+v: want 3 markers sent, 1 failed, none queued, 1 commit, 1 abort, one id CompleteAbort", s)
	}
}

// TestPhasesObserved: one committed transaction of two partitions is one
// add, one prepare, one marker fan-out and one complete; InitProducerId's
// write is none of them.
func TestPhasesObserved(t *testing.T) {
	h := newHarness(t)
	commitOne(t, h, "a")
	want := map[Phase]int{PhaseAddWrite: 1, PhasePrepareWrite: 1, PhaseMarkers: 1, PhaseCompleteWrite: 1}
	got := h.phases.counts()
	for deadline := time.Now().Add(5 * time.Second); !maps.Equal(got, want) && time.Now().Before(deadline); got = h.phases.counts() {
		time.Sleep(time.Millisecond)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("phases observed %v, want %v", got, want)
	}
}

// commitOne initialises id's producer and commits one transaction of it
// over t-0 and t-1 (EndTxn v4), returning its producer id and epoch.
func commitOne(t *testing.T, h *harness, id string) (int64, int16) {
	t.Helper()
	pid, epoch, _ := h.InitProducerID(ctx, id, 10000, -1, -1)
	if err := h.AddPartitions(ctx, id, pid, epoch, []klog.TopicPartition{tp("t", 0), tp("t", 1)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.EndTxn(ctx, id, pid, epoch, true, false); err != nil {
		t.Fatal(err)
	}
	h.settled(t, id, CompleteCommit)
	return pid, epoch
}
