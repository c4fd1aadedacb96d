package coordinator

import (
	"slices"

	"github.com/gokafka/gokafka/protocol"
)

// AlterPartition is a leader's request to change the ISR of one partition,
// stamped with the leader and partition epochs it saw (KIP-497).
type AlterPartition struct {
	Topic          string
	Partition      int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
}

// alterPartition checks the request against the current state the way
// KRaft does: only the current leader, in its current epoch, may change the
// ISR; the ISR must hold the leader, only replicas, and no fenced broker
// that is not already in it.
func (c *Coordinator) alterPartition(a AlterPartition) rpcResponse {
	return respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		t := md.Topics[a.Topic]
		if t == nil || a.Partition < 0 || int(a.Partition) >= len(t.Partitions) {
			return nil, protocol.Errorf(protocol.UnknownTopicOrPartition, "%s-%d does not exist", a.Topic, a.Partition)
		}
		p := t.Partitions[a.Partition]
		switch {
		case p.Leader != a.Leader:
			return nil, protocol.Errorf(protocol.NotLeaderOrFollower, "%s-%d: broker %d is not the leader (%d is)", a.Topic, a.Partition, a.Leader, p.Leader)
		case p.LeaderEpoch != a.LeaderEpoch:
			return nil, protocol.Errorf(protocol.FencedLeaderEpoch, "%s-%d: leader epoch %d, current is %d", a.Topic, a.Partition, a.LeaderEpoch, p.LeaderEpoch)
		case p.PartitionEpoch != a.PartitionEpoch:
			return nil, protocol.Errorf(protocol.InvalidUpdateVersion, "%s-%d: partition epoch %d, current is %d", a.Topic, a.Partition, a.PartitionEpoch, p.PartitionEpoch)
		case !slices.Contains(a.ISR, a.Leader):
			return nil, protocol.Errorf(protocol.InvalidRequest, "%s-%d: the ISR %v must include the leader %d", a.Topic, a.Partition, a.ISR, a.Leader)
		}
		for _, r := range a.ISR {
			if !slices.Contains(p.Replicas, r) {
				return nil, protocol.Errorf(protocol.InvalidRequest, "%s-%d: %d is not a replica", a.Topic, a.Partition, r)
			}
			if !slices.Contains(p.ISR, r) && !md.usable(r) {
				return nil, protocol.Errorf(protocol.IneligibleReplica, "%s-%d: broker %d is fenced or shutting down", a.Topic, a.Partition, r)
			}
		}
		c.log.Info("ISR change", "topic", a.Topic, "partition", a.Partition, "from", p.ISR, "to", a.ISR)
		return &command{Op: opAlterPartition, Alter: &a}, nil
	}))
}
