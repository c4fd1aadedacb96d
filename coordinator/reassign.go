package coordinator

import (
	"context"
	"slices"

	"github.com/gokafka/gokafka/protocol"
)

// Partition reassignment (AlterPartitionReassignments, KIP-455), as KRaft
// does it: the target replicas join the partition and copy its log as
// followers; once every one of them is in the ISR, the replicas that are
// not in the target leave, and leadership moves if its holder leaves.
// The controller decides both steps, the second within the ISR change
// that completes the copy, so no record the ISR acknowledged is ever held
// by fewer replicas than before; its commands carry the replicas, ISR and
// leader that follow (changes.go). reassign and completeReassignment are
// how it decides them, and how commands of version 0 still apply.

// Reassignment moves one partition to Target; a nil Target cancels the
// reassignment under way.
type Reassignment struct {
	Topic     string
	Partition int32
	Target    []int32 `json:",omitempty"`
}

// AlterReassignments starts or cancels reassignments; each gets Kafka's
// outcome (INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS,
// UNKNOWN_TOPIC_OR_PARTITION or none).
func (c *Coordinator) AlterReassignments(ctx context.Context, rs []Reassignment) ([]PartitionResult, error) {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcReassign, Reassign: rs})
	if err == nil {
		err = resp.err()
	}
	return resp.Partitions, err
}

func (c *Coordinator) alterReassignments(rs []Reassignment) rpcResponse {
	var results []PartitionResult
	resp := respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		results = nil
		var valid []Reassignment
		for _, r := range rs {
			err := checkReassignment(md, r)
			res := PartitionResult{Topic: r.Topic, Partition: r.Partition, Code: int16(protocol.Code(err))}
			if err != nil {
				res.Msg = err.Error()
			} else {
				valid = append(valid, r)
			}
			results = append(results, res)
		}
		if len(valid) == 0 {
			return nil, nil
		}
		return &command{Op: opReassign, Reassign: valid}, nil
	}))
	resp.Partitions = results
	return resp
}

func checkReassignment(md *Metadata, r Reassignment) error {
	t := md.Topic(r.Topic)
	if t == nil || r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return protocol.Errorf(protocol.UnknownTopicOrPartition, "%s-%d does not exist", r.Topic, r.Partition)
	}
	p := t.Partitions[r.Partition]
	if r.Target == nil {
		switch {
		case len(p.Adding) == 0 && len(p.Removing) == 0:
			return protocol.Errorf(protocol.NoReassignmentInProgress, "no reassignment of %s-%d to cancel", r.Topic, r.Partition)
		case !slices.ContainsFunc(p.ISR, func(id int32) bool { return !slices.Contains(p.Adding, id) }):
			// Kafka would elect uncleanly, where the topic allows it.
			return protocol.Errorf(protocol.InvalidReplicaAssignment,
				"cannot cancel the reassignment of %s-%d: only replicas being added are in its ISR %v", r.Topic, r.Partition, p.ISR)
		}
		return nil
	}
	if len(r.Target) == 0 {
		return protocol.Errorf(protocol.InvalidReplicaAssignment, "%s-%d: the target has no replicas", r.Topic, r.Partition)
	}
	seen := map[int32]bool{}
	for _, id := range r.Target {
		if seen[id] || md.Brokers[id] == nil {
			return protocol.Errorf(protocol.InvalidReplicaAssignment, "%s-%d: replicas %v: broker %d is repeated or not registered",
				r.Topic, r.Partition, r.Target, id)
		}
		seen[id] = true
	}
	return nil
}

// reassign starts (or cancels) one reassignment in m. A new target
// replaces one under way from all the replicas, as Kafka does: a replica
// that was copying and is not in the new target leaves as the others do,
// once the target is in the ISR, since it may be in the ISR or lead. A
// cancel drops the replicas that were being added, and a leader among
// them with them.
func reassign(m *Metadata, r Reassignment) {
	t := m.Topic(r.Topic)
	if t == nil || int(r.Partition) >= len(t.Partitions) {
		return
	}
	c := *t
	c.Partitions = slices.Clone(t.Partitions)
	p := &c.Partitions[r.Partition]
	if r.Target == nil {
		adding := p.Adding
		notAdding := func(ids []int32) []int32 {
			return slices.DeleteFunc(slices.Clone(ids), func(id int32) bool { return slices.Contains(adding, id) })
		}
		p.Replicas, p.ISR, p.Adding, p.Removing = notAdding(p.Replicas), notAdding(p.ISR), nil, nil
		if slices.Contains(adding, p.Leader) {
			p.Leader = electLeader(m, p)
			p.LeaderEpoch++
		}
	} else {
		current := p.Replicas
		p.Adding = slices.DeleteFunc(slices.Clone(r.Target), func(id int32) bool { return slices.Contains(current, id) })
		p.Removing = slices.DeleteFunc(slices.Clone(current), func(id int32) bool { return slices.Contains(r.Target, id) })
		p.Replicas = append(slices.Clone(r.Target), p.Removing...)
	}
	p.PartitionEpoch++
	completeReassignment(m, p)
	m.putTopic(&c)
}

// completeReassignment finishes a reassignment once every target replica
// is in the ISR: the leaving replicas go, and the leader with them if it
// leaves.
func completeReassignment(m *Metadata, p *Partition) {
	if len(p.Adding) == 0 && len(p.Removing) == 0 {
		return
	}
	leaving := p.Removing
	target := p.Replicas[:len(p.Replicas)-len(leaving)]
	for _, id := range target {
		if !slices.Contains(p.ISR, id) {
			return
		}
	}
	p.Replicas = slices.Clone(target)
	p.ISR = slices.DeleteFunc(slices.Clone(p.ISR), func(id int32) bool { return slices.Contains(leaving, id) })
	p.Adding, p.Removing = nil, nil
	if slices.Contains(leaving, p.Leader) {
		p.Leader = electLeader(m, p)
		p.LeaderEpoch++
	}
	p.PartitionEpoch++
}

// Reassigning lists the partitions with a reassignment under way.
func (m *Metadata) Reassigning() []PartitionRef {
	var out []PartitionRef
	for name, t := range m.Topics.All() {
		for _, p := range t.Partitions {
			if len(p.Adding) > 0 || len(p.Removing) > 0 {
				out = append(out, PartitionRef{name, p.ID})
			}
		}
	}
	return out
}
