package replica

import (
	"context"
	"slices"
	"time"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
)

// Leader side of Kafka's replication protocol: followers fetch with their
// broker id; each fetch offset is that follower's log end offset, which
// moves the high watermark and decides ISR membership.

// FollowerFetched records a follower's fetch position. When the follower
// has caught up enough to rejoin the ISR (to the high watermark and to
// where this leader's epoch began, as Kafka), it returns the AlterPartition
// to send, and from this moment, under the same lock, the high watermark
// waits for the follower: had another follower's fetch moved it in between,
// the joining one could lead without records already acknowledged. Only a
// fetch in this leader's epoch counts: a follower that already follows a
// newer leader may hold other records at the same offsets. A follower the
// metadata shows fenced or shutting down is not eligible (Kafka's
// isReplicaIsrEligible): the controller would refuse it.
func (p *Partition) FollowerFetched(id, epoch int32, fetchOffset int64, eligible bool, lagMax time.Duration, now time.Time) (_ coordinator.AlterPartition, seq uint64, join bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.followers[id]
	if p.leader != p.nodeID || f == nil || epoch != p.leaderEpoch {
		return coordinator.AlterPartition{}, 0, false
	}
	leo := p.log.LogEndOffset()
	switch {
	case fetchOffset >= leo:
		f.lastCaughtUp = now
	case fetchOffset >= f.lastFetchLEO && f.lastFetchTime.After(f.lastCaughtUp):
		// It has what we had at its previous fetch: caught up as of then.
		f.lastCaughtUp = f.lastFetchTime
	}
	f.lastFetchLEO, f.lastFetchTime, f.leo = leo, now, fetchOffset
	if p.maybeAdvanceHighWatermarkLocked() {
		p.waiters.wake()
	}
	if !eligible || slices.Contains(p.isr, id) || fetchOffset < max(p.highWatermark.Load(), p.epochStartOffset) {
		return coordinator.AlterPartition{}, 0, false
	}
	return p.nextISRLocked(id, lagMax, now)
}

// LogSynced is the group commit's news (log.flush.before.ack) that a log
// has more fsynced: if this broker leads it, the high watermark may move.
func (rm *Manager) LogSynced(l *klog.Log) {
	p := rm.Get(l.TopicPartition())
	if p == nil || p.log != l {
		return
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.maybeAdvanceHighWatermarkLocked() {
		p.waiters.wake()
	}
}

// nextISR computes the ISR this leader should ask for: followers that have
// not caught up within lagMax leave, join (if >= 0) enters. ok is false when
// nothing changes, a change is already in flight, or the last one was
// refused less than isrRetryBackoff ago. From here until the change
// settles the high watermark waits for the maximal ISR.
func (p *Partition) nextISR(join int32, lagMax time.Duration, now time.Time) (_ coordinator.AlterPartition, seq uint64, ok bool) {
	if join < 0 && !p.shrinkDue(lagMax, now) {
		return coordinator.AlterPartition{}, 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nextISRLocked(join, lagMax, now)
}

// shrinkDue reports whether nextISR would drop a follower now. It takes
// the read lock and allocates nothing: the ISR loop asks it of every
// partition led here several times a second, and it is almost always no.
func (p *Partition) shrinkDue(lagMax time.Duration, now time.Time) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.leader != p.nodeID || p.isrChangeInFlight || now.Before(p.isrRetryAt) {
		return false
	}
	return slices.ContainsFunc(p.isr, func(r int32) bool { return p.lagging(r, lagMax, now) })
}

// lagging reports whether ISR member r has not caught up within lagMax.
func (p *Partition) lagging(r int32, lagMax time.Duration, now time.Time) bool {
	f := p.followers[r]
	return r != p.nodeID && f != nil && now.Sub(f.lastCaughtUp) > lagMax
}

func (p *Partition) nextISRLocked(join int32, lagMax time.Duration, now time.Time) (_ coordinator.AlterPartition, seq uint64, ok bool) {
	if p.leader != p.nodeID || p.isrChangeInFlight || now.Before(p.isrRetryAt) {
		return coordinator.AlterPartition{}, 0, false
	}
	isr := slices.DeleteFunc(slices.Clone(p.isr), func(r int32) bool { return p.lagging(r, lagMax, now) })
	if join >= 0 && !slices.Contains(isr, join) {
		isr = append(isr, join)
	}
	if slices.Equal(isr, p.isr) {
		return coordinator.AlterPartition{}, 0, false
	}
	p.isrChangeInFlight = true
	p.isrRequest++
	p.maximalISR = slices.Clone(p.isr)
	if join >= 0 && !slices.Contains(p.maximalISR, join) {
		p.maximalISR = append(p.maximalISR, join)
	}
	return coordinator.AlterPartition{Topic: p.tp.Topic, Partition: p.tp.Partition, Leader: p.nodeID,
		LeaderEpoch: p.leaderEpoch, PartitionEpoch: p.partitionEpoch, ISR: isr}, p.isrRequest, true
}

// isrRetryBackoff is how long a leader waits after a refused
// AlterPartition before it proposes another for that partition.
const isrRetryBackoff = 500 * time.Millisecond

// isrChangeEnded closes AlterPartition seq unless a metadata change already
// settled it. known says whether this broker's image is known to hold the
// outcome; if not, the maximal ISR stays until the next request replaces it.
// refused starts the backoff, even when the metadata settled the change.
func (p *Partition) isrChangeEnded(seq uint64, known, refused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isrRequest != seq {
		return
	}
	if refused {
		p.isrRetryAt = time.Now().Add(isrRetryBackoff)
	}
	if !p.isrChangeInFlight {
		return
	}
	p.isrChangeInFlight = false
	if known {
		p.maximalISR = nil
		if p.maybeAdvanceHighWatermarkLocked() {
			p.waiters.wake()
		}
	}
}

// ISREligible reports whether broker id may join an ISR as this broker's
// metadata shows it: registered, not fenced, not shutting down.
func (rm *Manager) ISREligible(id int32) bool {
	br := rm.ctrl.Metadata().Broker(id)
	return br != nil && !br.Fenced && !br.ControlledShutdown
}

// withMetadataTimeout runs a controller call bounded by
// Config.MetadataChangeTimeout.
func (rm *Manager) withMetadataTimeout(call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(rm.ctx, rm.cfg.MetadataChangeTimeout)
	defer cancel()
	return call(ctx)
}

// isrLoop shrinks the ISR of every partition this broker leads when a
// follower falls behind for longer than replica.lag.time.max.ms. It looks
// often, so that a stopped follower holds acks=all up for little more than
// that (Kafka looks every half of it, which can add 50%).
func (rm *Manager) isrLoop() {
	defer rm.wg.Done()
	t := time.NewTicker(min(max(rm.cfg.ReplicaLagTimeMax/20, 50*time.Millisecond), 250*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-rm.stopCh:
			return
		case <-t.C:
		}
		for _, p := range rm.byLeader.ledBy(rm.cfg.NodeID) {
			if req, seq, ok := p.nextISR(-1, rm.cfg.ReplicaLagTimeMax, time.Now()); ok {
				rm.ChangeISR(p, req, seq)
			}
		}
	}
}

// All returns a snapshot of the local replicas.
func (rm *Manager) All() []*Partition {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	out := make([]*Partition, 0, len(rm.partitions))
	for _, p := range rm.partitions {
		out = append(out, p)
	}
	return out
}

// Follower side: appends what the leader sent, as the leader wrote it.

// AppendAsFollower writes batches fetched from the leader at their offsets
// and takes the leader's high watermark, capped at what it holds. A
// response that was asked of another leader or epoch than the current one
// is dropped: it may hold records the new leader does not have.
func (p *Partition) AppendAsFollower(leader, epoch int32, records []byte, leaderHW, leaderStart int64) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.leader != leader || p.leaderEpoch != epoch || p.needsTruncation {
		return nil
	}
	if len(records) > 0 {
		if _, err := p.log.Append(records, klog.AppendOptions{Origin: klog.OriginReplication}); err != nil {
			return err
		}
	}
	if hw := min(leaderHW, p.log.LogEndOffset()); hw > p.highWatermark.Load() {
		p.highWatermark.Store(hw)
		p.log.OnHighWatermarkUpdated(hw)
	}
	// Records the leader deleted (DeleteRecords) go here too, up to what
	// this replica holds below its high watermark.
	if start := min(leaderStart, p.highWatermark.Load()); start > p.log.LogStartOffset() {
		if _, err := p.log.IncrementLogStartOffset(start); err != nil {
			return err
		}
	}
	return nil
}

// TruncateForLeader cuts the log back to where it agrees with the leader,
// given the leader's answer to OffsetForLeaderEpoch for our latest epoch:
// the largest epoch it knows at or below ours and where that epoch ends.
// With no answer (-1) the high watermark is the safe point, as in Kafka
// before KIP-101.
func (p *Partition) TruncateForLeader(leaderEpoch int32, leaderEnd int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cut := p.highWatermark.Load()
	if leaderEpoch >= 0 && leaderEnd >= 0 {
		cut = leaderEnd
		if _, ourEnd := p.log.EndOffsetForEpoch(leaderEpoch); ourEnd >= 0 {
			cut = min(cut, ourEnd)
		}
	}
	if err := p.log.TruncateTo(cut); err != nil {
		return err
	}
	if hw := p.log.LogEndOffset(); p.highWatermark.Load() > hw {
		p.highWatermark.Store(hw)
	}
	p.needsTruncation = false
	return nil
}
