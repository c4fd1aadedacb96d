package coordinator

import (
	"slices"
	"testing"
)

func reassignFixture() *Metadata {
	t := &Topic{Name: "t", ID: [16]byte{7}, Partitions: []Partition{{ID: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}}
	m := emptyImage().clone() // left editable: the tests apply to it in place
	m.Brokers = map[int32]*Broker{1: {ID: 1}, 2: {ID: 2}, 3: {ID: 3}}
	m.putTopic(t)
	return m
}

// TestReassignmentCompletesWhenTargetInISR walks a partition from broker 1
// to 2 and 3: the target replicas join first, the old one leaves (with the
// leadership) only once both new ones are in the ISR.
func TestReassignmentCompletesWhenTargetInISR(t *testing.T) {
	m := reassignFixture()
	reassign(m, Reassignment{Topic: "t", Partition: 0, Target: []int32{2, 3}})
	p := m.Topic("t").Partitions[0]
	if !slices.Equal(p.Replicas, []int32{2, 3, 1}) || !slices.Equal(p.Adding, []int32{2, 3}) || !slices.Equal(p.Removing, []int32{1}) || p.Leader != 1 {
		t.Fatalf("started: %+v", p)
	}
	grow := func(isr ...int32) {
		p := m.Topic("t").Partitions[0]
		alterISR(m, &AlterPartition{Topic: "t", Partition: 0, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: isr})
	}
	grow(1, 2)
	if p := m.Topic("t").Partitions[0]; len(p.Removing) != 1 || !slices.Equal(p.ISR, []int32{1, 2}) {
		t.Fatalf("completed before broker 3 caught up: %+v", p)
	}
	grow(1, 2, 3)
	p = m.Topic("t").Partitions[0]
	if !slices.Equal(p.Replicas, []int32{2, 3}) || !slices.Equal(p.ISR, []int32{2, 3}) || p.Leader != 2 || p.LeaderEpoch != 1 ||
		p.Adding != nil || p.Removing != nil {
		t.Fatalf("completed: %+v", p)
	}
	if refs := m.Reassigning(); len(refs) != 0 {
		t.Fatalf("still listed as reassigning: %v", refs)
	}
}

// TestReassignmentCancel puts the old replicas back and drops the ones
// that were still copying from the ISR.
func TestReassignmentCancel(t *testing.T) {
	m := reassignFixture()
	reassign(m, Reassignment{Topic: "t", Partition: 0, Target: []int32{2}})
	if err := checkReassignment(m, Reassignment{Topic: "t", Partition: 0}); err != nil {
		t.Fatalf("cancel refused: %v", err)
	}
	reassign(m, Reassignment{Topic: "t", Partition: 0})
	p := m.Topic("t").Partitions[0]
	if !slices.Equal(p.Replicas, []int32{1}) || !slices.Equal(p.ISR, []int32{1}) || p.Adding != nil || p.Removing != nil {
		t.Fatalf("after cancel: %+v", p)
	}
	if err := checkReassignment(m, Reassignment{Topic: "t", Partition: 0}); err == nil {
		t.Fatal("a second cancel was accepted")
	}
	if err := checkReassignment(m, Reassignment{Topic: "t", Partition: 0, Target: []int32{2, 2}}); err == nil {
		t.Fatal("a target with a repeated broker was accepted")
	}
	if err := checkReassignment(m, Reassignment{Topic: "t", Partition: 0, Target: []int32{9}}); err == nil {
		t.Fatal("a target with an unknown broker was accepted")
	}
}

// A new target given while a reassignment is under way starts from every
// replica, as Kafka does: a copying replica left out of the new target,
// which may already be in the ISR or lead, leaves with the old ones once
// the new target is in the ISR, never before.
func TestReassignmentRetargetKeepsCopyingReplicas(t *testing.T) {
	m := reassignFixture()
	reassign(m, Reassignment{Topic: "t", Partition: 0, Target: []int32{2, 3}})
	p := m.Topic("t").Partitions[0]
	alterISR(m, &AlterPartition{Topic: "t", Partition: 0, Leader: 1, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{1, 2}})
	reassign(m, Reassignment{Topic: "t", Partition: 0, Target: []int32{3}})
	p = m.Topic("t").Partitions[0]
	if !slices.Equal(p.Replicas, []int32{3, 2, 1}) || !slices.Equal(p.Removing, []int32{2, 1}) || !slices.Equal(p.ISR, []int32{1, 2}) {
		t.Fatalf("retargeted: %+v, want broker 2 leaving with 1, still in the ISR", p)
	}
	if err := (&Assignment{Replicas: p.Replicas, Adding: p.Adding, Removing: p.Removing}).check(); err != nil {
		t.Fatal(err)
	}
	alterISR(m, &AlterPartition{Topic: "t", Partition: 0, Leader: 1, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{1, 2, 3}})
	p = m.Topic("t").Partitions[0]
	if !slices.Equal(p.Replicas, []int32{3}) || !slices.Equal(p.ISR, []int32{3}) || p.Leader != 3 {
		t.Fatalf("completed: %+v", p)
	}
}

// Cancelling a reassignment whose leader is a replica being added moves
// the leadership to a replica that stays; one whose ISR holds only
// replicas being added is refused, as it would take an unclean election.
func TestReassignmentCancelMovesLeaderThatLeaves(t *testing.T) {
	m := reassignFixture()
	reassign(m, Reassignment{Topic: "t", Partition: 0, Target: []int32{2, 3}})
	tp := *m.Topic("t")
	tp.Partitions = slices.Clone(tp.Partitions)
	tp.Partitions[0].ISR, tp.Partitions[0].Leader = []int32{2, 1}, 2 // 2 caught up, then led
	m.putTopic(&tp)
	reassign(m, Reassignment{Topic: "t", Partition: 0})
	p := m.Topic("t").Partitions[0]
	if !slices.Equal(p.Replicas, []int32{1}) || !slices.Equal(p.ISR, []int32{1}) || p.Leader != 1 || p.LeaderEpoch != 1 {
		t.Fatalf("after cancel: %+v, want broker 1 leading alone in epoch 1", p)
	}

	reassign(m, Reassignment{Topic: "t", Partition: 0, Target: []int32{2, 3}})
	tp = *m.Topic("t")
	tp.Partitions = slices.Clone(tp.Partitions)
	tp.Partitions[0].ISR, tp.Partitions[0].Leader = []int32{2}, 2
	m.putTopic(&tp)
	if err := checkReassignment(m, Reassignment{Topic: "t", Partition: 0}); err == nil {
		t.Fatalf("a cancel leaving %+v without an ISR was accepted", m.Topic("t").Partitions[0])
	}
}
