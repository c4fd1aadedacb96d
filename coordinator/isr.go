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

// alterPartitions checks each requested ISR change against the current
// state the way KRaft does, and commits those that pass as one command:
// a leader's batch costs one Raft entry, whatever its size (Kafka's
// AlterPartitionManager sends every pending change in one request). The
// command is proposed without waiting for those before it to commit; the
// state machine checks each change again and leaves out, as stale, one
// whose partition changed meanwhile. The answer carries each partition's
// outcome, in request order.
func (c *Coordinator) alterPartitions(alters []AlterPartition) rpcResponse {
	results := make([]PartitionResult, len(alters))
	var accepted []int // positions in alters of the changes proposed
	refused := 0
	res, err := c.ctrl.doPipelined(func(md *Metadata) (*command, error) {
		var proposed []AlterPartition
		seen := make(map[PartitionRef]bool, len(alters))
		for i, a := range alters {
			ref := PartitionRef{a.Topic, a.Partition}
			results[i] = PartitionResult{Topic: a.Topic, Partition: a.Partition}
			err := checkAlter(md, a)
			if err == nil && seen[ref] {
				err = protocol.Errorf(protocol.InvalidRequest, "%s-%d: named twice in one request", a.Topic, a.Partition)
			}
			seen[ref] = true
			if err != nil {
				results[i].Code, results[i].Msg = int16(protocol.Code(err)), err.Error()
				refused++
				continue
			}
			p := md.Topic(a.Topic).Partitions[a.Partition]
			c.log.Debug("ISR change", "topic", a.Topic, "partition", a.Partition, "from", p.ISR, "to", a.ISR)
			proposed, accepted = append(proposed, a), append(accepted, i)
		}
		if len(proposed) == 0 {
			return nil, nil
		}
		return &command{Op: opAlterPartition, Alters: proposed}, nil
	})
	for _, j := range res.Stale {
		if j >= 0 && j < len(accepted) {
			results[accepted[j]].Code = int16(protocol.InvalidUpdateVersion)
			results[accepted[j]].Msg = "the partition changed while the ISR change was committed"
		}
	}
	if len(alters) > 0 {
		// One line per request: a returning broker's thousands of joins
		// written a line each cost the controller more than deciding them.
		c.log.Info("ISR changes", "broker", alters[0].Leader, "asked", len(alters), "proposed", len(accepted),
			"refused", refused, "stale", len(res.Stale), "err", err)
	}
	r := respond(res, err)
	if err == nil {
		r.Partitions = results
	}
	return r
}

// checkAlter admits one ISR change as KRaft does: only the current leader,
// in its current epoch, may change the ISR; the ISR must hold the leader,
// only replicas, and no fenced broker that is not already in it.
func checkAlter(md *Metadata, a AlterPartition) error {
	t := md.Topic(a.Topic)
	if t == nil || a.Partition < 0 || int(a.Partition) >= len(t.Partitions) {
		return protocol.Errorf(protocol.UnknownTopicOrPartition, "%s-%d does not exist", a.Topic, a.Partition)
	}
	p := t.Partitions[a.Partition]
	switch {
	case p.Leader != a.Leader:
		return protocol.Errorf(protocol.NotLeaderOrFollower, "%s-%d: broker %d is not the leader (%d is)", a.Topic, a.Partition, a.Leader, p.Leader)
	case p.LeaderEpoch != a.LeaderEpoch:
		return protocol.Errorf(protocol.FencedLeaderEpoch, "%s-%d: leader epoch %d, current is %d", a.Topic, a.Partition, a.LeaderEpoch, p.LeaderEpoch)
	case p.PartitionEpoch != a.PartitionEpoch:
		return protocol.Errorf(protocol.InvalidUpdateVersion, "%s-%d: partition epoch %d, current is %d", a.Topic, a.Partition, a.PartitionEpoch, p.PartitionEpoch)
	case !slices.Contains(a.ISR, a.Leader):
		return protocol.Errorf(protocol.InvalidRequest, "%s-%d: the ISR %v must include the leader %d", a.Topic, a.Partition, a.ISR, a.Leader)
	}
	for i, r := range a.ISR {
		if slices.Index(a.ISR, r) != i {
			return protocol.Errorf(protocol.InvalidRequest, "%s-%d: broker %d is in the ISR %v twice", a.Topic, a.Partition, r, a.ISR)
		}
		if !slices.Contains(p.Replicas, r) {
			return protocol.Errorf(protocol.InvalidRequest, "%s-%d: %d is not a replica", a.Topic, a.Partition, r)
		}
		if !slices.Contains(p.ISR, r) && !md.usable(r) {
			return protocol.Errorf(protocol.IneligibleReplica, "%s-%d: broker %d is fenced or shutting down", a.Topic, a.Partition, r)
		}
	}
	return nil
}
