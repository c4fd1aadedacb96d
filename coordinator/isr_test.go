package coordinator

import (
	"context"
	"slices"
	"testing"

	"github.com/gokafka/gokafka/protocol"
)

// A leader that proposes a broker the metadata shows fenced or shutting
// down for the ISR is refused with INELIGIBLE_REPLICA (KIP-841), and the
// ISR stays as it was.
func TestAlterPartitionRefusesIneligibleReplica(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	register(t, c, 1, 2, 3)
	r := createOne(t, c, CreateTopicSpec{Name: "elig", NumPartitions: -1, ReplicationFactor: -1,
		Assignment: []PartitionAssignment{{Partition: 0, Replicas: []int32{1, 2, 3}}}})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if err := c.ControlledShutdown(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	p := c.Metadata().Topic("elig").Partitions[0]
	if p.Leader != 1 || slices.Contains(p.ISR, 3) {
		t.Fatalf("after broker 3 shut down: %+v", p)
	}
	err := alterOne(c, AlterPartition{Topic: "elig", Partition: 0, Leader: 1,
		LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: append(slices.Clone(p.ISR), 3)})
	if protocol.Code(err) != protocol.IneligibleReplica {
		t.Fatalf("proposing shut-down broker 3: %v, want INELIGIBLE_REPLICA", err)
	}
	if got := c.Metadata().Topic("elig").Partitions[0].ISR; !slices.Equal(got, p.ISR) {
		t.Fatalf("ISR %v after a refused change, want %v", got, p.ISR)
	}
}

// One AlterPartition request changes the ISRs of many partitions in one
// Raft entry; each partition gets its own outcome, and a refused one
// (stale epoch, named twice, unknown) leaves the others to commit.
func TestAlterPartitionsBatchIsOneEntry(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	register(t, c, 1, 2, 3)
	createOnAll3(t, c, "batch", 50)
	md := c.Metadata()
	var alters []AlterPartition
	for _, p := range md.Topic("batch").Partitions {
		alters = append(alters, AlterPartition{Topic: "batch", Partition: p.ID, Leader: 1,
			LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{1, 2}})
	}
	alters[7].PartitionEpoch++                                                         // stale
	alters = append(alters, alters[3])                                                 // named twice
	alters = append(alters, AlterPartition{Topic: "gone", Leader: 1, ISR: []int32{1}}) // unknown
	errs, err := c.AlterPartitions(context.Background(), alters)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]protocol.ErrorCode{7: protocol.InvalidUpdateVersion, 50: protocol.InvalidRequest, 51: protocol.UnknownTopicOrPartition}
	for i, e := range errs {
		if protocol.Code(e) != want[i] {
			t.Errorf("change %d (%s-%d): %v, want code %d", i, alters[i].Topic, alters[i].Partition, e, want[i])
		}
	}
	after := c.Metadata()
	if got := after.AppliedIndex - md.AppliedIndex; got != 1 {
		t.Errorf("the batch took %d Raft entries, want 1", got)
	}
	for _, p := range after.Topic("batch").Partitions {
		wantISR := []int32{1, 2}
		if p.ID == 7 {
			wantISR = []int32{1, 2, 3}
		}
		if !slices.Equal(p.ISR, wantISR) {
			t.Errorf("partition %d: ISR %v, want %v", p.ID, p.ISR, wantISR)
		}
	}
}

// ISR changes are proposed without waiting for the commands before them,
// so the state machine checks each again: one whose partition changed, or
// that would bring in a broker fenced meanwhile, is left out and reported
// stale; the others of its batch apply. So for commands of version 0 and
// for those carrying the decided results.
func TestAlterISRCheckedAgainWhenApplied(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	register(t, c, 1, 2, 3)
	createOnAll3(t, c, "again", 3)
	if err := alterOne(c, AlterPartition{Topic: "again", Partition: 2, Leader: 1, ISR: []int32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	md := c.Metadata()
	ps := md.Topic("again").Partitions
	alters := []AlterPartition{
		{Topic: "again", Partition: 0, Leader: 1, LeaderEpoch: ps[0].LeaderEpoch, PartitionEpoch: ps[0].PartitionEpoch, ISR: []int32{1, 2}},
		{Topic: "again", Partition: 1, Leader: 1, LeaderEpoch: ps[1].LeaderEpoch, PartitionEpoch: ps[1].PartitionEpoch, ISR: []int32{1}},
		{Topic: "again", Partition: 2, Leader: 1, LeaderEpoch: ps[2].LeaderEpoch, PartitionEpoch: ps[2].PartitionEpoch, ISR: []int32{1, 2, 3}},
	}
	for _, decided := range []bool{false, true} {
		cmd := command{Op: opAlterPartition, Alters: slices.Clone(alters)}
		if decided {
			if err := decideResults(md, &cmd, nil, c.log); err != nil {
				t.Fatal(err)
			}
		}
		// After the controller decided, broker 3 was fenced and
		// partition 1 changed.
		m := md.clone()
		b3 := *m.Brokers[3]
		b3.Fenced = true
		m.Brokers[3] = &b3
		tp := *m.Topic("again")
		tp.Partitions = slices.Clone(tp.Partitions)
		tp.Partitions[1].PartitionEpoch++
		m.putTopic(&tp)
		if _, err := cmd.apply(m, m.AppliedIndex+1, c.log); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cmd.stale, []int{1, 2}) {
			t.Errorf("version %d: stale changes %v, want [1 2]", cmd.V, cmd.stale)
		}
		got := m.Topic("again").Partitions
		for i, want := range [][]int32{{1, 2}, {1, 2, 3}, {1, 2}} {
			if !slices.Equal(got[i].ISR, want) {
				t.Errorf("version %d: partition %d: ISR %v, want %v", cmd.V, i, got[i].ISR, want)
			}
		}
	}
}

// createOnAll3 creates topic with n partitions, each on brokers 1, 2, 3
// with 1 leading.
func createOnAll3(t *testing.T, c *Coordinator, topic string, n int32) {
	t.Helper()
	var as []PartitionAssignment
	for i := range n {
		as = append(as, PartitionAssignment{Partition: i, Replicas: []int32{1, 2, 3}})
	}
	if r := createOne(t, c, CreateTopicSpec{Name: topic, NumPartitions: -1, ReplicationFactor: -1, Assignment: as}); r.Err != nil {
		t.Fatal(r.Err)
	}
}
