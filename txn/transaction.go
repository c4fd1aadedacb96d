package txn

import (
	"context"
	"math"
	"slices"
	"time"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// checkProducerLocked is the check every request of a running producer
// passes: this broker serves id, which belongs to producer pid at epoch.
func (c *Coordinator) checkProducerLocked(id string, pid int64, epoch int16) (*Metadata, int32, int32, error) {
	part, cepoch, err := c.servingLocked(id)
	if err != nil {
		return nil, part, cepoch, err
	}
	m := c.txns[id]
	switch {
	case m == nil || m.ProducerID != pid:
		return nil, part, cepoch, protocol.Errorf(protocol.InvalidProducerIDMapping, "producer %d is not the producer of %q", pid, id)
	case m.ProducerEpoch != epoch:
		return nil, part, cepoch, protocol.Errorf(protocol.ProducerFenced, "epoch %d of %q is not the current epoch %d", epoch, id, m.ProducerEpoch)
	}
	return m, part, cepoch, nil
}

// AddPartitions adds partitions to id's transaction, starting one if none
// runs (AddPartitionsToTxn, and AddOffsetsToTxn with the group's offsets
// partition). The error, if any, is every partition's.
func (c *Coordinator) AddPartitions(ctx context.Context, id string, pid int64, epoch int16, tps []klog.TopicPartition) error {
	c.mu.Lock()
	m, part, cepoch, err := c.checkProducerLocked(id, pid, epoch)
	if err == nil {
		switch {
		case m.pending || m.State.completing():
			err = protocol.Errorf(protocol.ConcurrentTransactions, "%q is completing its transaction", id)
		case m.State != Ongoing && !m.State.idle():
			err = protocol.Errorf(protocol.InvalidTxnState, "%q is in state %s", id, m.State)
		}
	}
	if err != nil {
		c.mu.Unlock()
		return err
	}
	next := m.clone()
	if m.State != Ongoing {
		clear(next.Partitions)
		next.StartMs = c.nowMs()
	}
	added := false
	for _, tp := range tps {
		if _, ok := next.Partitions[tp]; !ok {
			next.Partitions[tp], added = struct{}{}, true
		}
	}
	if m.State == Ongoing && !added {
		c.mu.Unlock()
		return nil // all there already
	}
	next.State, next.LastUpdateMs = Ongoing, c.nowMs()
	m.pending = true
	c.mu.Unlock()
	return c.persist(ctx, m, next, part, cepoch)
}

// AddPartitionsForWrite is AddPartitions as a partition leader asks it
// for a write of a KIP-890 part 2 producer, which sends no
// AddPartitionsToTxn of its own. The leaders of a transaction's
// partitions ask at once, and the previous transaction's markers may
// still be in flight: rather than answer CONCURRENT_TRANSACTIONS, which
// the leader would turn into a retriable error and the client into a
// metadata refresh and a backoff, it waits up to maxWait for the write in
// flight to end and tries again (Kafka's leader retries for
// add.partitions.to.txn.retry.backoff.max.ms). The adds that wait on one
// write are written together, in one record, by the first of them to find
// it ended (a group commit): leaders that ask at once cost one write, not
// one each.
func (c *Coordinator) AddPartitionsForWrite(ctx context.Context, id string, pid int64, epoch int16, tps []klog.TopicPartition, maxWait time.Duration) error {
	t := time.NewTimer(maxWait)
	defer t.Stop()
	key := addKey{id, pid, epoch}
	var (
		queued  *queuedAdds   // the queue this call waits in
		carried []*queuedAdds // the queues this call writes along with its own
	)
	finish := func(err error) error {
		for _, q := range carried {
			q.err = err
			close(q.written)
		}
		return err
	}
	busy := protocol.Errorf(protocol.ConcurrentTransactions, "a state change of %q is being written", id)
	for {
		c.mu.Lock()
		settled := c.settled // taken first, so that no end of a write is missed
		m := c.txns[id]
		inFlight := m != nil && m.pending
		switch {
		case queued != nil && c.adds[key] != queued:
			c.mu.Unlock() // another call carries the queue
			select {
			case <-queued.written:
				return queued.err
			case <-t.C:
				return busy
			case <-ctx.Done():
				return busy
			}
		case inFlight && len(carried) == 0:
			if queued == nil {
				if queued = c.adds[key]; queued == nil {
					queued = &queuedAdds{written: make(chan struct{})}
					c.adds[key] = queued
				}
				queued.tps = append(queued.tps, tps...)
			}
			c.mu.Unlock()
		case inFlight:
			c.mu.Unlock()
		default:
			if q := c.adds[key]; q != nil { // carry the queue, this call's own if it waited in it
				delete(c.adds, key)
				carried, tps = append(carried, q), slices.Concat(tps, q.tps)
			}
			queued = nil
			c.mu.Unlock()
			err := c.AddPartitions(ctx, id, pid, epoch, tps)
			if protocol.Code(err) != protocol.ConcurrentTransactions {
				return finish(err)
			}
			busy = err
		}
		select {
		case <-settled:
		case <-t.C:
			return finish(busy)
		case <-ctx.Done():
			return finish(busy)
		}
	}
}

// addKey is one producer's transaction of one id: adds are written
// together only for the same producer id and epoch.
type addKey struct {
	id    string
	pid   int64
	epoch int16
}

// queuedAdds are partitions that leaders asked to add while a write of
// the transaction's state was in flight, written together by the first
// of them to find that write ended.
type queuedAdds struct {
	tps     []klog.TopicPartition
	written chan struct{} // closed once written, or once the write failed
	err     error         // the outcome, set before written closes
}

// Verify answers a partition leader asking whether producer pid at epoch
// may write tps in id's ongoing transaction (AddPartitionsToTxn v4+ with
// VerifyOnly; KIP-890 part 1): nil for a partition in the transaction,
// TRANSACTION_ABORTABLE for one outside it, as Kafka answers (the leader
// tells older clients INVALID_TXN_STATE). A non-nil error is every
// partition's.
func (c *Coordinator) Verify(id string, pid int64, epoch int16, tps []klog.TopicPartition) (map[klog.TopicPartition]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, _, _, err := c.checkProducerLocked(id, pid, epoch)
	if err != nil {
		return nil, err
	}
	if m.State.completing() {
		return nil, protocol.Errorf(protocol.ConcurrentTransactions, "%q is completing its transaction", id)
	}
	out := make(map[klog.TopicPartition]error, len(tps))
	for _, tp := range tps {
		if _, ok := m.Partitions[tp]; !ok || m.State != Ongoing {
			out[tp] = protocol.Errorf(protocol.TransactionAbortable, "%s is not in the ongoing transaction of %q", tp, id)
		} else {
			out[tp] = nil
		}
	}
	return out, nil
}

// EndTxn commits or aborts id's transaction: PrepareCommit or PrepareAbort
// is written before it returns, and the markers follow in the background.
// With tv2 (EndTxn v5+, KIP-890 part 2) the epoch is bumped with every end
// and an empty transaction may be aborted; it returns the producer id and
// epoch to use next.
//
// With tv2 it answers as soon as the outcome is written, as Kafka does:
// the client's next request is a produce, whose leader adds its partition
// to the next transaction and, while the markers are on their way, waits
// for them (AddPartitionsForWrite), so the client's next transaction
// overlaps them. A client before tv2 asks AddPartitionsToTxn itself,
// which would meet CONCURRENT_TRANSACTIONS and back off; for it EndTxn
// waits up to endTxnGrace for the markers.
func (c *Coordinator) EndTxn(ctx context.Context, id string, pid int64, epoch int16, commit, tv2 bool) (int64, int16, error) {
	c.mu.Lock()
	part, cepoch, err := c.servingLocked(id)
	m := c.txns[id]
	if err == nil && (m == nil || m.ProducerID != pid) {
		err = protocol.Errorf(protocol.InvalidProducerIDMapping, "producer %d is not the producer of %q", pid, id)
	}
	if err != nil {
		c.mu.Unlock()
		return -1, -1, err
	}
	next, err := c.endTransit(m, epoch, commit, tv2)
	if err != nil || next == nil {
		pid, epoch := m.ProducerID, m.ProducerEpoch
		c.mu.Unlock()
		return pid, epoch, err
	}
	m.pending = true
	c.mu.Unlock()
	done, err := c.writeAndComplete(ctx, m, next, part, cepoch)
	if err != nil {
		return -1, -1, err
	}
	if tv2 {
		return next.ProducerID, next.ProducerEpoch, nil
	}
	// The outcome is decided and on disk; waiting a moment for the
	// markers spares the client's next request CONCURRENT_TRANSACTIONS
	// and the backoff that follows it, in the usual case of leaders that
	// answer at once.
	t := time.NewTimer(endTxnGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
	return next.ProducerID, next.ProducerEpoch, nil
}

// endTxnGrace is how long EndTxn waits for the markers before answering
// a client before KIP-890 part 2.
const endTxnGrace = 100 * time.Millisecond

// endTransit decides what EndTxn makes of m (Kafka's endTransaction): the
// state to write, nil with no error when the request is a retry of an end
// already made.
func (c *Coordinator) endTransit(m *Metadata, epoch int16, commit, tv2 bool) (*Metadata, error) {
	want, done := PrepareAbort, CompleteAbort
	if commit {
		want, done = PrepareCommit, CompleteCommit
	}
	// Under KIP-890 part 2 the epoch moved on with the end being retried.
	retry := tv2 && epoch == m.ProducerEpoch-1 && (m.State == want || m.State == done)
	switch {
	case epoch != m.ProducerEpoch && !retry:
		return nil, protocol.Errorf(protocol.ProducerFenced, "epoch %d of %q is not the current epoch %d", epoch, m.TransactionalID, m.ProducerEpoch)
	case m.pending:
		return nil, protocol.Errorf(protocol.ConcurrentTransactions, "a state change of %q is being written", m.TransactionalID)
	}
	invalid := protocol.Errorf(protocol.InvalidTxnState, "cannot %s: %q is in state %s", map[bool]string{true: "commit", false: "abort"}[commit], m.TransactionalID, m.State)
	switch m.State {
	case Ongoing:
		return c.prepareEnd(m, want, tv2), nil
	case want:
		return nil, protocol.Errorf(protocol.ConcurrentTransactions, "%q is completing its transaction", m.TransactionalID)
	case done:
		if !tv2 || retry {
			return nil, nil
		}
	}
	// KIP-890 part 2: an abort with nothing to abort still bumps the epoch.
	if tv2 && !commit && !retry && m.State.idle() {
		return c.prepareEnd(m, PrepareAbort, true), nil
	}
	return nil, invalid
}

func (c *Coordinator) prepareEnd(m *Metadata, state State, tv2 bool) *Metadata {
	next := m.clone()
	next.State, next.LastUpdateMs = state, c.nowMs()
	if tv2 {
		next.TV2 = true
		if next.ProducerEpoch < math.MaxInt16 {
			next.ProducerEpoch, next.LastProducerEpoch = m.ProducerEpoch+1, m.ProducerEpoch
		}
	}
	return next
}

// writeAndComplete writes a PrepareCommit or PrepareAbort and starts its
// markers; the channel is closed once they are written and the Complete
// state too.
func (c *Coordinator) writeAndComplete(ctx context.Context, m, next *Metadata, part, cepoch int32) (<-chan struct{}, error) {
	if err := c.persist(ctx, m, next, part, cepoch); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.startCompletion(next.clone(), part, cepoch), nil
}

// Describe returns a copy of id's state (DescribeTransactions).
func (c *Coordinator) Describe(id string) (*Metadata, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, _, err := c.servingLocked(id); err != nil {
		return nil, err
	}
	m := c.txns[id]
	if m == nil {
		return nil, protocol.Errorf(protocol.TransactionalIDNotFound, "no transactional id %q", id)
	}
	return m.clone(), nil
}

// Filter selects transactions for List; zero values select all.
type Filter struct {
	States      []State
	ProducerIDs []int64
	// MinDurationMs keeps transactions started more than this long ago,
	// as Kafka compares the start timestamp; <0 keeps all.
	MinDurationMs int64
	// Match, when set, keeps the ids it accepts (v2's pattern).
	Match func(id string) bool
}

// List returns copies of the transactions of every partition this broker
// coordinates (ListTransactions): COORDINATOR_LOAD_IN_PROGRESS while one
// of them loads.
func (c *Coordinator) List(f Filter) ([]*Metadata, error) {
	now := c.nowMs()
	c.mu.Lock()
	defer c.mu.Unlock()
	for part, p := range c.parts {
		if !p.loaded {
			return nil, protocol.Errorf(protocol.CoordinatorLoadInProgress, "loading __transaction_state-%d", part)
		}
	}
	var out []*Metadata
	for id, m := range c.txns {
		switch {
		case len(f.States) > 0 && !contains(f.States, m.State),
			len(f.ProducerIDs) > 0 && !contains(f.ProducerIDs, m.ProducerID),
			f.MinDurationMs >= 0 && now-m.StartMs <= f.MinDurationMs,
			f.Match != nil && !f.Match(id):
			continue
		}
		out = append(out, m.clone())
	}
	return out, nil
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
