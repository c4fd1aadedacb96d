package broker

import (
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// TxnOffsetCommit, versions 0-5: a transactional producer's offsets for a
// consumer group (consume-transform-produce), committed with its
// transaction.
//
// Behavior:
//   - Write on the transactional id, then Read on the group, else every
//     partition gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED or
//     GROUP_AUTHORIZATION_FAILED; Read on each topic, else
//     TOPIC_AUTHORIZATION_FAILED; unknown partitions get
//     UNKNOWN_TOPIC_OR_PARTITION and are not stored (KafkaApis).
//   - KIP-447: a generation, member id or instance id given is checked
//     against the group as OffsetCommit's are; without them (v0-v2) the
//     commit is taken whatever the group's state.
//   - The offsets are written to the group's __consumer_offsets partition
//     as one transactional batch of the producer's id and epoch, with
//     acks=all, and stay pending: OffsetFetch does not show them (with
//     RequireStable it answers UNSTABLE_OFFSET_COMMIT) until the
//     producer's marker lands there. completeTxn then commits or drops
//     them; a load replays the markers the same way.
//   - KIP-890 part 1: unless the producer's transaction is open on the
//     offsets partition already, its coordinator must confirm that it is
//     ongoing with this partition in it (the Broker's verifyTxn seam).
//   - v0-v1 see COORDINATOR_NOT_AVAILABLE for COORDINATOR_LOAD_IN_PROGRESS,
//     which clients before 2.0 could not handle.

func handleTxnOffsetCommit(b *Broker, c *conn, req *kmsg.TxnOffsetCommitRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	md := b.coord.Metadata()
	whole := protocol.None // the answer of every partition, when one
	switch {
	case !c.may(authzTxnCommitTxnID, req.TransactionalID):
		whole = authzTxnCommitTxnID.Error
	case !c.may(authzTxnCommitGroup, req.Group):
		whole = authzTxnCommitGroup.Error
	}
	var refused map[string]bool
	if whole == protocol.None {
		refused = refusedTopics(c, authzTxnCommitTopic, req.Topics, func(t kmsg.TxnOffsetCommitRequestTopic) string { return t.Topic })
	}
	answer := func(code protocol.ErrorCode) {
		if req.Version < 2 && code == protocol.CoordinatorLoadInProgress {
			code = protocol.CoordinatorNotAvailable
		}
		out.Topics = out.Topics[:0]
		for _, rt := range req.Topics {
			ot := kmsg.NewTxnOffsetCommitResponseTopic()
			ot.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				op := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				op.Partition, op.ErrorCode = rp.Partition, int16(code)
				switch {
				case whole != protocol.None:
				case refused[rt.Topic]:
					op.ErrorCode = int16(authzTxnCommitTopic.Error)
				case !partitionExists(md, rt.Topic, rp.Partition):
					op.ErrorCode = int16(protocol.UnknownTopicOrPartition)
				}
				ot.Partitions = append(ot.Partitions, op)
			}
			out.Topics = append(out.Topics, ot)
		}
		resp.complete(out)
	}
	if whole != protocol.None {
		answer(whole)
		return
	}
	now := time.Now().UnixMilli()
	offsets := grp.PartitionOffsets{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			if !refused[rt.Topic] && partitionExists(md, rt.Topic, rp.Partition) {
				co := grp.Offset{Offset: rp.Offset, LeaderEpoch: rp.LeaderEpoch, CommitTime: now}
				if rp.Metadata != nil {
					co.Metadata = *rp.Metadata
				}
				offsets[klog.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}] = co
			}
		}
	}
	if len(offsets) == 0 {
		answer(protocol.None)
		return
	}
	if req.Group == "" {
		answer(protocol.InvalidGroupID)
		return
	}
	p, err := b.groups.serving(req.Group)
	var guard uint64
	if err == nil {
		// Not under gc.mu: this may ask the transaction coordinator.
		guard, err = b.groups.w.VerifyTxn(p, req.TransactionalID, req.ProducerID, req.ProducerEpoch)
	}
	if err != nil {
		answer(protocol.Code(err))
		return
	}
	gc := b.groups
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if code := gc.checkTxnCommitLocked(req); code != protocol.None {
		answer(code)
		return
	}
	build := func(kvs []protocol.KV) []byte {
		return protocol.BuildTransactionalBatch(now, req.ProducerID, req.ProducerEpoch, kvs)
	}
	keep := func(tp klog.TopicPartition, co grp.Offset) { gc.StorePending(req.Group, req.ProducerID, tp, co) }
	gc.commitLocked(p, req.Group, offsets, build, guard, keep, answer)
}

// checkTxnCommitLocked applies Kafka's rules to a transactional commit
// (ClassicGroup.validateOffsetCommit): an unknown group takes one without
// a generation; an empty group takes one with generation -1; a member id,
// instance id or generation given must match the group. Unlike a plain
// commit, one without any of them is taken from a group with members, and
// the group's rebalance state does not matter.
func (gc *groupCoordinator) checkTxnCommitLocked(req *kmsg.TxnOffsetCommitRequest) protocol.ErrorCode {
	g := gc.groups[req.Group]
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

// completeTxn applies a transaction marker that has been written to the
// offsets partition pid with acks=all (the WriteTxnMarkers handler calls
// it): the producer's pending offsets of the groups there become
// committed offsets, or are dropped on abort. A partition still loading
// has none; its load reads the marker from the log.
func (gc *groupCoordinator) completeTxn(pid int32, producerID int64, commit bool) {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	n := gc.partitionCount()
	gc.EndTxn(producerID, commit, func(group string) bool { return grp.PartitionFor(group, n) == pid })
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
