package txn

import (
	"maps"
	"math"
	"slices"
	"strings"

	klog "github.com/gokafka/gokafka/log"
)

// State is a transaction's state, numbered as Kafka numbers it on disk.
type State int8

const (
	Empty State = iota
	Ongoing
	PrepareCommit
	PrepareAbort
	CompleteCommit
	CompleteAbort
	Dead
	PrepareEpochFence
)

var stateNames = [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort",
	"CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"}

// String is the name DescribeTransactions and ListTransactions use.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "Unknown"
	}
	return stateNames[s]
}

// ParseState reads a state name as ListTransactions filters name them.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if strings.EqualFold(n, name) {
			return State(i), true
		}
	}
	return 0, false
}

// noEpoch is Kafka's RecordBatch.NO_PRODUCER_EPOCH.
const noEpoch int16 = -1

// epochExhausted is Kafka's rule: an epoch this high cannot be bumped
// again, so the next bump takes a new producer id.
func epochExhausted(e int16) bool { return e >= math.MaxInt16-1 }

// Metadata is one transactional id's state, as written to
// __transaction_state (Kafka's TransactionMetadata).
type Metadata struct {
	TransactionalID string
	ProducerID      int64
	// PrevProducerID is the id before the last rotation (epoch
	// exhaustion), so that a retried InitProducerId is recognised.
	PrevProducerID int64
	ProducerEpoch  int16
	// LastProducerEpoch is the epoch before the last bump, for retries of
	// a bump whose answer was lost (KIP-360); not on disk, as in Kafka.
	LastProducerEpoch int16
	TimeoutMs         int32
	State             State
	Partitions        map[klog.TopicPartition]struct{}
	StartMs           int64 // when the transaction began; -1 when none runs
	LastUpdateMs      int64
	// TV2 is set once the client ended a transaction with EndTxn v5+
	// (KIP-890 part 2): every EndTxn bumps its epoch.
	TV2 bool

	pending bool // a write of this id is in flight
}

// clone copies m with a partition set of its own.
func (m *Metadata) clone() *Metadata {
	c := *m
	c.Partitions = maps.Clone(m.Partitions)
	if c.Partitions == nil {
		c.Partitions = map[klog.TopicPartition]struct{}{}
	}
	c.pending = false
	return &c
}

// SortedPartitions returns the partitions in topic, partition order.
func (m *Metadata) SortedPartitions() []klog.TopicPartition {
	tps := slices.Collect(maps.Keys(m.Partitions))
	slices.SortFunc(tps, func(a, b klog.TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return tps
}

// completing reports whether markers are being written.
func (s State) completing() bool { return s == PrepareCommit || s == PrepareAbort }

// idle reports whether no transaction runs: the states an id may expire
// from and a new transaction may start from.
func (s State) idle() bool { return s == Empty || s == CompleteCommit || s == CompleteAbort }
