package group

import (
	"sync/atomic"

	"github.com/gokafka/gokafka/internal/timing"
)

// counters are the coordinator's running totals, read by Stats.
type counters struct {
	offsetCommits, offsetExpirations atomic.Int64     // offsets stored, and offsets expired
	loads                            timing.Durations // partition loads, scheduled to served
}

// Stats are the coordinator's figures for /metrics, as Kafka's
// GroupMetadataManager gauges and group-coordinator-metrics name them.
type Stats struct {
	// Groups counts the groups of the partitions loaded here by state
	// (NumGroupsStable, ...); a group known by its offsets alone is Empty.
	Groups map[string]int
	// Offsets is the committed offsets held (NumOffsets).
	Offsets int
	// OffsetCommits counts offsets stored by OffsetCommit and by
	// transactions that committed (offset-commit-count);
	// OffsetExpirations the ones that expired (offset-expiration-count).
	OffsetCommits, OffsetExpirations int64
	// PartitionLoadTimeMaxMs and PartitionLoadTimeAvgMs are over every
	// load of a partition of __consumer_offsets since start, from the
	// leadership to serving its groups (partition-load-time-max, -avg).
	PartitionLoadTimeMaxMs, PartitionLoadTimeAvgMs float64
}

// Stats returns the coordinator's figures now.
func (gc *Coordinator) Stats() Stats {
	k := &gc.counters
	s := Stats{Groups: map[string]int{}, OffsetCommits: k.offsetCommits.Load(),
		OffsetExpirations: k.offsetExpirations.Load(), PartitionLoadTimeMaxMs: k.loads.MaxMs(), PartitionLoadTimeAvgMs: k.loads.AvgMs()}
	for _, g := range gc.snapshotGroups() {
		g.mu.Lock()
		if !g.gone {
			s.Groups[string(g.state)]++
		}
		g.mu.Unlock()
	}
	gc.mu.Lock()
	gc.offMu.Lock()
	for _, id := range gc.Groups() {
		if gc.groups[id] == nil {
			s.Groups[string(groupEmpty)]++
		}
	}
	for _, offs := range gc.Committed {
		s.Offsets += len(offs)
	}
	gc.offMu.Unlock()
	gc.mu.Unlock()
	return s
}
