package coordinator

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// A version-1 command installs the partition states it carries and runs
// no election: replaying it gives what the controller decided, even a
// leader an election today would not pick. A change computed against
// another partition epoch is refused as stale; the rest of the command
// applies.
func TestResultsAreInstalledNotRecomputed(t *testing.T) {
	f, index := scaleImage(t, 1, 2)
	p0, p1 := f.image.Load().Topic("t000000").Partitions[0], f.image.Load().Topic("t000000").Partitions[1]
	res := applyCommand(f, index+1, command{Op: opFence, BrokerID: 1, V: resultsVersion, Changes: []PartitionChange{
		// An election would pick 2.
		{Topic: "t000000", Partition: 0, Epoch: p0.PartitionEpoch, Leader: 3, LeaderEpoch: 1, PartitionEpoch: p0.PartitionEpoch + 1, ISR: []int32{2, 3}},
		// Computed against another epoch.
		{Topic: "t000000", Partition: 1, Epoch: p1.PartitionEpoch + 1, Leader: 2, LeaderEpoch: 1, PartitionEpoch: p1.PartitionEpoch + 2, ISR: []int32{2, 3}},
		// Naming a broker that is not a replica.
		{Topic: "t000000", Partition: 1, Epoch: p1.PartitionEpoch, Leader: 9, LeaderEpoch: 1, PartitionEpoch: p1.PartitionEpoch + 1, ISR: []int32{9}},
	}})
	if res.Err != nil || !slices.Equal(res.Stale, []int{1, 2}) {
		t.Fatalf("applied: %v, stale %v, want the second and third changes stale", res.Err, res.Stale)
	}
	md := f.image.Load()
	if got := md.Topic("t000000").Partitions[0]; got.Leader != 3 || !slices.Equal(got.ISR, []int32{2, 3}) || got.PartitionEpoch != p0.PartitionEpoch+1 {
		t.Errorf("partition 0: %+v, want the carried state", got)
	}
	if got := md.Topic("t000000").Partitions[1]; !samePartition(got, p1) {
		t.Errorf("partition 1, stale, changed: %+v", got)
	}
	if !md.Brokers[1].Fenced {
		t.Error("broker 1 not fenced")
	}
}

// Entries written before commands carried results still apply as they
// did: the state machine runs their elections.
func TestVersion0CommandsStillElect(t *testing.T) {
	f, index := scaleImage(t, 1, 1)
	if res := applyCommand(f, index+1, command{Op: opFence, BrokerID: 1}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if p := f.image.Load().Topic("t000000").Partitions[0]; p.Leader != 2 || !slices.Equal(p.ISR, []int32{2, 3}) || p.LeaderEpoch != 1 {
		t.Fatalf("after a version-0 fence: %+v, want broker 2 leading", p)
	}
}

// Deciding results and installing them gives the image a version-0
// apply of the same commands gives, for every command that elects.
func TestDecidedResultsMatchElectionsOnApply(t *testing.T) {
	v0, index := scaleImage(t, 20, 3)
	v1, _ := scaleImage(t, 20, 3)
	for i, cmd := range []command{
		// Completes at once: broker 1 leaves, with its leadership.
		{Op: opReassign, Reassign: []Reassignment{{Topic: "t000001", Partition: 0, Target: []int32{2, 3}}}},
		{Op: opFence, BrokerID: 1},
		{Op: opShutdown, BrokerID: 2},
		{Op: opUnfence, BrokerID: 1},
		{Op: opRegister, Broker: &Broker{ID: 2, Listeners: []Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}}},
		{Op: opElectPreferred, Elect: []PartitionRef{{"t000003", 0}, {"t000007", 2}}},
		{Op: opFence, BrokerID: 3},
		{Op: opFence, BrokerID: 2},
		{Op: opElectUnclean, Elect: []PartitionRef{{"t000004", 1}}},
		{Op: opReassign, Reassign: []Reassignment{{Topic: "t000005", Partition: 1, Target: []int32{3, 1}}}},
		// Broker 2 copies t000004-1, led by 1 alone, and its joining the
		// ISR completes the move: 1 leaves, 2 leads.
		{Op: opUnfence, BrokerID: 2},
		{Op: opReassign, Reassign: []Reassignment{{Topic: "t000004", Partition: 1, Target: []int32{2}}}},
		{Op: opAlterPartition, Alters: []AlterPartition{{Topic: "t000004", Partition: 1, ISR: []int32{1, 2}}}},
		{Op: opReassign, Reassign: []Reassignment{{Topic: "t000002", Partition: 2, Target: []int32{1}}}},
		{Op: opReassign, Reassign: []Reassignment{{Topic: "t000002", Partition: 2}}}, // cancelled
		{Op: opCreateTopics, Topics: []*Topic{{Name: "new", ID: [16]byte{0xee}, Partitions: []Partition{
			{Replicas: []int32{2, 1}, Leader: -1}, {Replicas: []int32{3, 2}, Leader: -1}, {Replicas: []int32{1, 3}, Leader: -1}}}}},
		{Op: opCreatePartitions, Topics: []*Topic{{Name: "new", ID: [16]byte{0xee}, Partitions: []Partition{
			{ID: 3, Replicas: []int32{2, 3}, Leader: -1}, {ID: 4, Replicas: []int32{3, 1}, Leader: -1}}}}},
	} {
		if cmd.Op == opAlterPartition { // stamped by the leader as it sees the partition
			a := &cmd.Alters[0]
			p := v0.image.Load().Topic(a.Topic).Partitions[a.Partition]
			a.Leader, a.LeaderEpoch, a.PartitionEpoch = p.Leader, p.LeaderEpoch, p.PartitionEpoch
		}
		index++
		if res := applyCommand(v0, index, cmd); res.Err != nil {
			t.Fatal(res.Err)
		}
		decided := cmd
		if carriesResults(cmd.Op) {
			if err := decideResults(v1.image.Load(), &decided, nil, quietLogger()); err != nil {
				t.Fatal(err)
			}
		}
		if decided.V != resultsVersion {
			t.Fatalf("%s proposed as version %d", cmd.Op, decided.V)
		}
		if res := applyCommand(v1, index, decided); res.Err != nil || len(res.Stale) > 0 {
			t.Fatalf("%s: %v, stale %v", cmd.Op, res.Err, res.Stale)
		}
		a, b := v0.image.Load(), v1.image.Load()
		if a.Topics.Len() != b.Topics.Len() {
			t.Fatalf("step %d (%s): %d topics elected on apply, %d decided", i, cmd.Op, a.Topics.Len(), b.Topics.Len())
		}
		for name, t0 := range a.Topics.All() {
			for j, p := range t0.Partitions {
				if q := b.Topic(name).Partitions[j]; !samePartition(p, q) {
					t.Fatalf("step %d (%s): %s-%d elected on apply %+v, decided %+v", i, cmd.Op, name, j, p, q)
				}
			}
		}
		for id, br := range a.Brokers {
			if got := b.Brokers[id]; got.Fenced != br.Fenced || got.ControlledShutdown != br.ControlledShutdown {
				t.Fatalf("step %d (%s): broker %d %+v, decided %+v", i, cmd.Op, id, br, got)
			}
		}
	}
}

// The ISR change that completes a reassignment carries the replicas and
// the leader that follow, and the state machine installs them as carried:
// replaying it gives what the controller decided, whatever an election
// would pick today.
func TestCompletingReassignmentCarriesItsResult(t *testing.T) {
	f, index := scaleImage(t, 1, 1)
	propose := func(cmd command) command {
		t.Helper()
		if err := decideResults(f.image.Load(), &cmd, nil, quietLogger()); err != nil {
			t.Fatal(err)
		}
		index++
		if res := applyCommand(f, index, cmd); res.Err != nil || len(res.Stale) > 0 {
			t.Fatalf("%s: %v, stale %v", cmd.Op, res.Err, res.Stale)
		}
		return cmd
	}
	alter := func(isr ...int32) command {
		p := f.image.Load().Topic("t000000").Partitions[0]
		return command{Op: opAlterPartition, Alters: []AlterPartition{{Topic: "t000000", Leader: p.Leader,
			LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: isr}}}
	}
	propose(alter(1))
	start := propose(command{Op: opReassign, Reassign: []Reassignment{{Topic: "t000000", Target: []int32{2, 3}}}})
	if len(start.Changes) != 1 || start.Changes[0].Assignment == nil ||
		!slices.Equal(start.Changes[0].Assignment.Replicas, []int32{2, 3, 1}) || !slices.Equal(start.Changes[0].Assignment.Removing, []int32{1}) {
		t.Fatalf("the start of the reassignment carries %+v, want replicas 2,3,1 with 1 leaving", start.Changes)
	}
	before := f.image.Load().Topic("t000000").Partitions[0]
	done := alter(1, 2, 3)
	if err := decideResults(f.image.Load(), &done, nil, quietLogger()); err != nil {
		t.Fatal(err)
	}
	if len(done.Alters) != 0 || len(done.Changes) != 1 {
		t.Fatalf("the completing ISR change was proposed as %+v", done)
	}
	ch := done.Changes[0]
	if ch.Leader != 2 || ch.LeaderEpoch != before.LeaderEpoch+1 || !slices.Equal(ch.ISR, []int32{2, 3}) ||
		ch.Assignment == nil || !slices.Equal(ch.Assignment.Replicas, []int32{2, 3}) || ch.Assignment.Adding != nil || ch.Assignment.Removing != nil {
		t.Fatalf("the completing ISR change carries %+v (assignment %+v), want broker 2 leading replicas 2,3", ch, ch.Assignment)
	}
	done.Changes[0].Leader = 3 // an election would pick 2
	index++
	if res := applyCommand(f, index, done); res.Err != nil || len(res.Stale) > 0 {
		t.Fatalf("applied: %v, stale %v", res.Err, res.Stale)
	}
	p := f.image.Load().Topic("t000000").Partitions[0]
	if p.Leader != 3 || !slices.Equal(p.Replicas, []int32{2, 3}) || !slices.Equal(p.ISR, []int32{2, 3}) ||
		p.Adding != nil || p.Removing != nil || p.PartitionEpoch != before.PartitionEpoch+2 {
		t.Fatalf("after the move: %+v, want the carried state", p)
	}
}

// An ISR change proposed before a fence and applied after the fence was
// decided makes the fence's change of that partition stale; the
// controller decides it again, so the fenced broker leads nothing.
func TestStaleResultsAreDecidedAgain(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	register(t, c, 1, 2, 3)
	createOnAll3(t, c, "race", 4)
	_, err := c.ctrl.do(func(md *Metadata) (*command, error) {
		p := md.Topic("race").Partitions[2]
		alter := &command{Op: opAlterPartition, Alters: []AlterPartition{{Topic: "race", Partition: 2, Leader: 1,
			LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{1, 2}}}}
		if _, err := c.submit(alter); err != nil { // enters Raft before the fence
			return nil, err
		}
		return &command{Op: opFence, BrokerID: 1}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range c.Metadata().Topic("race").Partitions {
		if p.Leader == 1 || slices.Contains(p.ISR, 1) {
			t.Errorf("partition %d after fencing broker 1: %+v", i, p)
		}
	}
	if p := c.Metadata().Topic("race").Partitions[2]; !slices.Equal(p.ISR, []int32{2}) || p.Leader != 2 {
		t.Errorf("partition 2: %+v, want the ISR change and then the fence", p)
	}
}

// Whatever a log entry says, applying it never panics (a BUG error) and
// leaves every partition well formed: a leader among its replicas or
// none, an ISR of replicas.
func FuzzApplyCommand(f *testing.F) {
	for _, seed := range []string{
		`{"op":"fence_broker","broker_id":1}`,
		`{"op":"fence_broker","broker_id":1,"v":1,"changes":[{"t":"t000000","p":0,"e":0,"l":2,"le":1,"pe":1,"isr":[2,3]}]}`,
		`{"op":"elect_preferred","v":1,"changes":[{"t":"t000000","p":9,"e":0,"l":1,"pe":1}]}`,
		`{"op":"unfence_broker","broker_id":2,"v":1,"retry":true,"changes":[{"t":"t000000","p":-1,"l":1,"pe":1}]}`,
		`{"op":"elect_unclean","v":1,"changes":[{"t":"t000000","p":1,"l":7,"pe":1,"isr":[7]}]}`,
		`{"op":"create_topics","v":1,"changes":[]}`,
		`{"op":"register_broker","v":1}`,
		`{"op":"alter_partition","v":1,"changes":[{"t":"t000000","p":0,"e":0,"l":2,"pe":1,"isr":[2],"a":{"r":[2,9],"add":[2],"rm":[9]}}]}`,
		`{"op":"reassign_partitions","v":1,"changes":[{"t":"t000000","p":1,"e":0,"l":3,"pe":1,"isr":[3],"a":{"r":[3],"rm":[1,2,3]}}]}`,
		`{"op":"fence_broker","broker_id":1,"v":1,"changes":[{"t":"t000000","p":0,"e":0,"l":2,"pe":1,"isr":[2],"a":{"r":[2]}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, entry []byte) {
		fsm, index := scaleImage(t, 1, 2)
		res := fsm.Apply(&raft.Log{Index: index + 1, Data: entry}).(applyResult)
		if res.Err != nil && strings.HasPrefix(res.Err.Error(), "BUG") {
			t.Fatal(res.Err)
		}
		for _, tp := range fsm.image.Load().Topics.All() {
			for _, p := range tp.Partitions {
				if p.Leader != -1 && !slices.Contains(p.Replicas, p.Leader) || slices.ContainsFunc(p.ISR, func(r int32) bool { return !slices.Contains(p.Replicas, r) }) {
					t.Fatalf("%s-%d is malformed after applying %q: %+v", tp.Name, p.ID, entry, p)
				}
			}
		}
	})
}
