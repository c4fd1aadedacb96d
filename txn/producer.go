package txn

import (
	"context"
	"math"
	"time"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// InitProducerID gives transactional id its producer id and epoch, as
// Kafka's handleInitProducerId: a new id starts at epoch 0; a known one has
// its epoch bumped, which fences the older producer. An Ongoing
// transaction of the fenced epoch is aborted first and the caller is told
// CONCURRENT_TRANSACTIONS, so that its retry bumps the epoch again.
// expectPID and expectEpoch are the request's (KIP-360; -1 when absent).
func (c *Coordinator) InitProducerID(ctx context.Context, id string, timeoutMs int32, expectPID int64, expectEpoch int16) (int64, int16, error) {
	if id == "" {
		return -1, -1, protocol.Errorf(protocol.InvalidRequest, "empty transactional id")
	}
	if timeoutMs <= 0 || time.Duration(timeoutMs)*time.Millisecond > c.cfg.MaxTimeout {
		return -1, -1, protocol.Errorf(protocol.InvalidTransactionTimeout,
			"transaction timeout %d ms is not within 1 and transaction.max.timeout.ms %d", timeoutMs, c.cfg.MaxTimeout.Milliseconds())
	}
	var spare int64 = -1 // a producer id generated for a new id or a rotation
	for {
		c.mu.Lock()
		part, epoch, err := c.servingLocked(id)
		if err != nil {
			c.mu.Unlock()
			return -1, -1, err
		}
		m := c.txns[id]
		if m == nil && spare >= 0 {
			m = &Metadata{TransactionalID: id, ProducerID: spare, PrevProducerID: -1, ProducerEpoch: noEpoch,
				LastProducerEpoch: noEpoch, TimeoutMs: timeoutMs, State: Empty,
				Partitions: map[klog.TopicPartition]struct{}{}, StartMs: -1, LastUpdateMs: c.nowMs()}
			c.txns[id] = m
			spare = -1
		}
		var next *Metadata
		needID := m == nil
		if !needID {
			next, needID, err = c.initTransit(m, timeoutMs, expectPID, expectEpoch, spare)
		}
		if needID {
			c.mu.Unlock()
			if spare, err = c.d.IDs.Generate(ctx); err != nil {
				return -1, -1, protocol.Errorf(protocol.CoordinatorNotAvailable, "allocating a producer id: %v", err)
			}
			continue
		}
		if err != nil {
			c.mu.Unlock()
			return -1, -1, err
		}
		m.pending = true
		c.mu.Unlock()
		if next.State == PrepareAbort { // fencing an Ongoing transaction
			if _, err := c.writeAndComplete(ctx, m, next, part, epoch); err != nil {
				return -1, -1, err
			}
			return -1, -1, protocol.Errorf(protocol.ConcurrentTransactions,
				"aborting the ongoing transaction of %q before bumping its epoch", id)
		}
		if err := c.persist(ctx, m, next, part, epoch); err != nil {
			return -1, -1, err
		}
		c.log.Debug("transactional producer initialised", "transactional_id", id, "producer_id", next.ProducerID, "epoch", next.ProducerEpoch)
		return next.ProducerID, next.ProducerEpoch, nil
	}
}

// initTransit decides what InitProducerId makes of m (Kafka's
// prepareInitProducerIdTransit). needID asks for a fresh producer id in
// spare first: the epoch is exhausted.
func (c *Coordinator) initTransit(m *Metadata, timeoutMs int32, expectPID int64, expectEpoch int16, spare int64) (next *Metadata, needID bool, err error) {
	expected := expectPID >= 0
	switch {
	case m.pending:
		return nil, false, protocol.Errorf(protocol.ConcurrentTransactions, "a state change of %q is being written", m.TransactionalID)
	case expected && !validProducerID(m, expectPID, expectEpoch):
		return nil, false, protocol.Errorf(protocol.ProducerFenced, "producer %d epoch %d is not the current producer %d of %q",
			expectPID, expectEpoch, m.ProducerID, m.TransactionalID)
	}
	switch m.State {
	case PrepareCommit, PrepareAbort:
		return nil, false, protocol.Errorf(protocol.ConcurrentTransactions, "%q is completing its transaction", m.TransactionalID)
	case Ongoing:
		return fence(m, c.nowMs()), false, nil
	case Empty, CompleteCommit, CompleteAbort:
	default:
		return nil, false, protocol.Errorf(protocol.InvalidTxnState, "%q is in state %s", m.TransactionalID, m.State)
	}
	next = m.clone()
	if epochExhausted(m.ProducerEpoch) && (!expected || expectEpoch == m.ProducerEpoch) {
		if spare < 0 {
			return nil, true, nil
		}
		next.PrevProducerID, next.ProducerID, next.ProducerEpoch = m.ProducerID, spare, 0
		next.LastProducerEpoch = noEpoch
		if expected {
			next.LastProducerEpoch = m.ProducerEpoch
		}
	} else {
		switch {
		case !expected:
			next.ProducerEpoch, next.LastProducerEpoch = m.ProducerEpoch+1, noEpoch
		case m.ProducerEpoch == noEpoch || expectEpoch == m.ProducerEpoch:
			next.ProducerEpoch, next.LastProducerEpoch = m.ProducerEpoch+1, m.ProducerEpoch
		case expectEpoch == m.LastProducerEpoch:
			// A retry of a bump whose answer was lost: the same epoch again.
		default:
			return nil, false, protocol.Errorf(protocol.ProducerFenced, "epoch %d of %q is neither %d nor the previous %d",
				expectEpoch, m.TransactionalID, m.ProducerEpoch, m.LastProducerEpoch)
		}
	}
	next.TimeoutMs, next.State, next.StartMs, next.LastUpdateMs = timeoutMs, Empty, -1, c.nowMs()
	clear(next.Partitions)
	return next, false, nil
}

// validProducerID is Kafka's isValidProducerId for the ids a KIP-360
// request names: the current producer, any producer of an id that has
// none yet, or the previous producer id at an exhausted epoch (a retry of
// the rotation).
func validProducerID(m *Metadata, pid int64, epoch int16) bool {
	return m.ProducerEpoch == noEpoch || pid == m.ProducerID ||
		pid == m.PrevProducerID && epochExhausted(epoch)
}

// fence is Ongoing aborted with the epoch bumped, so that the producer
// of the old epoch can write no more (Kafka's PrepareEpochFence, which is
// written as PrepareAbort).
func fence(m *Metadata, nowMs int64) *Metadata {
	next := m.clone()
	if next.ProducerEpoch < math.MaxInt16 {
		next.ProducerEpoch++
	}
	next.LastProducerEpoch, next.State, next.LastUpdateMs = noEpoch, PrepareAbort, nowMs
	return next
}
