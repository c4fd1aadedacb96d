package group

import (
	"context"
	"encoding/binary"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/clock"
	"github.com/gokafka/gokafka/protocol"
)

// OffsetsTopic is the internal topic that holds groups and offsets.
const OffsetsTopic = "__consumer_offsets"

// groupImage is the state of groups and offsets, as loaded from one
// partition or held for all the partitions this broker coordinates.
type groupImage struct {
	groups map[string]*group // by group id
	Offsets
}

// Coordinator is one broker's group coordinator: it serves the groups of
// the __consumer_offsets partitions that broker leads and has loaded.
type Coordinator struct {
	cfg        Config
	w          PartitionWriter
	cluster    Cluster
	log        *slog.Logger
	rebalanced func()         // counts a completed join phase
	wg         sync.WaitGroup // loads under way

	// Lock order: a group's mu, then mu, then offMu; the appenders' lock
	// is a leaf. None is held across an append or a wait for one.
	mu sync.Mutex // the group map (groupImage.groups), loaded and loading
	groupImage
	offMu   sync.Mutex      // groupImage.Offsets
	loaded  map[int32]int32 // offsets partition -> leader epoch it was loaded in
	loading map[int32]int32 // offsets partition -> leader epoch of the latest load started

	appenders appenders

	counters counters
}

// New returns a coordinator that serves no partition until Load.
func New(cfg Config, w PartitionWriter, cluster Cluster, log *slog.Logger, rebalanced func()) *Coordinator {
	return &Coordinator{cfg: cfg, w: w, cluster: cluster, log: log, rebalanced: rebalanced,
		groupImage: newGroupImage(), loaded: map[int32]int32{}, loading: map[int32]int32{}}
}

func newGroupImage() groupImage {
	return groupImage{groups: map[string]*group{}, Offsets: NewOffsets()}
}

// PartitionCount is the partition count of __consumer_offsets, or what it
// will be once created.
func (gc *Coordinator) PartitionCount() int32 {
	if n, ok := gc.cluster.OffsetsPartitions(); ok {
		return n
	}
	return gc.cfg.OffsetsPartitions
}

// serving returns the local offsets partition of group if this broker is
// its coordinator and has loaded it: NOT_COORDINATOR or
// COORDINATOR_LOAD_IN_PROGRESS otherwise.
func (gc *Coordinator) serving(group string) (int32, error) {
	n, ok := gc.cluster.OffsetsPartitions()
	if !ok {
		return -1, protocol.Errorf(protocol.CoordinatorNotAvailable, "%s does not exist yet", OffsetsTopic)
	}
	pid := PartitionFor(group, n)
	epoch, leading := gc.w.Leading(pid)
	if !leading {
		return -1, protocol.Errorf(protocol.NotCoordinator, "this broker does not coordinate group %q", group)
	}
	gc.mu.Lock()
	e, ok := gc.loaded[pid]
	gc.mu.Unlock()
	if !ok || e != epoch {
		gc.Load(pid, epoch)
		return -1, protocol.Errorf(protocol.CoordinatorLoadInProgress, "loading %s-%d", OffsetsTopic, pid)
	}
	return pid, nil
}

// Load starts loading an offsets partition this broker leads, once per
// leader epoch. The replica manager calls it on every leadership change;
// serving calls it too, in case a load failed.
//
// A load reads only what is committed, and begins once the high watermark
// covers what the log held when the leadership began: the records of
// older epochs above it may be truncated if this broker loses the
// leadership before its followers hold them, and a coordinator that served
// them (until it learned that it was deposed) would show offsets that the
// next one never had, so committed offsets would go backwards.
func (gc *Coordinator) Load(pid, epoch int32) {
	gc.mu.Lock()
	e, ok := gc.loading[pid]
	if ok && e == epoch {
		gc.mu.Unlock()
		return
	}
	gc.loading[pid] = epoch
	gc.mu.Unlock()
	scheduled := time.Now()
	gc.wg.Add(1)
	go func() {
		defer gc.wg.Done()
		if err := gc.w.AwaitCommitted(pid, epoch); err != nil {
			gc.mu.Lock()
			if gc.loading[pid] == epoch {
				delete(gc.loading, pid) // serving starts another if it leads again
			}
			gc.mu.Unlock()
			return
		}
		start := time.Now()
		img := newGroupImage()
		logger := gc.log.With("topic", OffsetsTopic, "partition", pid)
		apply := func(batch []byte, h *protocol.BatchHeader) { img.replay(batch, h, start, logger) }
		next, err := Load(gc.w, pid, 0, apply, logger)
		gc.mu.Lock()
		gc.offMu.Lock()
		if err == nil {
			// What was committed meanwhile (transaction markers) is read
			// under offMu, so that CompleteTxn, which takes it once its
			// marker is committed, finds the partition either not loaded
			// yet or loaded with everything before its marker.
			_, err = Load(gc.w, pid, next, apply, logger)
		}
		if err != nil {
			gc.offMu.Unlock()
			gc.log.Error("cannot load group coordinator state", "partition", pid, "err", err)
			delete(gc.loading, pid)
			gc.mu.Unlock()
			return
		}
		if now, leading := gc.w.Leading(pid); !leading || now != epoch {
			// Superseded while reading, or the broker's lease ran out: a
			// lease taken up again in the same epoch loads anew.
			if gc.loading[pid] == epoch {
				delete(gc.loading, pid)
			}
			gc.offMu.Unlock()
			gc.mu.Unlock()
			return
		}
		gone := gc.unloadLocked(pid)
		for id, g := range img.groups {
			gc.groups[id] = g
		}
		gc.Merge(&img.Offsets)
		gc.offMu.Unlock()
		gc.loaded[pid] = epoch
		gc.mu.Unlock()
		retire(gone)
		gc.counters.loads.Observe(time.Since(scheduled))
		level := slog.LevelDebug // an empty partition is not news
		if len(img.groups)+len(img.Committed) > 0 {
			level = slog.LevelInfo
		}
		gc.log.Log(context.Background(), level, "loaded group coordinator state", "partition", pid,
			"leader_epoch", epoch, "groups", len(img.groups), "took", time.Since(start).Round(time.Millisecond))
	}()
}

// Unload forgets the groups of an offsets partition this broker no longer
// leads; parked requests learn that it is not their coordinator any more.
func (gc *Coordinator) Unload(pid int32) {
	gc.mu.Lock()
	delete(gc.loading, pid)
	var gone []*group
	if _, ok := gc.loaded[pid]; ok {
		gc.offMu.Lock()
		gone = gc.unloadLocked(pid)
		gc.offMu.Unlock()
	}
	gc.mu.Unlock()
	retire(gone)
}

// unloadLocked forgets the groups and offsets of pid, under mu and offMu,
// and returns the groups for retire, which must follow without mu.
func (gc *Coordinator) unloadLocked(pid int32) []*group {
	n := gc.PartitionCount()
	var gone []*group
	for id, g := range gc.groups {
		if PartitionFor(id, n) == pid {
			gone = append(gone, g)
			delete(gc.groups, id)
		}
	}
	gc.DeleteGroups(func(id string) bool { return PartitionFor(id, n) == pid })
	delete(gc.loaded, pid)
	return gone
}

// retire marks groups taken out of the map gone, stops their timers and
// tells their parked requests that this broker no longer coordinates them.
func retire(gone []*group) {
	for _, g := range gone {
		g.mu.Lock()
		g.retireLocked()
		g.mu.Unlock()
	}
}

// replay applies one batch of __consumer_offsets records: keys of version 0
// and 1 are offset commits, version 2 group metadata; a nil value deletes.
// A transactional batch's commits wait for their producer's marker, which
// a control batch carries. What cannot be read is skipped with an ERROR
// line naming its offset.
func (img *groupImage) replay(batch []byte, h *protocol.BatchHeader, now time.Time, logger *slog.Logger) {
	if h.IsControl() {
		img.replayMarker(batch, h, logger)
		return
	}
	producerID := int64(-1)
	if h.IsTransactional() {
		producerID = h.ProducerID
	}
	err := protocol.EachRecord(batch, func(r protocol.RecordView) {
		if len(r.Key) < 2 {
			return
		}
		var err error
		switch binary.BigEndian.Uint16(r.Key) {
		case 0, 1:
			err = img.Replay(r.Key, r.Value, h.BaseOffset+int64(r.OffsetDelta), producerID)
		case 2:
			err = img.replayGroup(r.Key, r.Value, now)
		}
		if err != nil {
			logger.Error("group load skips a record it cannot read", "offset", h.BaseOffset+int64(r.OffsetDelta), "err", err)
		}
	})
	if err != nil {
		logger.Error("group load skips a batch it cannot read", "offset", h.BaseOffset, "err", err)
	}
}

func (img *groupImage) replayGroup(key, value []byte, now time.Time) error {
	var k kmsg.GroupMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return err
	}
	if value == nil {
		delete(img.groups, k.Group)
		return nil
	}
	var v kmsg.GroupMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return err
	}
	img.groups[k.Group] = groupFromRecord(k.Group, &v, now)
	return nil
}

// write appends records for the groups of p with acks=all and calls
// done, with no lock held, with what Kafka's group coordinator answers for
// the outcome. Called under the lock of the group the records are of: the
// append is queued in the order the group's state changed, and happens
// later, with no lock held (see appender.go).
func (gc *Coordinator) write(p int32, kvs []protocol.KV, done func(protocol.ErrorCode)) {
	gc.appenders.enqueue(gc.w, p, protocol.BuildBatch(clock.Now().UnixMilli(), kvs), 0,
		func(code protocol.ErrorCode, _ int64) { done(code) })
}

// localPartition returns the offsets partition of group, and whether this
// broker leads it.
func (gc *Coordinator) localPartition(group string) (int32, bool) {
	pid := PartitionFor(group, gc.PartitionCount())
	_, leading := gc.w.Leading(pid)
	return pid, leading
}

// commitError maps an append failure to what Kafka's group coordinator
// answers for it.
func commitError(err error) protocol.ErrorCode {
	switch code := protocol.Code(err); code {
	case protocol.None:
		return code
	case protocol.NotLeaderOrFollower, protocol.FencedLeaderEpoch:
		return protocol.NotCoordinator
	case protocol.MessageTooLarge:
		return protocol.InvalidCommitOffsetSize
	case protocol.UnknownTopicOrPartition, protocol.NotEnoughReplicas, protocol.NotEnoughReplicasAfterAppend, protocol.RequestTimedOut:
		return protocol.CoordinatorNotAvailable
	default:
		return code
	}
}
