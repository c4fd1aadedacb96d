package chaos

import (
	"fmt"
	"time"
)

// TP names one partition.
type TP struct {
	Topic     string
	Partition int32
}

func (tp TP) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// Ack is a record the cluster acknowledged to a producer: the value (see
// Value) and the offset the produce response gave it.
type Ack struct {
	TP
	Offset int64
	Value  string
	At     time.Time
}

// Read is a record a consumer of the group was given.
type Read struct {
	TP
	Offset int64
	Value  string
}

// Commit is a committed offset of the group: one the coordinator
// acknowledged to a committing member, or one OffsetFetch read back.
//
// The coordinator stored or read it at some instant between Sent and At,
// and a request retried over a coordinator move can take seconds: an
// OffsetFetch sent before a commit was acknowledged may answer with a
// later commit's offset. So two commits are ordered only when one was
// answered before the other was sent.
type Commit struct {
	TP
	Offset int64
	Sent   time.Time // when the request that carried it last went out; zero: At
	At     time.Time // when its answer came back
	Acked  bool      // acknowledged to a committer; false: read back
	By     string    // the committing member and generation, for the report
}

// sent is when c's request last went out.
func (c Commit) sent() time.Time {
	if c.Sent.IsZero() {
		return c.At
	}
	return c.Sent
}

// HWSample is a partition's high watermark as ListOffsets(latest) gave it
// to a client, with the leader epoch the answering leader stated. At is
// when the request was sent: the leader read the high watermark after it,
// so it bounds every commit answered before At.
type HWSample struct {
	TP
	HW    int64
	Epoch int32
	At    time.Time
}

// Fault is one nemesis's stay: from Start (when it struck) to Healed (when
// it undid itself). Affected are the partitions it took the leader from,
// when it aimed at leaders; its unavailability is measured on them, else on
// every partition.
type Fault struct {
	Nemesis  string
	Target   string // what it struck, for the log: "node 2", "controller 1"
	Start    time.Time
	Healed   time.Time
	Affected []TP
	// Followed are the partitions whose replica on the struck node
	// follows: acks=all there stalls until the leader drops that replica
	// from the ISR (replica.lag.time.max.ms).
	Followed []TP
	// Controller is set when the node it struck was the Raft leader, so
	// that a new controller had to be elected before any broker was
	// fenced.
	Controller bool
}

// History is what the workloads and nemeses recorded during a run.
type History struct {
	Partitions []TP
	Acks       []Ack
	Reads      []Read
	Commits    []Commit
	HWs        []HWSample
	Faults     []Fault
	End        time.Time // when producing stopped

	// The transactional workload: values of transactions that were
	// aborted (their commits are Acks), and what a read_committed
	// consumer was given.
	Aborted        []string
	CommittedReads []Read
}

// Record is one record of a replica's log.
type Record struct {
	Offset int64
	Value  string
}

// Final is the cluster's state after the run, healed: every partition's
// log as each replica served it while it led, the high watermark at the
// end, and each server's log text.
type Final struct {
	Replicas  map[TP]map[int32][]Record
	HW        map[TP]int64
	ServerLog map[string]string // by node name
}

// Value is the record value a producer writes: its id and its sequence,
// so that every value is unique and says whose it is and in what order.
func Value(producer int, seq int64) string { return fmt.Sprintf("p%03d-%012d", producer, seq) }

// ParseValue splits a Value; ok is false for anything else.
func ParseValue(v string) (producer int, seq int64, ok bool) {
	n, err := fmt.Sscanf(v, "p%03d-%012d", &producer, &seq)
	return producer, seq, err == nil && n == 2 && Value(producer, seq) == v
}
