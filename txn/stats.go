package txn

import (
	"sync/atomic"

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
