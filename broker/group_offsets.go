package broker

import (
	"maps"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/clock"
	"github.com/gokafka/gokafka/coordinator"
	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// OffsetCommit, versions 2-10, and OffsetFetch, versions 1-10: a group's
// committed offsets.
//
// Behavior:
//   - OffsetCommit v10 and OffsetFetch v10 name topics by id alone
//     (KIP-848): ids are resolved against the metadata image, and a zero
//     id or one it does not hold answers UNKNOWN_TOPIC_ID for each of its
//     partitions, before any authorization, since there is no name to
//     authorize; answers carry the ids asked with.
//   - As Kafka's KafkaApis does, partitions the metadata does not hold get
//     UNKNOWN_TOPIC_OR_PARTITION and nothing is stored for them; the rest
//     are committed.
//   - OffsetFetch v10 of all topics leaves out committed topics that have
//     no id any longer (deleted).

// commits reads the offsets of a commit request as Kafka stores them: the
// commit time is now, and a v2-v4 request's retention time fixes when the
// offset expires.
func commits(req *kmsg.OffsetCommitRequest, now int64) map[klog.TopicPartition]grp.Offset {
	out := map[klog.TopicPartition]grp.Offset{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			co := grp.Offset{Offset: rp.Offset, LeaderEpoch: rp.LeaderEpoch, CommitTime: now}
			if rp.Metadata != nil {
				co.Metadata = *rp.Metadata
			}
			if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis != -1 {
				co.ExpireTime = now + req.RetentionTimeMillis
			}
			out[klog.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}] = co
		}
	}
	return out
}

func handleOffsetCommit(b *Broker, c *conn, req *kmsg.OffsetCommitRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	md := b.coord.Metadata()
	byID := req.Version >= 10
	if byID {
		for i := range req.Topics {
			req.Topics[i].Topic = topicNameByID(md, req.Topics[i].TopicID)
		}
	}
	// Read on the group, then on each topic: a refused topic is neither
	// looked up nor stored.
	groupRefused := !c.may(authzCommitGroup, req.Group)
	refused := refusedTopics(c, authzCommitTopic, req.Topics, func(t kmsg.OffsetCommitRequestTopic) string { return t.Topic })
	answer := func(code protocol.ErrorCode) {
		out.Topics = out.Topics[:0]
		for _, rt := range req.Topics {
			ot := kmsg.NewOffsetCommitResponseTopic()
			ot.Topic, ot.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				op := kmsg.NewOffsetCommitResponseTopicPartition()
				op.Partition, op.ErrorCode = rp.Partition, int16(code)
				if !groupRefused {
					if why := commitRefusal(md, byID, rt.Topic, rp.Partition, refused, authzCommitTopic.Error); why != protocol.None {
						op.ErrorCode = int16(why)
					}
				}
				ot.Partitions = append(ot.Partitions, op)
			}
			out.Topics = append(out.Topics, ot)
		}
		resp.complete(out)
	}
	if groupRefused {
		answer(authzCommitGroup.Error)
		return
	}
	offsets := commits(req, clock.Now().UnixMilli())
	maps.DeleteFunc(offsets, func(tp klog.TopicPartition, _ grp.Offset) bool {
		return commitRefusal(md, byID, tp.Topic, tp.Partition, refused, authzCommitTopic.Error) != protocol.None
	})
	if len(offsets) == 0 {
		answer(protocol.None)
		return
	}
	b.groups.CommitOffsets(req, offsets, answer)
}

// topicNameByID is the name of the topic with id in md, or "" (which no
// topic has) for a zero id or one md does not hold.
func topicNameByID(md *coordinator.Metadata, id [16]byte) string {
	if t := md.TopicByID(id); t != nil && id != ([16]byte{}) {
		return t.Name
	}
	return ""
}

// commitRefusal is why a commit's partition is answered before the group
// coordinator sees it, or None: in a request by topic id (byID) a topic
// with no name is an unknown id; then a topic refused (denied is its
// error); then a partition the metadata does not hold.
func commitRefusal(md *coordinator.Metadata, byID bool, topic string, partition int32, refused map[string]bool, denied protocol.ErrorCode) protocol.ErrorCode {
	switch {
	case byID && topic == "":
		return protocol.UnknownTopicID
	case refused[topic]:
		return denied
	case !md.HasPartition(topic, partition):
		return protocol.UnknownTopicOrPartition
	}
	return protocol.None
}

func handleOffsetFetch(b *Broker, c *conn, req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version < 8 {
		var topics []kmsg.OffsetFetchRequestGroupTopic
		for _, t := range req.Topics {
			topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
		g := c.fetchOffsets(req.Group, topics, req.Topics == nil, req.RequireStable)
		resp.ErrorCode = g.ErrorCode
		for _, t := range g.Topics {
			ot := kmsg.NewOffsetFetchResponseTopic()
			ot.Topic = t.Topic
			for _, p := range t.Partitions {
				op := kmsg.NewOffsetFetchResponseTopicPartition()
				op.Partition, op.Offset, op.LeaderEpoch, op.Metadata, op.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
				ot.Partitions = append(ot.Partitions, op)
			}
			resp.Topics = append(resp.Topics, ot)
		}
		return resp
	}
	if req.Version < 10 {
		for _, rg := range req.Groups {
			resp.Groups = append(resp.Groups, c.fetchOffsets(rg.Group, rg.Topics, rg.Topics == nil, req.RequireStable))
		}
		return resp
	}
	md := b.coord.Metadata()
	for _, rg := range req.Groups {
		named, unknown := topicsByID(md, rg.Topics)
		g := c.fetchOffsets(rg.Group, named, rg.Topics == nil, req.RequireStable)
		if g.ErrorCode == 0 {
			g.Topics = append(withTopicIDs(md, g.Topics), unknown...)
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

// topicsByID names the topics of an OffsetFetch v10 group from their ids:
// those md holds are asked of the group coordinator by name, the others
// are answered UNKNOWN_TOPIC_ID, each of their partitions with no offset.
func topicsByID(md *coordinator.Metadata, topics []kmsg.OffsetFetchRequestGroupTopic) (named []kmsg.OffsetFetchRequestGroupTopic, unknown []kmsg.OffsetFetchResponseGroupTopic) {
	for _, rt := range topics {
		if rt.Topic = topicNameByID(md, rt.TopicID); rt.Topic != "" {
			named = append(named, rt)
			continue
		}
		ot := kmsg.NewOffsetFetchResponseGroupTopic()
		ot.TopicID = rt.TopicID
		for _, p := range rt.Partitions {
			op := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			op.Partition, op.Offset, op.LeaderEpoch, op.Metadata, op.ErrorCode = p, -1, -1, kmsg.StringPtr(""), int16(protocol.UnknownTopicID)
			ot.Partitions = append(ot.Partitions, op)
		}
		unknown = append(unknown, ot)
	}
	return named, unknown
}

// withTopicIDs gives each topic of an OffsetFetch answer its id, which is
// all v10 shows of it, and leaves out those md no longer holds: a fetch of
// all topics finds the offsets of deleted topics too.
func withTopicIDs(md *coordinator.Metadata, topics []kmsg.OffsetFetchResponseGroupTopic) []kmsg.OffsetFetchResponseGroupTopic {
	kept := topics[:0]
	for _, t := range topics {
		if mt := md.Topic(t.Topic); mt != nil {
			t.TopicID = mt.ID
			kept = append(kept, t)
		}
	}
	return kept
}

// fetchOffsets is groups.fetch behind Describe on the group and on each
// topic: a refused topic is left out when all are asked for, and answered
// TOPIC_AUTHORIZATION_FAILED with no offset when named, as in Kafka.
func (c *conn) fetchOffsets(group string, topics []kmsg.OffsetFetchRequestGroupTopic, all, requireStable bool) kmsg.OffsetFetchResponseGroup {
	if !c.may(authzOffsetFetchGroup, group) {
		out := kmsg.NewOffsetFetchResponseGroup()
		out.Group, out.ErrorCode = group, int16(authzOffsetFetchGroup.Error)
		return out
	}
	out := c.b.groups.FetchOffsets(group, topics, all, requireStable)
	kept := out.Topics[:0]
	for _, t := range out.Topics {
		switch {
		case c.may(authzOffsetFetchTopic, t.Topic):
		case all:
			continue
		default:
			for i := range t.Partitions {
				p := &t.Partitions[i]
				p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode = -1, -1, kmsg.StringPtr(""), int16(authzOffsetFetchTopic.Error)
			}
		}
		kept = append(kept, t)
	}
	out.Topics = kept
	return out
}
