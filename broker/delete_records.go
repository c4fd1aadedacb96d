package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// handleDeleteRecords moves each partition's log start offset up to the
// offset asked (-1: the high watermark), on its leader; followers follow
// from the log start offset in their fetch responses. The answer's low
// watermark is the leader's new log start offset.
func handleDeleteRecords(b *Broker, c *conn, req *kmsg.DeleteRecordsRequest) *kmsg.DeleteRecordsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	md := b.coord.Metadata()
	for _, rt := range req.Topics {
		ot := kmsg.NewDeleteRecordsResponseTopic()
		ot.Topic = rt.Topic
		refusal := c.check(authzDeleteRecords, rt.Topic)
		for _, rp := range rt.Partitions {
			op := kmsg.NewDeleteRecordsResponseTopicPartition()
			op.Partition, op.LowWatermark = rp.Partition, -1
			start, err := int64(-1), refusal
			if err == nil {
				start, err = b.deleteRecords(md, rt.Topic, rp.Partition, rp.Offset)
			}
			if err != nil {
				op.ErrorCode = int16(protocol.Code(err))
			} else {
				op.LowWatermark = start
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		resp.Topics = append(resp.Topics, ot)
	}
	return resp
}

func (b *Broker) deleteRecords(md *coordinator.Metadata, topic string, partition int32, offset int64) (int64, error) {
	if protocol.IsInternalTopic(topic) { // as Kafka's deleteRecordsOnLocalLog
		return -1, protocol.Errorf(protocol.InvalidTopicException, "Cannot delete records of internal topic %s", topic)
	}
	p, err := b.replicas.Local(md, topic, partition)
	if err != nil {
		return -1, err
	}
	if !p.IsLeader() {
		return -1, protocol.Errorf(protocol.NotLeaderOrFollower, "broker %d does not lead %s-%d", b.cfg.NodeID, topic, partition)
	}
	hw := p.HighWatermark()
	switch {
	case offset == -1:
		offset = hw
	case offset < 0 || offset > hw:
		return -1, protocol.Errorf(protocol.OffsetOutOfRange, "%s-%d: offset %d is outside [0, %d]", topic, partition, offset, hw)
	}
	return p.Log().IncrementLogStartOffset(offset)
}
