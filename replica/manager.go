package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Manager keeps this broker's local replicas in line with the metadata:
// it creates logs for partitions assigned here, applies leader and ISR
// changes, and deletes logs of topics that are gone. Reconciling is
// level-triggered against the latest image, so a missed kick is harmless.
type Manager struct {
	cfg   Config
	ctx   context.Context // the broker's: done when it stops
	log   *slog.Logger
	logs  *klog.Manager
	ctrl  Controller
	host  Host
	lease *Lease

	mu         sync.RWMutex
	partitions map[klog.TopicPartition]*Partition

	reconcileMu sync.Mutex // one reconcile at a time; guards the three below
	applied     uint64     // AppliedIndex of the newest image reconciled
	// last is the image last reconciled. An image shares with the one it
	// came from every topic shard its changes left alone, so the topics
	// changed since last are found without reading the others
	// (TopicMap.Changed), and a reconcile acts on them only: it costs
	// the partitions a change touched, not all of them (issue 16). The
	// comparison holds across any number of images skipped (kicks
	// coalesce), and an image not derived from last (a restored
	// snapshot) differs in every shard: a missed change cannot be lost.
	last *coordinator.Metadata
	// retry holds the topics whose local replicas failed to open; every
	// reconcile tries them again.
	retry  map[string]bool
	stopCh chan struct{}
	wg     sync.WaitGroup

	fetchMu  sync.Mutex
	fetchers map[int32]*fetcher // by leader id
	byLeader leaderIndex        // the local replicas by their leader

	isr *isrSender // this broker's AlterPartition requests, batched
}

// New returns the replica manager of broker cfg.NodeID over logs. It
// reconciles nothing until Start.
func New(ctx context.Context, cfg Config, logs *klog.Manager, ctrl Controller, host Host, lease *Lease, logger *slog.Logger) *Manager {
	rm := &Manager{cfg: cfg, ctx: ctx, log: logger, logs: logs, ctrl: ctrl, host: host, lease: lease,
		partitions: map[klog.TopicPartition]*Partition{}, stopCh: make(chan struct{}), fetchers: map[int32]*fetcher{},
		byLeader: newLeaderIndex()}
	rm.isr = newISRSender(rm)
	return rm
}

// Get returns this broker's replica of tp, or nil.
func (rm *Manager) Get(tp klog.TopicPartition) *Partition {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	return rm.partitions[tp]
}

// Add installs a replica built outside a reconcile, replacing any of
// its partition: tests of the handlers over one partition use it.
func (rm *Manager) Add(p *Partition) {
	rm.mu.Lock()
	rm.partitions[p.tp] = p
	rm.mu.Unlock()
	leader, _ := p.State()
	rm.byLeader.file(p, leader)
}

// Local returns this broker's replica of a partition, or the error Kafka
// gives when there is none: UNKNOWN_TOPIC_OR_PARTITION for a partition that
// does not exist, NOT_LEADER_OR_FOLLOWER for one held elsewhere.
func (rm *Manager) Local(md *coordinator.Metadata, topic string, partition int32) (*Partition, error) {
	tp := klog.TopicPartition{Topic: topic, Partition: partition}
	if p := rm.Get(tp); p != nil {
		return p, nil
	}
	if err := rm.logs.Offline(tp); err != nil {
		return nil, protocol.Errorf(protocol.KafkaStorageError, "%v", err)
	}
	if !md.HasPartition(topic, partition) {
		return nil, protocol.Errorf(protocol.UnknownTopicOrPartition, "%s-%d: no such partition", topic, partition)
	}
	return nil, protocol.Errorf(protocol.NotLeaderOrFollower, "%s-%d: no replica on this broker", topic, partition)
}

// Start reconciles once and then after every metadata change.
func (rm *Manager) Start() {
	kick, unsubscribe := rm.ctrl.Subscribe()
	rm.Reconcile(rm.ctrl.Metadata())
	rm.wg.Add(3)
	go rm.isrLoop()
	go rm.isr.run()
	go func() {
		defer rm.wg.Done()
		defer unsubscribe()
		for {
			select {
			case <-kick:
				rm.Reconcile(rm.ctrl.Metadata())
			case <-rm.stopCh:
				return
			}
		}
	}()
}

// Stop ends the manager's goroutines and waits for them.
func (rm *Manager) Stop() {
	rm.fetchMu.Lock() // no goroutine starts after this, see spawn
	close(rm.stopCh)
	rm.fetchMu.Unlock()
	rm.wg.Wait()
}

// spawnLocked runs f in a goroutine that stop waits for, unless stopping has
// begun. The caller holds fetchMu.
func (rm *Manager) spawnLocked(f func()) bool {
	select {
	case <-rm.stopCh:
		return false
	default:
	}
	rm.wg.Add(1)
	go func() {
		defer rm.wg.Done()
		f()
	}()
	return true
}

// Reconcile brings the local replicas in line with md. Handlers that change
// metadata call it too, so that their answer is true of this broker at once.
//
// Callers load md before they take reconcileMu, so a slow one can arrive
// with an image older than one already applied. Acting on it would delete
// the replicas of topics created in between, after their produces were
// acknowledged, and move leader epochs backwards: such an image is dropped.
func (rm *Manager) Reconcile(md *coordinator.Metadata) {
	rm.reconcileMu.Lock()
	defer rm.reconcileMu.Unlock()
	if md.AppliedIndex < rm.applied {
		return
	}
	rm.applied = md.AppliedIndex
	rm.host.ApplyConfigs(md)
	changed := rm.changedTopics(md)
	var work []assigned
	for name := range changed {
		t := md.Topic(name)
		if t == nil {
			continue
		}
		delete(rm.retry, name)
		for _, st := range t.Partitions {
			if slices.Contains(st.Replicas, rm.cfg.NodeID) {
				work = append(work, assigned{klog.TopicPartition{Topic: t.Name, Partition: st.ID}, t, st})
			}
		}
	}
	start := time.Now()
	var tally reconcileTally
	failed := rm.openNew(work)
	for _, a := range work {
		err := failed[a.tp]
		if err == nil {
			err = rm.ensure(a.tp, a.t, a.st, &tally)
		}
		if err != nil {
			tally.failed++
			rm.retry[a.t.Name] = true
			rm.log.Error("cannot open local replica", "topic", a.tp.Topic, "partition", a.tp.Partition, "err", err)
		}
	}
	if rm.fullPass(md) {
		tally.removed += rm.removeUnwanted(md)
	} else {
		tally.removed += rm.removeUnwantedOf(md, changed)
	}
	rm.last = md
	rm.syncFetchers()
	if tally != (reconcileTally{}) {
		rm.log.Info("replicas reconciled", "applied_index", md.AppliedIndex, "topics", len(changed),
			"leader", tally.leader, "follower", tally.follower, "leaderless", tally.leaderless,
			"isr_changed", tally.isr, "removed", tally.removed, "failed", tally.failed,
			"took", time.Since(start).Round(time.Millisecond))
	}
}

// reconcileTally counts what one reconcile changed, for its one INFO
// line: a line a partition made 200,000 lines at a restart of 100,000
// (issue 16); those stay at DEBUG. leader, follower and leaderless count
// the partitions that took a new leader or leader epoch, by what this
// broker is to them now; isr those whose ISR alone changed.
type reconcileTally struct {
	leader, follower, leaderless, isr, removed, failed int
}

// count tallies one partition whose state changed; newEpoch says whether
// its leader or leader epoch did.
func (t *reconcileTally) count(st coordinator.Partition, self int32, newEpoch bool) {
	switch {
	case !newEpoch:
		t.isr++
	case st.Leader == self:
		t.leader++
	case st.Leader == -1:
		t.leaderless++
	default:
		t.follower++
	}
}

// fullPass reports whether md must be reconciled whole: on the first
// image that reflects Raft entries (logs found on disk are checked
// against it), and when the dynamic broker configs, which set the logs'
// defaults, have changed.
func (rm *Manager) fullPass(md *coordinator.Metadata) bool {
	return rm.last == nil || rm.last.AppliedIndex == 0 ||
		!maps.EqualFunc(rm.last.BrokerConfigs, md.BrokerConfigs, maps.Equal)
}

// changedTopics names the topics a reconcile of md visits: those md
// changed since the last image reconciled (all of them on a full pass),
// those that failed to open before, and the internal topics.
func (rm *Manager) changedTopics(md *coordinator.Metadata) map[string]bool {
	var since coordinator.TopicMap[string] // empty: every topic changed
	if !rm.fullPass(md) {
		since = rm.last.Topics
	}
	if rm.retry == nil {
		rm.retry = map[string]bool{}
	}
	changed := maps.Clone(rm.retry)
	for name := range md.Topics.Changed(since) {
		changed[name] = true
	}
	for _, name := range rm.cfg.Internal {
		changed[name] = true
	}
	return changed
}

// assigned is one partition the image assigns to this broker.
type assigned struct {
	tp klog.TopicPartition
	t  *coordinator.Topic
	st coordinator.Partition
}

// openParallelism bounds the logs a reconcile creates at once: each
// creation waits on an fsync, and parallel ones share the file system's
// journal commits (issue 16: 3,000 partitions are created in seconds, not
// one fsync after another).
const openParallelism = 16

// openNew opens the local replicas of work that have none yet, in
// parallel, and returns the errors of those it could not open.
func (rm *Manager) openNew(work []assigned) map[klog.TopicPartition]error {
	var mu sync.Mutex
	failed := map[klog.TopicPartition]error{}
	sem := make(chan struct{}, openParallelism)
	var wg sync.WaitGroup
	for _, a := range work {
		if rm.Get(a.tp) != nil {
			continue // ensure replaces one of an older topic ID
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := rm.open(a.tp, a.t); err != nil {
				mu.Lock()
				failed[a.tp] = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed
}

// open opens (or creates) the log of a partition assigned here and adds
// its replica, with no state yet: ensure applies the image's.
func (rm *Manager) open(tp klog.TopicPartition, t *coordinator.Topic) (*Partition, error) {
	cfg, err := rm.host.LogConfig(t)
	if err != nil {
		return nil, fmt.Errorf("topic %s configs: %w", t.Name, err)
	}
	l, err := rm.logs.GetOrCreate(tp, t.ID, cfg)
	if errors.Is(err, klog.ErrTopicIDMismatch) {
		// Found on disk at start: another topic of that name, which
		// this broker never saw deleted. Kafka keeps it as stray.
		if err := rm.logs.MarkStray(tp); err != nil {
			return nil, err
		}
		l, err = rm.logs.GetOrCreate(tp, t.ID, cfg)
	}
	if err != nil {
		return nil, err
	}
	p := NewPartition(tp, t.ID, l, rm.cfg.NodeID, rm.lease)
	rm.mu.Lock()
	rm.partitions[tp] = p
	rm.mu.Unlock()
	return p, nil
}

// ensure applies the partition state from the image to the local replica
// of one assigned partition, opening it if openNew did not, and tallies
// what changed.
func (rm *Manager) ensure(tp klog.TopicPartition, t *coordinator.Topic, st coordinator.Partition, tally *reconcileTally) error {
	p := rm.Get(tp)
	if p != nil && p.topicID != t.ID {
		// The topic was deleted and re-created under the same name.
		rm.drop(tp)
		tally.removed++
		p = nil
	}
	if p == nil {
		var err error
		if p, err = rm.open(tp, t); err != nil {
			return err
		}
	} else if cfg, err := rm.host.LogConfig(t); err == nil && cfg != p.log.Config() {
		p.log.SetConfig(cfg)
	}
	leader, epoch := p.State()
	if changed, shrank, grew := p.ApplyState(st, rm.host.MinISR(t)); changed {
		rm.log.Debug("partition state", "topic", tp.Topic, "partition", tp.Partition,
			"leader", st.Leader, "leader_epoch", st.LeaderEpoch, "isr", st.ISR)
		rm.host.ISRChanged(shrank, grew)
		tally.count(st, rm.cfg.NodeID, leader != st.Leader || epoch != st.LeaderEpoch)
	}
	rm.byLeader.file(p, st.Leader)
	rm.host.StateApplied(p, st)
	return nil
}

// removeUnwanted deletes local replicas whose topic ID md no longer holds
// (the topic was deleted) or no longer assigns here (reassigned away). A
// log found on disk whose topic ID md does not know (deleted while we were
// down, or never this cluster's) is kept as stray, never deleted. An image
// that reflects no Raft entry yet knows no topic at all and so cannot say
// that any was deleted. It returns how many it deleted.
func (rm *Manager) removeUnwanted(md *coordinator.Metadata) int {
	if md.AppliedIndex == 0 {
		return 0
	}
	rm.mu.RLock()
	var gone []klog.TopicPartition
	for tp, p := range rm.partitions {
		if !rm.assignedHere(md, tp, p.topicID) {
			gone = append(gone, tp)
		}
	}
	rm.mu.RUnlock()
	for _, l := range rm.logs.All() {
		tp := l.TopicPartition()
		switch {
		case rm.Get(tp) != nil || rm.assignedHere(md, tp, l.TopicID()):
		case md.TopicByID(l.TopicID()) == nil:
			if err := rm.logs.MarkStray(tp); err != nil {
				rm.log.Error("cannot set aside stray replica", "topic", tp.Topic, "partition", tp.Partition, "err", err)
			}
		default:
			gone = append(gone, tp)
		}
	}
	return rm.dropAll(gone)
}

// removeUnwantedOf is removeUnwanted for the local replicas of the named
// topics only: their partitions as the last image reconciled or md
// numbers them (partitions only ever grow, so that covers every replica
// either assigned here).
func (rm *Manager) removeUnwantedOf(md *coordinator.Metadata, names map[string]bool) int {
	var gone []klog.TopicPartition
	for name := range names {
		n := 0
		for _, t := range []*coordinator.Topic{rm.last.Topic(name), md.Topic(name)} {
			if t != nil {
				n = max(n, len(t.Partitions))
			}
		}
		for i := range n {
			tp := klog.TopicPartition{Topic: name, Partition: int32(i)}
			if p := rm.Get(tp); p != nil && !rm.assignedHere(md, tp, p.topicID) {
				gone = append(gone, tp)
			}
		}
	}
	return rm.dropAll(gone)
}

func (rm *Manager) dropAll(tps []klog.TopicPartition) int {
	for _, tp := range tps {
		rm.drop(tp)
	}
	return len(tps)
}

// assignedHere reports whether md assigns partition tp of the topic with
// this ID to this broker. A log written before topic IDs (zero ID) is
// matched by name.
func (rm *Manager) assignedHere(md *coordinator.Metadata, tp klog.TopicPartition, id [16]byte) bool {
	t := md.TopicByID(id)
	if id == ([16]byte{}) {
		t = md.Topic(tp.Topic)
	}
	if t == nil || t.Name != tp.Topic || tp.Partition < 0 || int(tp.Partition) >= len(t.Partitions) {
		return false
	}
	return slices.Contains(t.Partitions[tp.Partition].Replicas, rm.cfg.NodeID)
}

func (rm *Manager) drop(tp klog.TopicPartition) {
	rm.mu.Lock()
	p := rm.partitions[tp]
	delete(rm.partitions, tp)
	rm.mu.Unlock()
	if p != nil {
		p.resign()
		rm.byLeader.file(p, -1)
		p.waiters.wake() // parked requests re-check and find the partition gone
	}
	if err := rm.logs.Delete(tp); err != nil {
		rm.log.Error("cannot delete local replica", "topic", tp.Topic, "partition", tp.Partition, "err", err)
		return
	}
	rm.log.Info("deleted local replica", "topic", tp.Topic, "partition", tp.Partition)
}
