package txn

import (
	"time"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Backoffs of the marker fan-out and of rewriting a Complete state.
var (
	retryBackoffMin = 50 * time.Millisecond
	retryBackoffMax = time.Second
)

// startCompletion sends the markers of a prepared transaction and then
// writes its Complete state, in the background (Kafka's
// TransactionMarkerChannelManager). The channel it returns is closed when
// that is done or abandoned. Called with c.mu held.
func (c *Coordinator) startCompletion(prepared *Metadata, part, cepoch int32) <-chan struct{} {
	done := make(chan struct{})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(done)
		c.complete(prepared, part, cepoch)
	}()
	return done
}

func (c *Coordinator) complete(p *Metadata, part, cepoch int32) {
	mk := Marker{TransactionalID: p.TransactionalID, ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch,
		Commit: p.State == PrepareCommit, CoordinatorEpoch: cepoch}
	start := time.Now()
	if !c.writeMarkers(mk, p.SortedPartitions(), part) {
		return
	}
	c.observe(PhaseMarkers, start)
	done := CompleteAbort
	if mk.Commit {
		done = CompleteCommit
	}
	for backoff := retryBackoffMin; ; backoff = min(2*backoff, retryBackoffMax) {
		c.mu.Lock()
		m := c.txns[p.TransactionalID]
		if !c.stillServingLocked(part, cepoch) || m == nil || m.State != p.State ||
			m.ProducerID != p.ProducerID || m.ProducerEpoch != p.ProducerEpoch {
			c.mu.Unlock()
			return // a new coordinator, or this one after a reload, finishes it
		}
		if !m.pending {
			next := m.clone()
			next.State, next.LastUpdateMs = done, c.nowMs()
			clear(next.Partitions)
			m.pending = true
			c.mu.Unlock()
			err := c.persist(c.ctx, m, next, part, cepoch)
			if err == nil {
				if mk.Commit {
					c.counters.committed.Add(1)
				} else {
					c.counters.aborted.Add(1)
				}
				c.log.Debug("transaction completed", "transactional_id", p.TransactionalID, "producer_id", p.ProducerID,
					"epoch", p.ProducerEpoch, "state", done)
				return
			}
			if protocol.Code(err) == protocol.NotCoordinator {
				return
			}
		} else {
			c.mu.Unlock()
		}
		if !c.sleep(backoff) {
			return
		}
	}
}

// writeMarkers sends mk to the leaders of tps until each has written it,
// dropping partitions that no longer exist. It reports false when it gave
// up: the coordinator stopped, lost the partition, or was fenced.
func (c *Coordinator) writeMarkers(mk Marker, tps []klog.TopicPartition, part int32) bool {
	c.counters.markersQueued.Add(int64(len(tps)))
	defer func() { c.counters.markersQueued.Add(-int64(len(tps))) }() // those left when it gives up
	for backoff := retryBackoffMin; len(tps) > 0; backoff = min(2*backoff, retryBackoffMax) {
		c.mu.Lock()
		serving := c.stillServingLocked(part, mk.CoordinatorEpoch)
		c.mu.Unlock()
		if !serving || c.ctx.Err() != nil {
			return false
		}
		res := c.d.Markers.Send(c.ctx, mk, tps)
		var retry []klog.TopicPartition
		for _, tp := range tps {
			err, answered := res[tp]
			if !answered || err != nil {
				c.counters.markersFailed.Add(1)
			}
			switch code := protocol.Code(err); {
			case answered && err == nil:
				c.counters.markersSent.Add(1)
			case !c.d.Cluster.PartitionExists(tp):
				c.log.Info("transaction marker dropped: the partition is gone", "transactional_id", mk.TransactionalID,
					"topic", tp.Topic, "partition", tp.Partition)
			case code == protocol.InvalidProducerEpoch || code == protocol.TransactionCoordinatorFenced:
				// The leader has seen a newer producer or coordinator epoch:
				// whoever holds it finishes the transaction.
				c.log.Warn("transaction markers abandoned", "transactional_id", mk.TransactionalID,
					"topic", tp.Topic, "partition", tp.Partition, "err", err)
				return false
			default:
				retry = append(retry, tp)
			}
		}
		c.counters.markersQueued.Add(int64(len(retry) - len(tps)))
		if tps = retry; len(tps) > 0 {
			c.log.Debug("transaction markers to retry", "transactional_id", mk.TransactionalID, "partitions", len(tps))
			if !c.sleep(backoff) {
				return false
			}
		}
	}
	return true
}

// sleep waits d, reporting false if the coordinator closes meanwhile.
func (c *Coordinator) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// write is a state change decided under c.mu, to be written without it.
type write struct {
	m, next     *Metadata
	part, epoch int32
}

// AbortTimedOut aborts, with the epoch bumped as Kafka does, every Ongoing
// transaction older than its timeout; the producer that ran it is fenced.
func (c *Coordinator) AbortTimedOut() {
	now := c.nowMs()
	var dues []write
	c.mu.Lock()
	for id, m := range c.txns {
		if m.State != Ongoing || m.pending || m.StartMs+int64(m.TimeoutMs) > now {
			continue
		}
		part, cepoch, err := c.servingLocked(id)
		if err != nil {
			continue
		}
		m.pending = true
		dues = append(dues, write{m, fence(m, now), part, cepoch})
	}
	c.mu.Unlock()
	for _, d := range dues {
		c.log.Info("aborting a timed out transaction", "transactional_id", d.m.TransactionalID,
			"producer_id", d.next.ProducerID, "epoch", d.next.ProducerEpoch, "timeout_ms", d.next.TimeoutMs)
		if _, err := c.writeAndComplete(c.ctx, d.m, d.next, d.part, d.epoch); err != nil {
			c.log.Warn("cannot abort a timed out transaction", "transactional_id", d.m.TransactionalID, "err", err)
			continue
		}
		c.counters.timedOut.Add(1)
	}
}

// RemoveExpired writes a tombstone for, and forgets, every id with no
// transaction running that was last updated longer ago than
// transactional.id.expiration.ms.
func (c *Coordinator) RemoveExpired() {
	now := c.nowMs()
	var dues []write
	c.mu.Lock()
	for id, m := range c.txns {
		if !m.State.idle() || m.pending || now-m.LastUpdateMs < c.cfg.IDExpiration.Milliseconds() {
			continue
		}
		part, cepoch, err := c.servingLocked(id)
		if err != nil {
			continue
		}
		next := m.clone()
		next.State = Dead
		m.pending = true
		dues = append(dues, write{m, next, part, cepoch})
	}
	c.mu.Unlock()
	for _, d := range dues {
		if err := c.persist(c.ctx, d.m, d.next, d.part, d.epoch); err != nil {
			c.log.Warn("cannot expire a transactional id", "transactional_id", d.m.TransactionalID, "err", err)
			continue
		}
		c.log.Info("transactional id expired", "transactional_id", d.m.TransactionalID)
	}
}
