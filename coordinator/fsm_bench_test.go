package coordinator

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
)

// BenchmarkApplyISRChange decides and applies one ISR change, the most
// frequent metadata command, to images of 30,000 and 100,000 partitions (topics of
// 6 partitions, replication factor 3, on 3 brokers): its cost should
// follow what the command changes, not the image's size (issue 16).
func BenchmarkApplyISRChange(b *testing.B) {
	for _, partitions := range []int{30_000, 100_000} {
		b.Run(fmt.Sprintf("partitions=%d", partitions), func(b *testing.B) {
			f, index := scaleImage(b, partitions/6, 6)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("t%06d", i%(partitions/6))
				p := f.image.Load().Topic(name).Partitions[0]
				isr := []int32{1, 2, 3}
				if len(p.ISR) == 3 {
					isr = isr[:2]
				}
				cmd := command{Op: opAlterPartition, Alters: []AlterPartition{{Topic: name,
					Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: isr}}}
				if err := decideResults(f.image.Load(), &cmd, nil, quietLogger()); err != nil {
					b.Fatal(err)
				}
				index++
				res := applyCommand(f, index, cmd)
				if res.Err != nil || len(res.Stale) != 0 {
					b.Fatalf("ISR change %d: %v, stale %v", i, res.Err, res.Stale)
				}
			}
		})
	}
}

// scaleImage is a state machine holding 3 brokers and topics t000000...
// of perTopic partitions each, replicated on all three; it returns the
// last index applied.
func scaleImage(tb testing.TB, topics, perTopic int) (*fsm, uint64) {
	tb.Helper()
	f := newFSM(quietLogger())
	var index uint64
	for id := int32(1); id <= 3; id++ {
		index++
		applyCommand(f, index, command{Op: opRegister, Broker: &Broker{ID: id, Listeners: []Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}}})
	}
	var batch []*Topic
	for i := range topics {
		t := &Topic{Name: fmt.Sprintf("t%06d", i)}
		binary.BigEndian.PutUint64(t.ID[:], uint64(i+1))
		for p := range perTopic {
			t.Partitions = append(t.Partitions, Partition{ID: int32(p), Replicas: []int32{1, 2, 3}, Leader: -1})
		}
		batch = append(batch, t)
		if len(batch)*perTopic >= maxPartitionsPerOp || i == topics-1 {
			index++
			if res := applyCommand(f, index, command{Op: opCreateTopics, Topics: batch}); res.Err != nil {
				tb.Fatal(res.Err)
			}
			batch = nil
		}
	}
	return f, index
}

// applyCommand applies cmd at index as Raft would.
func applyCommand(f *fsm, index uint64, cmd command) applyResult {
	data, err := json.Marshal(cmd)
	if err != nil {
		panic(err)
	}
	return f.Apply(&raft.Log{Index: index, Data: data}).(applyResult)
}

// BenchmarkFence fences and unfences a broker that holds a third of the
// leaderships, on images of 30,000 and 100,000 partitions, by
// version-0 commands (the state machine elects) and by version-1 ones
// (the controller decides, the state machine installs): the cost of the
// decision, of the Raft entry (entry-B) and of applying it.
func BenchmarkFence(b *testing.B) {
	for _, partitions := range []int{30_000, 100_000} {
		for _, decided := range []bool{false, true} {
			b.Run(fmt.Sprintf("partitions=%d/decided=%t", partitions, decided), func(b *testing.B) {
				f, index := scaleImage(b, partitions/6, 6)
				var entry int
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					cmd := command{Op: opFence, BrokerID: 1}
					if i%2 == 1 {
						cmd.Op = opUnfence
					}
					if decided {
						if err := decideResults(f.image.Load(), &cmd, nil, quietLogger()); err != nil {
							b.Fatal(err)
						}
					}
					data, _ := json.Marshal(cmd)
					entry = max(entry, len(data))
					index++
					if res := f.Apply(&raft.Log{Index: index, Data: data}).(applyResult); res.Err != nil || len(res.Stale) > 0 {
						b.Fatalf("%s: %v, stale %v", cmd.Op, res.Err, res.Stale)
					}
				}
				b.ReportMetric(float64(entry), "entry-B")
			})
		}
	}
}

// BenchmarkElectPreferred decides a preferred leader election of 30,000
// partitions, all led by their second replica since their first came
// back: what an automatic rebalance does after a broker returns.
func BenchmarkElectPreferred(b *testing.B) {
	f, index := scaleImage(b, 5_000, 6)
	for _, op := range []string{opFence, opUnfence} {
		index++
		applyCommand(f, index, command{Op: op, BrokerID: 1})
	}
	var back []AlterPartition // broker 1 caught up: back in every ISR
	for name, t := range f.image.Load().Topics.All() {
		for _, p := range t.Partitions {
			back = append(back, AlterPartition{Topic: name, Partition: p.ID, Leader: p.Leader,
				LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{2, 3, 1}})
		}
	}
	index++
	applyCommand(f, index, command{Op: opAlterPartition, Alters: back})
	md := f.image.Load()
	refs := imbalanced(md, 0)
	if len(refs) != 30_000 {
		b.Fatalf("%d partitions to move back, want 30,000", len(refs))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		cmd := command{Op: opElectPreferred, Elect: refs}
		if err := decideResults(md, &cmd, nil, quietLogger()); err != nil || len(cmd.Changes) != len(refs) {
			b.Fatalf("%v: %d changes for %d partitions", err, len(cmd.Changes), len(refs))
		}
	}
}
