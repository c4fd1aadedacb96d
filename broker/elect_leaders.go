package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// handleElectLeaders runs kafka-leader-election.sh's request on the
// controller: preferred (type 0) or unclean (type 1) elections, for the
// partitions listed or all of them.
func handleElectLeaders(b *Broker, c *conn, req *kmsg.ElectLeadersRequest) *kmsg.ElectLeadersResponse {
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	var refs []coordinator.PartitionRef
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			refs = append(refs, coordinator.PartitionRef{Topic: t.Topic, Partition: p})
		}
	}
	if !c.may(authzElectLeaders, "") {
		// Kafka answers every partition asked, and the top level (v1+).
		resp.ErrorCode = int16(authzElectLeaders.Error)
		for _, t := range req.Topics {
			rt := kmsg.ElectLeadersResponseTopic{Topic: t.Topic}
			for _, p := range t.Partitions {
				op := kmsg.NewElectLeadersResponseTopicPartition()
				op.Partition, op.ErrorCode = p, int16(authzElectLeaders.Error)
				rt.Partitions = append(rt.Partitions, op)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	if req.ElectionType != 0 && req.ElectionType != 1 {
		resp.ErrorCode = int16(protocol.InvalidRequest)
		return resp
	}
	ctx, cancel := context.WithTimeout(b.ctx, requestTimeout(req.TimeoutMillis))
	defer cancel()
	results, err := b.coord.ElectLeaders(ctx, refs, req.ElectionType == 1)
	if err != nil {
		resp.ErrorCode = int16(protocol.Code(err))
		return resp
	}
	b.replicas.Reconcile(b.coord.Metadata())
	byTopic := map[string]int{}
	for _, r := range results {
		i, ok := byTopic[r.Topic]
		if !ok {
			i = len(resp.Topics)
			byTopic[r.Topic] = i
			resp.Topics = append(resp.Topics, kmsg.ElectLeadersResponseTopic{Topic: r.Topic})
		}
		op := kmsg.NewElectLeadersResponseTopicPartition()
		op.Partition, op.ErrorCode = r.Partition, r.Code
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, op)
	}
	return resp
}
