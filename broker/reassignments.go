package broker

import (
	"cmp"
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// AlterPartitionReassignments and ListPartitionReassignments
// (kafka-reassign-partitions.sh): the controller moves partitions to new
// replicas, which copy the log as followers before the old ones leave.

func handleAlterPartitionReassignments(b *Broker, c *conn, req *kmsg.AlterPartitionAssignmentsRequest) *kmsg.AlterPartitionAssignmentsResponse {
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	if !c.may(authzAlterReassign, "") {
		resp.ErrorCode = int16(authzAlterReassign.Error)
		return resp
	}
	var rs []coordinator.Reassignment
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			rs = append(rs, coordinator.Reassignment{Topic: t.Topic, Partition: p.Partition, Target: p.Replicas})
		}
	}
	ctx, cancel := context.WithTimeout(b.ctx, requestTimeout(req.TimeoutMillis))
	defer cancel()
	results, err := b.coord.AlterReassignments(ctx, rs)
	if err != nil {
		resp.ErrorCode = int16(protocol.Code(err))
		msg := err.Error()
		resp.ErrorMessage = &msg
		return resp
	}
	b.replicas.Reconcile(b.coord.Metadata())
	for _, r := range results {
		i := slices.IndexFunc(resp.Topics, func(t kmsg.AlterPartitionAssignmentsResponseTopic) bool { return t.Topic == r.Topic })
		if i < 0 {
			resp.Topics = append(resp.Topics, kmsg.AlterPartitionAssignmentsResponseTopic{Topic: r.Topic})
			i = len(resp.Topics) - 1
		}
		op := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
		op.Partition, op.ErrorCode = r.Partition, r.Code
		if r.Msg != "" {
			msg := r.Msg
			op.ErrorMessage = &msg
		}
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, op)
	}
	return resp
}

func handleListPartitionReassignments(b *Broker, c *conn, req *kmsg.ListPartitionReassignmentsRequest) *kmsg.ListPartitionReassignmentsResponse {
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if !c.may(authzListReassignments, "") {
		resp.ErrorCode = int16(authzListReassignments.Error)
		return resp
	}
	b.metadataBarrier()
	md := b.coord.Metadata()
	wanted := func(ref coordinator.PartitionRef) bool {
		if req.Topics == nil {
			return true
		}
		return slices.ContainsFunc(req.Topics, func(t kmsg.ListPartitionReassignmentsRequestTopic) bool {
			return t.Topic == ref.Topic && slices.Contains(t.Partitions, ref.Partition)
		})
	}
	refs := md.Reassigning()
	slices.SortFunc(refs, func(a, b coordinator.PartitionRef) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	for _, ref := range refs {
		if !wanted(ref) {
			continue
		}
		p := md.Topic(ref.Topic).Partitions[ref.Partition]
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != ref.Topic {
			resp.Topics = append(resp.Topics, kmsg.ListPartitionReassignmentsResponseTopic{Topic: ref.Topic})
		}
		t := &resp.Topics[len(resp.Topics)-1]
		t.Partitions = append(t.Partitions, kmsg.ListPartitionReassignmentsResponseTopicPartition{
			Partition: p.ID, Replicas: p.Replicas, AddingReplicas: p.Adding, RemovingReplicas: p.Removing})
	}
	return resp
}
