package group

import (
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/clock"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Offsets: OffsetCommit, TxnOffsetCommit and OffsetFetch, and the
// transaction markers that settle transactional offsets.

// CommitOffsets stores a group's offsets, which the broker has decoded,
// authorized and checked against the metadata; answer is called once,
// when they are stored with acks=all or refused.
func (gc *Coordinator) CommitOffsets(req *kmsg.OffsetCommitRequest, offsets PartitionOffsets, answer func(protocol.ErrorCode)) {
	p, err := gc.serving(req.Group)
	if err != nil {
		answer(protocol.Code(err))
		return
	}
	g := gc.lockExisting(req.Group)
	if g != nil {
		defer g.mu.Unlock() // the commit is queued in the group's order
	}
	if code := checkCommit(g, req); code != protocol.None {
		answer(code)
		return
	}
	build := func(kvs []protocol.KV) []byte { return protocol.BuildBatch(clock.Now().UnixMilli(), kvs) }
	keep := func(tp klog.TopicPartition, co Offset) { gc.Store(req.Group, tp, co) }
	gc.commit(p, req.Group, offsets, build, 0, keep, answer)
}

// CommitTxnOffsets stores a transactional producer's offsets for a group
// as CommitOffsets does, in a transactional batch of the producer: they
// stay pending until its transaction's marker lands (CompleteTxn).
func (gc *Coordinator) CommitTxnOffsets(req *kmsg.TxnOffsetCommitRequest, offsets PartitionOffsets, answer func(protocol.ErrorCode)) {
	if req.Group == "" {
		answer(protocol.InvalidGroupID)
		return
	}
	p, err := gc.serving(req.Group)
	var guard uint64
	if err == nil {
		// Not under gc.mu: this may ask the transaction coordinator.
		guard, err = gc.w.VerifyTxn(p, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Version >= 5)
	}
	if err != nil {
		answer(protocol.Code(err))
		return
	}
	g := gc.lockExisting(req.Group)
	if g != nil {
		defer g.mu.Unlock()
	}
	if code := checkTxnCommit(g, req); code != protocol.None {
		answer(code)
		return
	}
	now := clock.Now().UnixMilli()
	build := func(kvs []protocol.KV) []byte {
		return protocol.BuildTransactionalBatch(now, req.ProducerID, req.ProducerEpoch, kvs)
	}
	keep := func(tp klog.TopicPartition, co Offset) { gc.StorePending(req.Group, req.ProducerID, tp, co) }
	gc.commit(p, req.Group, offsets, build, guard, keep, answer)
}

// commit writes a group's offsets with acks=all in the one batch that
// build makes of their records (guard as PartitionWriter.Append's) and,
// once they are stored, hands each to keep with its record offset, under
// gc.offMu; answer learns the outcome. Called under the group's lock, if
// it has a group.
func (gc *Coordinator) commit(p int32, group string, offsets PartitionOffsets, build func([]protocol.KV) []byte,
	guard uint64, keep func(klog.TopicPartition, Offset), answer func(protocol.ErrorCode)) {
	tps := slices.Collect(maps.Keys(offsets))
	kvs := make([]protocol.KV, len(tps))
	for i, tp := range tps {
		co := offsets[tp]
		kvs[i] = Record(group, tp, &co)
	}
	gc.appenders.enqueue(gc.w, p, build(kvs), guard, func(code protocol.ErrorCode, first int64) {
		if code == protocol.None {
			gc.counters.offsetCommits.Add(int64(len(tps)))
			gc.offMu.Lock()
			for i, tp := range tps {
				co := offsets[tp]
				co.RecordOffset = first + int64(i)
				keep(tp, co)
			}
			gc.offMu.Unlock()
		}
		answer(code)
	})
}

// FetchOffsets answers one group's OffsetFetch: the requested partitions, or
// every committed one when all is set; -1 where nothing is committed.
// Offsets of transactions that have not ended are not shown; with
// requireStable (KIP-447) a partition that has some answers
// UNSTABLE_OFFSET_COMMIT, and the client asks again.
func (gc *Coordinator) FetchOffsets(group string, topics []kmsg.OffsetFetchRequestGroupTopic, all, requireStable bool) kmsg.OffsetFetchResponseGroup {
	out := kmsg.NewOffsetFetchResponseGroup()
	out.Group = group
	if _, err := gc.serving(group); err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		return out
	}
	gc.offMu.Lock()
	defer gc.offMu.Unlock()
	if all {
		byTopic := map[string][]int32{}
		for tp := range gc.Committed[group] {
			byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
		}
		for t, ps := range byTopic {
			topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t, Partitions: ps})
		}
	}
	for _, rt := range topics {
		ot := kmsg.NewOffsetFetchResponseGroupTopic()
		ot.Topic = rt.Topic
		for _, pid := range rt.Partitions {
			op := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			// No offset reads as Kafka's: -1, and metadata "", not null.
			op.Partition, op.Offset, op.LeaderEpoch, op.Metadata = pid, -1, -1, kmsg.StringPtr("")
			tp := klog.TopicPartition{Topic: rt.Topic, Partition: pid}
			if co, ok := gc.Committed[group][tp]; requireStable && gc.HasPending(group, tp) {
				op.ErrorCode = int16(protocol.UnstableOffsetCommit)
			} else if ok {
				meta := co.Metadata
				op.Offset, op.LeaderEpoch, op.Metadata = co.Offset, co.LeaderEpoch, &meta
			} else if !gc.cluster.PartitionExists(rt.Topic, pid) {
				// Offsets of a deleted topic still answer above; a
				// partition never seen is the client's mistake.
				op.ErrorCode = int16(protocol.UnknownTopicOrPartition)
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		out.Topics = append(out.Topics, ot)
	}
	return out
}

// checkCommit applies Kafka's rules to a commit: a group with members takes
// commits only from a member of the current generation, and not while it
// completes a rebalance; an empty group takes simple commits (generation
// -1). A member may commit while the group prepares a rebalance: that is
// what an eager consumer does in its revoke callback, and refusing it
// would hand its partitions over with their progress lost.
// g is the group, locked, or nil when it has none.
func checkCommit(g *group, req *kmsg.OffsetCommitRequest) protocol.ErrorCode {
	if g == nil || len(g.members) == 0 {
		if req.Generation >= 0 || req.MemberID != "" {
			return protocol.IllegalGeneration
		}
		return protocol.None
	}
	m, code := g.checkMember(req.MemberID, req.InstanceID, req.Generation)
	switch {
	case code != protocol.None:
		return code
	case g.state == groupCompletingRebalance:
		return protocol.RebalanceInProgress
	}
	m.lastSeen = time.Now()
	return protocol.None
}

// checkTxnCommit applies Kafka's rules to a transactional commit
// (ClassicGroup.validateOffsetCommit): an unknown group takes one without
// a generation; an empty group takes one with generation -1; a member id,
// instance id or generation given must match the group. Unlike a plain
// commit, one without any of them is taken from a group with members, and
// the group's rebalance state does not matter.
// g is as checkCommit's.
func checkTxnCommit(g *group, req *kmsg.TxnOffsetCommitRequest) protocol.ErrorCode {
	switch {
	case g == nil || len(g.members) == 0 && g.generation == 0:
		if req.Generation >= 0 {
			return protocol.IllegalGeneration
		}
		return protocol.None
	case req.Generation < 0 && g.state == groupEmpty:
		return protocol.None
	case req.Generation >= 0 || req.MemberID != "" || req.InstanceID != nil:
		_, code := g.checkMember(req.MemberID, req.InstanceID, req.Generation)
		return code
	}
	return protocol.None
}

// CompleteTxn applies a transaction marker that has been written to the
// offsets partition pid with acks=all (the WriteTxnMarkers handler calls
// it): the producer's pending offsets of the groups there become
// committed offsets, or are dropped on abort. A partition still loading
// has none; its load reads the marker from the log.
func (gc *Coordinator) CompleteTxn(pid int32, producerID int64, commit bool) {
	gc.offMu.Lock()
	defer gc.offMu.Unlock()
	n := gc.PartitionCount()
	gc.EndTxn(producerID, commit, func(group string) bool { return PartitionFor(group, n) == pid })
}

// replayMarker applies a control batch read during a load: a commit or
// abort marker ends the producer's transaction in every group of the
// partition being loaded.
func (img *groupImage) replayMarker(batch []byte, h *protocol.BatchHeader, logger *slog.Logger) {
	commit, _, err := protocol.ParseEndTxnMarker(batch)
	if err != nil {
		logger.Error("group load skips a control batch it cannot read", "offset", h.BaseOffset, "err", err)
		return
	}
	img.EndTxn(h.ProducerID, commit, func(string) bool { return true })
}

// EachCommitted calls fn, under the offsets' lock, with every committed
// offset of the groups loaded here.
func (gc *Coordinator) EachCommitted(fn func(group string, tp klog.TopicPartition, o Offset)) {
	gc.offMu.Lock()
	defer gc.offMu.Unlock()
	for group, offs := range gc.Committed {
		for tp, o := range offs {
			fn(group, tp, o)
		}
	}
}
