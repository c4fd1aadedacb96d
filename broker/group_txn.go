package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/clock"
	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// TxnOffsetCommit, versions 0-6: a transactional producer's offsets for a
// consumer group (consume-transform-produce), committed with its
// transaction.
//
// Behavior:
//   - v6 names topics by id alone (KIP-1319), resolved as OffsetCommit
//     v10's are: a zero or unknown id answers UNKNOWN_TOPIC_ID first.
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
	byID := req.Version >= 6
	if byID {
		for i := range req.Topics {
			req.Topics[i].Topic = topicNameByID(md, req.Topics[i].TopicID)
		}
	}
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
			ot.Topic, ot.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				op := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				op.Partition, op.ErrorCode = rp.Partition, int16(code)
				if whole == protocol.None {
					if why := commitRefusal(md, byID, rt.Topic, rp.Partition, refused, authzTxnCommitTopic.Error); why != protocol.None {
						op.ErrorCode = int16(why)
					}
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
	now := clock.Now().UnixMilli()
	offsets := grp.PartitionOffsets{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			if commitRefusal(md, byID, rt.Topic, rp.Partition, refused, authzTxnCommitTopic.Error) == protocol.None {
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
	b.groups.CommitTxnOffsets(req, offsets, answer)
}
