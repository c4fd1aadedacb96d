package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// handleDescribeProducers lists the idempotent and transactional producers
// of each asked partition this broker leads (kafka-transactions.sh
// describe-producers): id, epoch, last sequence, the timestamp of its last
// batch, the coordinator epoch of its last marker and where its open
// transaction starts (-1 for none).
func handleDescribeProducers(b *Broker, c *conn, req *kmsg.DescribeProducersRequest) *kmsg.DescribeProducersResponse {
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	md := b.coord.Metadata()
	for _, rt := range req.Topics {
		ot := kmsg.NewDescribeProducersResponseTopic()
		ot.Topic = rt.Topic
		refusal := c.check(authzDescribeProducers, rt.Topic)
		for _, pid := range rt.Partitions {
			op := kmsg.NewDescribeProducersResponseTopicPartition()
			op.Partition = pid
			p, err := b.localIfAllowed(refusal, md, rt.Topic, pid)
			if err == nil && !p.IsLeader() {
				err = protocol.Errorf(protocol.NotLeaderOrFollower, "broker %d does not lead %s-%d", b.cfg.NodeID, rt.Topic, pid)
			}
			if err != nil {
				op.ErrorCode = int16(protocol.Code(err))
				ot.Partitions = append(ot.Partitions, op)
				continue
			}
			for _, pr := range p.Log().Producers() {
				ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
				ap.ProducerID, ap.ProducerEpoch, ap.LastSequence, ap.LastTimestamp = pr.ID, int32(pr.Epoch), pr.LastSequence, pr.LastTimestamp
				ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = pr.CoordinatorEpoch, pr.CurrentTxnStartOffset
				op.ActiveProducers = append(op.ActiveProducers, ap)
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		resp.Topics = append(resp.Topics, ot)
	}
	return resp
}
