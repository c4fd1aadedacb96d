package txn

import (
	"sync/atomic"
	"time"

	"github.com/gokafka/gokafka/internal/timing"
)

// counters are the coordinator's running totals, read by Stats.
type counters struct {
	committed, aborted, timedOut atomic.Int64     // transactions completed here
	markersQueued                atomic.Int64     // partitions whose marker is not written yet
	markersSent, markersFailed   atomic.Int64     // partition markers written, and attempts that failed
	loads                        timing.Durations // partition loads, scheduled to served
}

// Stats are the coordinator's figures for /metrics, named after Kafka's
// transaction-coordinator-metrics and TransactionMarkerChannelManager
// where it has them.
type Stats struct {
	// Transactions counts the transactional ids of the partitions loaded
	// here, by state.
	Transactions map[State]int
	// PartitionLoadTimeMaxMs and PartitionLoadTimeAvgMs are over every
	// load of a partition of __transaction_state since start, from the
	// leadership to serving its ids (partition-load-time-max and -avg).
	PartitionLoadTimeMaxMs, PartitionLoadTimeAvgMs float64
	// MarkersQueued is the partitions whose marker is yet to be written;
	// MarkersSent the markers written, and MarkersFailed the attempts
	// that failed and are retried.
	MarkersQueued, MarkersSent, MarkersFailed int64
	// Committed, Aborted and TimedOut count transactions completed here;
	// a timed-out one is counted as aborted too.
	Committed, Aborted, TimedOut int64
}

// Stats returns the coordinator's figures now.
func (c *Coordinator) Stats() Stats {
	k := &c.counters
	s := Stats{Transactions: map[State]int{},
		MarkersQueued: k.markersQueued.Load(), MarkersSent: k.markersSent.Load(), MarkersFailed: k.markersFailed.Load(),
		Committed: k.committed.Load(), Aborted: k.aborted.Load(), TimedOut: k.timedOut.Load(),
		PartitionLoadTimeMaxMs: k.loads.MaxMs(), PartitionLoadTimeAvgMs: k.loads.AvgMs()}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.txns {
		s.Transactions[m.State]++
	}
	return s
}

// Phase is a step of a transaction whose time /metrics reports, so that
// an operator can see where a transaction's time goes.
type Phase int8

const (
	// PhaseAddWrite is writing Ongoing with partitions added, for a
	// client's AddPartitionsToTxn or AddOffsetsToTxn or a leader's add.
	PhaseAddWrite Phase = iota
	// PhasePrepareWrite is writing PrepareCommit or PrepareAbort.
	PhasePrepareWrite
	// PhaseMarkers is sending the markers until every leader wrote them.
	PhaseMarkers
	// PhaseCompleteWrite is writing CompleteCommit or CompleteAbort.
	PhaseCompleteWrite
	// PhaseVerify is a partition leader waiting for the coordinator
	// before a transaction's first write to its partitions (KIP-890),
	// observed by the leader: the round trip, and any wait for the
	// previous transaction's markers.
	PhaseVerify
	numPhases
)

var phaseNames = [numPhases]string{"add_write", "prepare_write", "markers", "complete_write", "verify"}

// Phases lists every phase, for metrics that report each from the start.
func Phases() []Phase {
	out := make([]Phase, numPhases)
	for i := range out {
		out[i] = Phase(i)
	}
	return out
}

// String is the phase's label on /metrics.
func (p Phase) String() string {
	if p < 0 || p >= numPhases {
		return "unknown"
	}
	return phaseNames[p]
}

// PhaseObserver is told how long each phase of a transaction took.
type PhaseObserver interface {
	ObservePhase(Phase, time.Duration)
}

// writePhase is the phase a write of state s belongs to; false for the
// writes of InitProducerId and expiration, which no transaction waits on.
func writePhase(s State) (Phase, bool) {
	switch s {
	case Ongoing:
		return PhaseAddWrite, true
	case PrepareCommit, PrepareAbort:
		return PhasePrepareWrite, true
	case CompleteCommit, CompleteAbort:
		return PhaseCompleteWrite, true
	}
	return 0, false
}

// observe reports a phase that began at start, when anyone listens.
func (c *Coordinator) observe(p Phase, start time.Time) {
	if c.d.Phases != nil {
		c.d.Phases.ObservePhase(p, time.Since(start))
	}
}
