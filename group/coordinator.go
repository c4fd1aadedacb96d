package broker

import (
	"context"
	"encoding/binary"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Groups and their committed offsets live in the internal topic
// __consumer_offsets, in Kafka's own record formats (GroupMetadataKey/Value
// and OffsetCommitKey/Value), so the topic reads the same as Kafka's. A
// group belongs to one partition of it (Kafka's hash of the group id), and
// the leader of that partition is the group's coordinator: it writes with
// acks=all and, when it becomes leader in a new epoch, loads the partition
// in the background, answering COORDINATOR_LOAD_IN_PROGRESS until done.

const offsetsTopic = "__consumer_offsets"

// groupImage is the state of groups and offsets, as loaded from one
// partition or held for all the partitions this broker coordinates.
type groupImage struct {
	groups map[string]*group // by group id
	grp.Offsets
}

type groupCoordinator struct {
	cfg        grp.Config
	w          grp.PartitionWriter
	cluster    grp.Cluster
	log        *slog.Logger
	rebalanced func()         // counts a completed join phase
	wg         sync.WaitGroup // loads under way

	mu sync.Mutex
	groupImage
	loaded  map[int32]int32 // offsets partition -> leader epoch it was loaded in
	loading map[int32]int32 // offsets partition -> leader epoch of the latest load started
}

func newGroupCoordinator(cfg grp.Config, w grp.PartitionWriter, cluster grp.Cluster, log *slog.Logger, rebalanced func()) *groupCoordinator {
	return &groupCoordinator{cfg: cfg, w: w, cluster: cluster, log: log, rebalanced: rebalanced,
		groupImage: newGroupImage(), loaded: map[int32]int32{}, loading: map[int32]int32{}}
}

func newGroupImage() groupImage {
	return groupImage{groups: map[string]*group{}, Offsets: grp.NewOffsets()}
}

// ensureTopic creates __consumer_offsets on first use. With fewer live
// brokers than offsets.topic.replication.factor it says so plainly.
func (b *Broker) ensureOffsetsTopic(ctx context.Context) (*coordinator.Topic, error) {
	if t := b.coord.Metadata().Topic(offsetsTopic); t != nil {
		return t, nil
	}
	spec := coordinator.CreateTopicSpec{
		Name:              offsetsTopic,
		NumPartitions:     b.cfg.OffsetsTopicPartitions,
		ReplicationFactor: b.cfg.OffsetsTopicReplicationFactor,
		Configs: map[string]string{"cleanup.policy": "compact",
			"segment.bytes": strconv.FormatInt(b.cfg.OffsetsTopicSegmentBytes, 10)},
	}
	r := b.createTopics(ctx, []coordinator.CreateTopicSpec{spec}, false)[0]
	if r.Err != nil && protocol.Code(r.Err) != protocol.TopicAlreadyExists {
		// Clients retry; once a minute is clear enough.
		if now, last := time.Now().UnixMilli(), b.offsetsComplained.Load(); now-last > 60000 && b.offsetsComplained.CompareAndSwap(last, now) {
			b.log.Error("cannot create "+offsetsTopic+"; group coordination is unavailable until it exists",
				"offsets.topic.replication.factor", spec.ReplicationFactor, "err", r.Err)
		}
		return nil, protocol.Errorf(protocol.CoordinatorNotAvailable, "creating %s: %v", offsetsTopic, r.Err)
	}
	if t := b.coord.Metadata().Topic(offsetsTopic); t != nil {
		return t, nil
	}
	return nil, protocol.Errorf(protocol.CoordinatorNotAvailable, "%s is being created", offsetsTopic)
}

// coordinatorOf returns the offsets partition of group and its leader.
func (b *Broker) groupCoordinatorOf(ctx context.Context, group string) (int32, int32, error) {
	t, err := b.ensureOffsetsTopic(ctx)
	if err != nil {
		return -1, -1, err
	}
	p := grp.PartitionFor(group, int32(len(t.Partitions)))
	return p, t.Partitions[p].Leader, nil
}

func (gc *groupCoordinator) partitionCount() int32 {
	if n, ok := gc.cluster.OffsetsPartitions(); ok {
		return n
	}
	return gc.cfg.OffsetsPartitions
}

// serving returns the local offsets partition of group if this broker is
// its coordinator and has loaded it: NOT_COORDINATOR or
// COORDINATOR_LOAD_IN_PROGRESS otherwise.
func (gc *groupCoordinator) serving(group string) (int32, error) {
	n, ok := gc.cluster.OffsetsPartitions()
	if !ok {
		return -1, protocol.Errorf(protocol.CoordinatorNotAvailable, "%s does not exist yet", offsetsTopic)
	}
	pid := grp.PartitionFor(group, n)
	epoch, leading := gc.w.Leading(pid)
	if !leading {
		return -1, protocol.Errorf(protocol.NotCoordinator, "this broker does not coordinate group %q", group)
	}
	gc.mu.Lock()
	e, ok := gc.loaded[pid]
	gc.mu.Unlock()
	if !ok || e != epoch {
		gc.scheduleLoad(pid, epoch)
		return -1, protocol.Errorf(protocol.CoordinatorLoadInProgress, "loading %s-%d", offsetsTopic, pid)
	}
	return pid, nil
}

// scheduleLoad starts loading an offsets partition this broker leads, once
// per leader epoch. The replica manager calls it on every leadership
// change; serving calls it too, in case a load failed.
func (gc *groupCoordinator) scheduleLoad(pid, epoch int32) {
	gc.mu.Lock()
	e, ok := gc.loading[pid]
	if ok && e == epoch {
		gc.mu.Unlock()
		return
	}
	gc.loading[pid] = epoch
	gc.mu.Unlock()
	gc.wg.Add(1)
	go func() {
		defer gc.wg.Done()
		start := time.Now()
		img := newGroupImage()
		logger := gc.log.With("topic", offsetsTopic, "partition", pid)
		apply := func(batch []byte, h *protocol.BatchHeader) { img.replay(batch, h, start, logger) }
		next, err := grp.Load(gc.w, pid, 0, apply, logger)
		gc.mu.Lock()
		defer gc.mu.Unlock()
		if err == nil {
			// What was appended meanwhile (transaction markers) is read
			// under gc.mu, so that completeTxn, which takes it, finds the
			// partition either not loaded yet or loaded with everything
			// before its marker.
			_, err = grp.Load(gc.w, pid, next, apply, logger)
		}
		if err != nil {
			gc.log.Error("cannot load group coordinator state", "partition", pid, "err", err)
			delete(gc.loading, pid)
			return
		}
		if now, leading := gc.w.Leading(pid); !leading || now != epoch {
			return // superseded while reading
		}
		gc.unloadLocked(pid)
		for id, g := range img.groups {
			gc.groups[id] = g
		}
		gc.Merge(&img.Offsets)
		gc.loaded[pid] = epoch
		level := slog.LevelDebug // an empty partition is not news
		if len(img.groups)+len(img.Committed) > 0 {
			level = slog.LevelInfo
		}
		gc.log.Log(context.Background(), level, "loaded group coordinator state", "partition", pid,
			"leader_epoch", epoch, "groups", len(img.groups), "took", time.Since(start).Round(time.Millisecond))
	}()
}

// unload forgets the groups of an offsets partition this broker no longer
// leads; parked requests learn that it is not their coordinator any more.
func (gc *groupCoordinator) unload(pid int32) {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	delete(gc.loading, pid)
	if _, ok := gc.loaded[pid]; ok {
		gc.unloadLocked(pid)
	}
}

func (gc *groupCoordinator) unloadLocked(pid int32) {
	n := gc.partitionCount()
	for id, g := range gc.groups {
		if grp.PartitionFor(id, n) != pid {
			continue
		}
		if g.timer != nil {
			g.timer.Stop()
		}
		for _, m := range g.members {
			m.answerParked(protocol.NotCoordinator)
		}
		delete(gc.groups, id)
	}
	gc.DeleteGroups(func(id string) bool { return grp.PartitionFor(id, n) == pid })
	delete(gc.loaded, pid)
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

// writeLocked appends records for the groups of p with acks=all and calls
// done, under gc.mu, with what Kafka's group coordinator answers for the
// outcome. The append happens under gc.mu, so the records of a group are
// stored in the order its state changed.
func (gc *groupCoordinator) writeLocked(p int32, kvs []protocol.KV, done func(protocol.ErrorCode)) {
	gc.appendLocked(p, protocol.BuildBatch(time.Now().UnixMilli(), kvs), 0, func(code protocol.ErrorCode, _ int64) { done(code) })
}

// appendLocked is writeLocked for a batch already built, with the
// verification guard of its transaction if it has one; done also learns
// the offset of the batch's first record.
func (gc *groupCoordinator) appendLocked(p int32, batch []byte, guard uint64, done func(code protocol.ErrorCode, first int64)) {
	// acked takes gc.mu, which is held until first is set.
	var first int64
	first, err := gc.w.Append(p, batch, guard, func(err error) {
		gc.mu.Lock()
		defer gc.mu.Unlock()
		done(commitError(err), first)
	})
	if err != nil {
		done(commitError(err), -1)
	}
}

// offsetsLog is the group coordinator's PartitionWriter: the partitions of
// __consumer_offsets among this broker's replicas.
type offsetsLog struct{ b *Broker }

func (o offsetsLog) partition(pid int32) (*partition, error) {
	p := o.b.replicas.get(klog.TopicPartition{Topic: offsetsTopic, Partition: pid})
	if p == nil {
		return nil, protocol.Errorf(protocol.NotLeaderOrFollower, "%s-%d has no replica here", offsetsTopic, pid)
	}
	return p, nil
}

func (o offsetsLog) Append(pid int32, batch []byte, guard uint64, acked func(error)) (int64, error) {
	p, err := o.partition(pid)
	if err != nil {
		return -1, err
	}
	res, err := p.appendLeader(batch, -1, klog.AppendOptions{VerificationGuard: guard})
	if err != nil {
		return -1, err
	}
	var outcome kmsg.ProduceResponseTopicPartition
	o.b.wg.Add(1)
	go func() { // awaitAcks may finish at once, before Append returns
		defer o.b.wg.Done()
		o.b.awaitAcks([]ackWait{{p: p, offset: res.LastOffset + 1, out: &outcome}}, 5*time.Second, func() {
			var err error
			if outcome.ErrorCode != 0 {
				err = &protocol.Error{Code: protocol.ErrorCode(outcome.ErrorCode)}
			}
			acked(err)
		})
	}()
	return res.FirstOffset, nil
}

func (o offsetsLog) VerifyTxn(pid int32, transactionalID string, producerID int64, epoch int16) (uint64, error) {
	p, err := o.partition(pid)
	if err != nil || o.b.verifyTxn == nil {
		return 0, err
	}
	guard := p.log.StartVerification(producerID)
	if guard == 0 {
		return 0, nil // its transaction is open here
	}
	return guard, o.b.verifyTxn(o.b.ctx, transactionalID, producerID, epoch, p.tp)
}

func (o offsetsLog) Leading(pid int32) (int32, bool) {
	p := o.b.replicas.get(klog.TopicPartition{Topic: offsetsTopic, Partition: pid})
	if p == nil {
		return 0, false
	}
	leader, epoch := p.state()
	return epoch, leader == o.b.cfg.NodeID
}

// offsetsCluster is the group coordinator's view of the metadata.
type offsetsCluster struct{ b *Broker }

func (o offsetsCluster) OffsetsPartitions() (int32, bool) {
	if t := o.b.coord.Metadata().Topic(offsetsTopic); t != nil {
		return int32(len(t.Partitions)), true
	}
	return 0, false
}

func (o offsetsCluster) PartitionExists(topic string, partition int32) bool {
	return partitionExists(o.b.coord.Metadata(), topic, partition)
}

// groupConfig is the group coordinator's share of the broker's settings.
func (b *Broker) groupConfig() grp.Config {
	return grp.Config{
		MinSessionTimeout:             b.cfg.GroupMinSessionTimeout,
		MaxSessionTimeout:             b.cfg.GroupMaxSessionTimeout,
		MaxSize:                       b.cfg.GroupMaxSize,
		InitialRebalanceDelay:         b.cfg.GroupInitialRebalanceDelay,
		OffsetsPartitions:             b.cfg.OffsetsTopicPartitions,
		OffsetsRetention:              b.cfg.OffsetsRetention,
		OffsetsRetentionCheckInterval: b.cfg.OffsetsRetentionCheckInterval,
	}
}

func (o offsetsLog) Bounds(pid int32) (int64, int64, error) {
	p, err := o.partition(pid)
	if err != nil {
		return 0, 0, err
	}
	return p.log.LogStartOffset(), p.log.LogEndOffset(), nil
}

func (o offsetsLog) Read(pid int32, offset, end int64) ([]byte, error) {
	p, err := o.partition(pid)
	if err != nil {
		return nil, err
	}
	res, err := p.log.Read(offset, 1<<20, end, true)
	return res.Records, err
}

// localPartition returns the offsets partition of group, and whether this
// broker leads it.
func (gc *groupCoordinator) localPartition(group string) (int32, bool) {
	pid := grp.PartitionFor(group, gc.partitionCount())
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
