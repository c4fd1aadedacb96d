package replica

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Partition is this broker's replica of one partition: its log and, while
// it leads, the high watermark and the replication state of the ISR.
type Partition struct {
	tp      klog.TopicPartition
	topicID [16]byte
	log     *klog.Log
	nodeID  int32
	lease   *Lease // the broker's: without it, leading serves no one

	// mu guards the leadership state. Appends hold it for reading so that a
	// leader change (write lock) never lands in the middle of one.
	mu             sync.RWMutex
	leader         int32
	leaderEpoch    int32
	partitionEpoch int32
	isr            []int32
	replicas       []int32
	minISR         int
	// While leading: what each follower's fetches have told us, and the log
	// end offset when this leadership began. A follower joins the ISR only
	// once it holds that much: below it the log may hold records the old
	// leader acknowledged but our high watermark does not show yet.
	followers        map[int32]*followerState
	epochStartOffset int64
	// While following: the log must be cut back to where it agrees with
	// the leader (OffsetForLeaderEpoch) before fetching.
	needsTruncation bool
	// An AlterPartition of ours is in flight; one at a time, as Kafka.
	// Until the controller's answer is known the high watermark counts the
	// maximal ISR, the committed one together with the one asked for
	// (KIP-497): a follower being added may be leader a moment later, so it
	// must already hold everything acknowledged.
	isrChangeInFlight bool
	isrRequest        uint64  // numbers our AlterPartitions
	maximalISR        []int32 // nil when no change is pending
	// After a refused AlterPartition no other is proposed before this
	// time: a refusal repeated at every fetch is a storm at the controller.
	isrRetryAt time.Time

	highWatermark atomic.Int64
	Stats         Counters
	waiters       waiters // parked produce and fetch requests
}

// Counters are one local replica's traffic counters.
type Counters struct {
	BytesIn, MessagesIn, BytesOut atomic.Int64
}

// NewPartition is broker nodeID's replica of tp over its log, holding no
// state until ApplyState. A nil lease is always held (tests of the
// handlers over one partition).
func NewPartition(tp klog.TopicPartition, topicID [16]byte, log *klog.Log, nodeID int32, lease *Lease) *Partition {
	return &Partition{tp: tp, topicID: topicID, log: log, nodeID: nodeID, lease: lease, leader: -1, leaderEpoch: -1}
}

// TopicPartition names the partition.
func (p *Partition) TopicPartition() klog.TopicPartition { return p.tp }

// TopicID is the ID of the topic this replica was created for.
func (p *Partition) TopicID() [16]byte { return p.topicID }

// Log is the replica's log.
func (p *Partition) Log() *klog.Log { return p.log }

// NodeID is the broker holding this replica.
func (p *Partition) NodeID() int32 { return p.nodeID }

// LeaseHeld reports whether the broker holds its lease, for error messages.
func (p *Partition) LeaseHeld() bool { return p.lease.Held() }

// followerState is what the leader knows of one follower, as in Kafka's
// Replica: its log end offset and when it was last caught up.
type followerState struct {
	leo           int64 // -1 until it fetches from this leader
	lastCaughtUp  time.Time
	lastFetchLEO  int64 // the leader's log end at the follower's previous fetch
	lastFetchTime time.Time
}

// ApplyState adopts the partition state from a metadata image. It returns
// whether leadership or the ISR changed, and, for a partition this broker
// went on leading, whether its ISR shrank or grew (whoever asked: this
// leader, or the controller fencing a broker), for the ISR metrics.
func (p *Partition) ApplyState(st coordinator.Partition, minISR int) (changed, shrank, grew bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	newEpoch := p.leaderEpoch != st.LeaderEpoch || p.leader != st.Leader
	changed = newEpoch || !slices.Equal(p.isr, st.ISR)
	if !newEpoch && st.Leader == p.nodeID {
		shrank = slices.ContainsFunc(p.isr, func(r int32) bool { return !slices.Contains(st.ISR, r) })
		grew = slices.ContainsFunc(st.ISR, func(r int32) bool { return !slices.Contains(p.isr, r) })
	}
	p.leader, p.leaderEpoch, p.partitionEpoch = st.Leader, st.LeaderEpoch, st.PartitionEpoch
	p.isr, p.replicas = slices.Clone(st.ISR), slices.Clone(st.Replicas)
	p.minISR = minISR
	if newEpoch && st.Leader == p.nodeID {
		// Every follower gets a full lag window to find the new leader.
		now := time.Now()
		p.epochStartOffset = p.log.LogEndOffset()
		p.followers = map[int32]*followerState{}
		for _, r := range st.Replicas {
			if r != p.nodeID {
				p.followers[r] = &followerState{leo: -1, lastCaughtUp: now, lastFetchTime: now}
			}
		}
	}
	if newEpoch && st.Leader != p.nodeID {
		p.followers, p.needsTruncation = nil, true
	}
	if !newEpoch && st.Leader == p.nodeID { // replicas added or removed by a reassignment
		now := time.Now()
		for _, r := range st.Replicas {
			if _, ok := p.followers[r]; !ok && r != p.nodeID {
				p.followers[r] = &followerState{leo: -1, lastCaughtUp: now, lastFetchTime: now}
			}
		}
		for r := range p.followers {
			if !slices.Contains(st.Replicas, r) {
				delete(p.followers, r)
			}
		}
	}
	if changed {
		// A committed change settles ours: it was ours, or ours names an
		// old partition epoch and will be refused.
		p.isrChangeInFlight, p.maximalISR = false, nil
		p.maybeAdvanceHighWatermarkLocked()
		p.waiters.wake()
	}
	return changed, shrank, grew
}

// resign ends this replica's part in the partition as it is deleted here
// (moved away by a reassignment, or its topic deleted). Nothing may be
// acknowledged from it any more: the image that deleted it may already
// name a new leader that lacks records this one holds, and a late event
// (an ISR change settling, a follower's fetch) would otherwise move the
// high watermark over them. Parked produces get NOT_LEADER_OR_FOLLOWER.
func (p *Partition) resign() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.leader, p.followers, p.maximalISR, p.isrChangeInFlight = -1, nil, nil, false
}

// IsLeader reports whether this replica may serve as the partition's
// leader: the metadata names it, and the broker holds its lease with the
// controller (a broker cut off from it may have been deposed already).
func (p *Partition) IsLeader() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.leadsLocked()
}

func (p *Partition) leadsLocked() bool { return p.leader == p.nodeID && p.lease.Held() }

// State returns the leader and its epoch as this replica knows them.
func (p *Partition) State() (leader, epoch int32) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.leader, p.leaderEpoch
}

// AppendAsLeader appends records from a producer. With acks=all the ISR must
// hold at least min.insync.replicas members before anything is written.
// Its callers have checked each batch's CRC (produce, with
// protocol.ValidateBatch) or computed it (the group coordinator).
func (p *Partition) AppendAsLeader(records []byte, acks int16) (klog.AppendResult, error) {
	return p.AppendLeader(records, acks, klog.AppendOptions{})
}

// AppendLeader is AppendAsLeader with the writer's origin (the transaction
// coordinator's markers are the only control batches a leader takes) and
// verification guard in opts; the leader fills in the rest.
func (p *Partition) AppendLeader(records []byte, acks int16, opts klog.AppendOptions) (klog.AppendResult, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.leadsLocked() {
		return klog.AppendResult{}, protocol.Errorf(protocol.NotLeaderOrFollower,
			"%s: broker %d is not the leader (leader %d, lease held %v)", p.tp, p.nodeID, p.leader, p.lease.Held())
	}
	if acks == -1 && len(p.isr) < p.minISR {
		return klog.AppendResult{}, protocol.Errorf(protocol.NotEnoughReplicas,
			"%s: ISR %v is smaller than min.insync.replicas %d", p.tp, p.isr, p.minISR)
	}
	opts.LeaderEpoch, opts.AssignOffsets, opts.CRCVerified = p.leaderEpoch, true, true
	res, err := p.log.Append(records, opts)
	if err != nil {
		return res, err
	}
	p.maybeAdvanceHighWatermarkLocked()
	p.waiters.wake()
	return res, nil
}

// maybeAdvanceHighWatermarkLocked moves the high watermark to the smallest
// log end offset in the ISR, counting only followers that have fetched
// from this leader. It never moves back. It reports whether it moved.
func (p *Partition) maybeAdvanceHighWatermarkLocked() bool {
	if p.leader != p.nodeID {
		return false
	}
	hw := p.log.CommittableEnd() // the log end, or with flush.before.ack what is fsynced
	isr := p.isr
	if p.maximalISR != nil {
		isr = p.maximalISR
	}
	for _, r := range isr {
		if f := p.followers[r]; r != p.nodeID && f != nil {
			hw = min(hw, f.leo)
		}
	}
	// Appends call this under the read lock, concurrently: a plain store
	// of an older answer could move the high watermark back.
	for cur := p.highWatermark.Load(); hw > cur; cur = p.highWatermark.Load() {
		if p.highWatermark.CompareAndSwap(cur, hw) {
			p.log.OnHighWatermarkUpdated(hw)
			return true
		}
	}
	return false
}

// AckState reports whether a batch ending before offset is committed, and
// with which outcome: a committed batch with the ISR below
// min.insync.replicas is NOT_ENOUGH_REPLICAS_AFTER_APPEND, as in Kafka.
func (p *Partition) AckState(offset int64) (bool, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	switch {
	case p.leader != p.nodeID:
		return true, protocol.Errorf(protocol.NotLeaderOrFollower, "%s: leadership moved to %d before the batch was committed", p.tp, p.leader)
	case p.highWatermark.Load() < offset:
		return false, nil
	case len(p.isr) < p.minISR:
		return true, protocol.Errorf(protocol.NotEnoughReplicasAfterAppend, "%s: ISR %v is smaller than min.insync.replicas %d", p.tp, p.isr, p.minISR)
	}
	return true, nil
}

func (p *Partition) Acked(offset int64) bool { return p.highWatermark.Load() >= offset }

// HighWatermark is the offset below which records are committed.
func (p *Partition) HighWatermark() int64 { return p.highWatermark.Load() }

// HighWatermarkLagging reports whether this replica leads with a high
// watermark still below the log end its epoch began at. It took over the
// high watermark it had as a follower, which trails the old leader's, so
// consumers may already have read past it: Kafka shows it to no client
// until it reaches the epoch start (KIP-207).
func (p *Partition) HighWatermarkLagging() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.leader == p.nodeID && p.highWatermark.Load() < p.epochStartOffset
}

// AwaitEpochStart returns once this replica leads leader epoch epoch with
// a high watermark no longer below the log end that leadership began at
// (see HighWatermarkLagging): a coordinator loads no earlier. It fails with
// NOT_LEADER_OR_FOLLOWER once this replica does not lead in epoch, or with
// ctx's error.
func (p *Partition) AwaitEpochStart(ctx context.Context, epoch int32) error {
	kick := make(kickChan, 1)
	p.waiters.add(kick)
	defer p.waiters.remove(kick)
	for {
		p.mu.RLock()
		leading := p.leader == p.nodeID && p.leaderEpoch == epoch
		lagging := p.highWatermark.Load() < p.epochStartOffset
		p.mu.RUnlock()
		switch {
		case !leading:
			return protocol.Errorf(protocol.NotLeaderOrFollower, "%s: broker %d does not lead leader epoch %d", p.tp, p.nodeID, epoch)
		case !lagging:
			return nil
		}
		select {
		case <-kick: // the high watermark or the leadership moved
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// LastStableOffset bounds read_committed consumers: the high watermark, or
// the first offset of the oldest transaction below it that is still open
// or whose marker the high watermark has not passed yet.
func (p *Partition) LastStableOffset() int64 {
	hw := p.highWatermark.Load()
	if fuo, ok := p.log.FirstUnstableOffset(hw); ok {
		return min(hw, fuo)
	}
	return hw
}

// CheckLeaderEpoch applies KIP-320's fencing: a request that names a leader
// epoch older than ours is fenced, a newer one means our metadata is behind.
func (p *Partition) CheckLeaderEpoch(requested int32) error {
	if requested < 0 {
		return nil
	}
	_, epoch := p.State()
	switch {
	case requested < epoch:
		return protocol.Errorf(protocol.FencedLeaderEpoch, "%s: leader epoch %d is older than %d", p.tp, requested, epoch)
	case requested > epoch:
		return protocol.Errorf(protocol.UnknownLeaderEpoch, "%s: leader epoch %d is newer than %d", p.tp, requested, epoch)
	}
	return nil
}

// InISR reports whether replica id is in the partition's ISR.
func (p *Partition) InISR(id int32) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Contains(p.isr, id)
}

// ReplicationState reports whether the metadata names this replica the
// leader and, while it does, whether its ISR is smaller than its replicas
// (under-replicated) or than min.insync.replicas, for the metrics.
func (p *Partition) ReplicationState() (leader, underReplicated, underMinISR bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	leader = p.leader == p.nodeID
	return leader, leader && len(p.isr) < len(p.replicas), leader && len(p.isr) < p.minISR
}

// waiters is the set of parked requests and waits watching a partition.
// Appends, high-watermark and leadership moves kick them; each re-checks
// its own condition.
type waiters struct {
	mu  sync.Mutex
	set map[kicker]struct{}
}

// kicker is one waiter: a parked request (delayedOp) or a goroutine's
// kick channel.
type kicker interface{ Kick() }

// kickChan is a kick channel of capacity one: kicks coalesce while its
// goroutine is busy.
type kickChan chan struct{}

func (ch kickChan) Kick() {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (w *waiters) add(k kicker) {
	w.mu.Lock()
	if w.set == nil {
		w.set = map[kicker]struct{}{}
	}
	w.set[k] = struct{}{}
	w.mu.Unlock()
}

func (w *waiters) remove(k kicker) {
	w.mu.Lock()
	delete(w.set, k)
	w.mu.Unlock()
}

// wake kicks every waiter without blocking.
func (w *waiters) wake() {
	w.mu.Lock()
	for k := range w.set {
		k.Kick()
	}
	w.mu.Unlock()
}
