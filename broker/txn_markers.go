package broker

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/clock"
	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/replica"
)

// markerAckTimeout bounds the wait for a marker's replication, Kafka's
// request.timeout.ms default; the coordinator retries what times out.
const markerAckTimeout = 30 * time.Second

// WriteTxnMarkers v1, from transaction coordinators to partition leaders.
//
// Behavior:
//   - ClusterAction on the cluster, else CLUSTER_AUTHORIZATION_FAILED for
//     every partition.
//   - Each marker is written to each of its partitions this broker leads as
//     a control batch (protocol.EndTxnMarker) with the coordinator's
//     origin, then waited for as acks=all: the answer comes once the high
//     watermark passes it. The log refuses a marker of an older producer
//     epoch (INVALID_PRODUCER_EPOCH) or coordinator epoch
//     (TRANSACTION_COORDINATOR_FENCED).
//   - A partition of __consumer_offsets then hands the outcome to the group
//     coordinator, which makes the transaction's offsets visible or drops
//     them.
func handleWriteTxnMarkers(b *Broker, c *conn, req *kmsg.WriteTxnMarkersRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	allowed := c.may(authzWriteTxnMarkers, "")
	md := b.coord.Metadata()
	now := clock.Now().UnixMilli()
	var waits []ackWait
	var completions []func()
	out.Markers = make([]kmsg.WriteTxnMarkersResponseMarker, len(req.Markers))
	for i, rm := range req.Markers {
		om := &out.Markers[i]
		*om = kmsg.NewWriteTxnMarkersResponseMarker()
		om.ProducerID = rm.ProducerID
		marker := protocol.EndTxnMarker(rm.ProducerID, rm.ProducerEpoch, rm.Committed, rm.CoordinatorEpoch, now)
		om.Topics = make([]kmsg.WriteTxnMarkersResponseMarkerTopic, len(rm.Topics))
		for j, rt := range rm.Topics {
			ot := &om.Topics[j]
			*ot = kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			ot.Topic = rt.Topic
			ot.Partitions = make([]kmsg.WriteTxnMarkersResponseMarkerTopicPartition, len(rt.Partitions))
			for k, part := range rt.Partitions {
				op := &ot.Partitions[k]
				*op = kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				op.Partition = part
				if !allowed {
					op.ErrorCode = int16(authzWriteTxnMarkers.Error)
					continue
				}
				p, res, err := b.writeMarker(md, rt.Topic, part, marker)
				if err != nil {
					op.ErrorCode = int16(protocol.Code(err))
					continue
				}
				// The wait records its outcome in a produce answer, as
				// every acks=all wait does.
				ack := &kmsg.ProduceResponseTopicPartition{}
				waits = append(waits, ackWait{p: p, offset: res.LastOffset + 1, out: ack})
				pid, commit := rm.ProducerID, rm.Committed
				completions = append(completions, func() {
					if op.ErrorCode = ack.ErrorCode; op.ErrorCode == 0 && rt.Topic == offsetsTopic {
						b.groups.CompleteTxn(part, pid, commit)
					}
				})
			}
		}
	}
	b.awaitAcks(waits, markerAckTimeout, func() {
		for _, complete := range completions {
			complete()
		}
		resp.complete(out)
	})
}

// writeMarker appends one marker to a partition this broker leads.
func (b *Broker) writeMarker(md *coordinator.Metadata, topic string, part int32, marker []byte) (*replica.Partition, klog.AppendResult, error) {
	p, err := b.replicas.Local(md, topic, part)
	if err != nil {
		return nil, klog.AppendResult{}, err
	}
	res, err := p.AppendLeader(marker, -1, klog.AppendOptions{Origin: klog.OriginCoordinator})
	if err != nil && !errors.As(err, new(*protocol.Error)) {
		b.log.Error("transaction marker append failed", "topic", topic, "partition", part, "err", err)
		err = protocol.Errorf(protocol.KafkaStorageError, "%s-%d: %v", topic, part, err)
	}
	return p, res, err
}
