package broker

import (
	"maps"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/clock"
	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

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

// handleOffsetCommit stores a group's offsets. As Kafka's KafkaApis does,
// partitions the metadata does not hold get UNKNOWN_TOPIC_OR_PARTITION and
// nothing is stored for them; the rest are committed.
func handleOffsetCommit(b *Broker, c *conn, req *kmsg.OffsetCommitRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	md := b.coord.Metadata()
	// Read on the group, then on each topic: a refused topic is neither
	// looked up nor stored.
	groupRefused := !c.may(authzCommitGroup, req.Group)
	refused := refusedTopics(c, authzCommitTopic, req.Topics, func(t kmsg.OffsetCommitRequestTopic) string { return t.Topic })
	answer := func(code protocol.ErrorCode) {
		out.Topics = out.Topics[:0]
		for _, rt := range req.Topics {
			ot := kmsg.NewOffsetCommitResponseTopic()
			ot.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				op := kmsg.NewOffsetCommitResponseTopicPartition()
				op.Partition, op.ErrorCode = rp.Partition, int16(code)
				switch {
				case groupRefused:
				case refused[rt.Topic]:
					op.ErrorCode = int16(authzCommitTopic.Error)
				case !partitionExists(md, rt.Topic, rp.Partition):
					op.ErrorCode = int16(protocol.UnknownTopicOrPartition)
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
		return refused[tp.Topic] || !partitionExists(md, tp.Topic, tp.Partition)
	})
	if len(offsets) == 0 {
		answer(protocol.None)
		return
	}
	b.groups.CommitOffsets(req, offsets, answer)
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
	for _, rg := range req.Groups {
		resp.Groups = append(resp.Groups, c.fetchOffsets(rg.Group, rg.Topics, rg.Topics == nil, req.RequireStable))
	}
	return resp
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
