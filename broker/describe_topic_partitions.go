package broker

import (
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// DescribeTopicPartitions v0 (KIP-966), what Kafka 4's kafka-topics
// --describe asks for.
//
// Behavior:
//   - No topics describes every topic; the topics are answered in name
//     order, from the cursor's topic and partition when there is one.
//   - At most min(ResponsePartitionLimit, 2000) partitions are answered
//     (Kafka's max.request.partition.size.limit); NextCursor names the
//     first partition left out.
//   - A topic the principal may not Describe is left out when every topic
//     is asked for, and answered TOPIC_AUTHORIZATION_FAILED when named.
//   - A named topic that does not exist is answered
//     UNKNOWN_TOPIC_OR_PARTITION with no partitions; a name repeated is
//     answered once.
//   - Deliberate difference: as for Metadata, a request naming more than
//     maxMetadataTopics topics closes the connection before it is decoded
//     (checkTopicCount).
//   - Deliberate difference: gokafka has no eligible leader replicas, so
//     both ELR lists are always empty.

// maxDescribedPartitions is Kafka's max.request.partition.size.limit.
const maxDescribedPartitions = 2000

func handleDescribeTopicPartitions(b *Broker, c *conn, req *kmsg.DescribeTopicPartitionsRequest) *kmsg.DescribeTopicPartitionsResponse {
	return describeTopicPartitions(b.coord.Metadata(), req, func(name string) bool { return c.may(authzTopicPartitions, name) })
}

func describeTopicPartitions(md *coordinator.Metadata, req *kmsg.DescribeTopicPartitionsRequest, describable func(string) bool) *kmsg.DescribeTopicPartitionsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	names := describedTopicNames(md, req)
	budget := min(int(req.ResponsePartitionLimit), maxDescribedPartitions)
	budget = max(budget, 1)
	for _, name := range names {
		from := int32(0)
		if req.Cursor != nil && name == req.Cursor.Topic {
			from = max(req.Cursor.Partition, 0)
		}
		if !describable(name) {
			if len(req.Topics) > 0 {
				resp.Topics = append(resp.Topics, failedDescribedTopic(name, authzTopicPartitions.Error))
			}
			continue
		}
		t := md.Topic(name)
		if t == nil {
			resp.Topics = append(resp.Topics, failedDescribedTopic(name, protocol.UnknownTopicOrPartition))
			continue
		}
		if budget == 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: from}
			break
		}
		dt, next := describedTopic(md, t, from, budget)
		budget -= len(dt.Partitions)
		resp.Topics = append(resp.Topics, dt)
		if next >= 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: next}
			break
		}
	}
	return resp
}

// describedTopicNames returns the topics to describe in name order, none
// before the cursor's topic.
func describedTopicNames(md *coordinator.Metadata, req *kmsg.DescribeTopicPartitionsRequest) []string {
	var names []string
	if len(req.Topics) == 0 {
		for name := range md.Topics.All() {
			names = append(names, name)
		}
	} else {
		for _, rt := range req.Topics {
			names = append(names, rt.Topic)
		}
	}
	sort.Strings(names)
	names = slices.Compact(names)
	if req.Cursor != nil {
		i, _ := slices.BinarySearch(names, req.Cursor.Topic)
		names = names[i:]
	}
	return names
}

func failedDescribedTopic(name string, code protocol.ErrorCode) kmsg.DescribeTopicPartitionsResponseTopic {
	dt := kmsg.NewDescribeTopicPartitionsResponseTopic()
	dt.Topic, dt.ErrorCode = kmsg.StringPtr(name), int16(code)
	return dt
}

// describedTopic answers up to budget partitions of t from partition from,
// as Metadata describes them, and returns the first partition left out
// (-1 when none is).
func describedTopic(md *coordinator.Metadata, t *coordinator.Topic, from int32, budget int) (kmsg.DescribeTopicPartitionsResponseTopic, int32) {
	mt := topicMetadata(md, t)
	dt := kmsg.NewDescribeTopicPartitionsResponseTopic()
	dt.Topic, dt.TopicID, dt.IsInternal = mt.Topic, mt.TopicID, mt.IsInternal
	for _, mp := range mt.Partitions {
		if mp.Partition < from {
			continue
		}
		if len(dt.Partitions) == budget {
			return dt, mp.Partition
		}
		dp := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
		dp.ErrorCode, dp.Partition, dp.LeaderID, dp.LeaderEpoch = mp.ErrorCode, mp.Partition, mp.Leader, mp.LeaderEpoch
		dp.Replicas, dp.ISR, dp.OfflineReplicas = mp.Replicas, mp.ISR, mp.OfflineReplicas
		dp.EligibleLeaderReplicas, dp.LastKnownELR = []int32{}, []int32{}
		dt.Partitions = append(dt.Partitions, dp)
	}
	return dt, -1
}
