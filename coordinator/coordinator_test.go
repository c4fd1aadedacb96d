package coordinator

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol"
)

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testConfigs returns configs for n voters with their own dirs and ports.
func testConfigs(t testing.TB, n int) []Config {
	var voters []Voter
	for i := range n {
		voters = append(voters, Voter{ID: int32(i + 1), Addr: freeAddr(t)})
	}
	var cfgs []Config
	for _, v := range voters {
		cfg := DefaultConfig()
		cfg.NodeID, cfg.Voters = v.ID, voters
		cfg.ListenAddr, cfg.AdvertisedAddr = v.Addr, v.Addr
		cfg.Dir = t.TempDir()
		cfg.ElectionTimeout, cfg.FetchTimeout = 300*time.Millisecond, 600*time.Millisecond
		cfgs = append(cfgs, cfg)
	}
	return cfgs
}

func start(t testing.TB, cfg Config) *Coordinator {
	t.Helper()
	c, err := New(cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("node %d not ready: %v", cfg.NodeID, err)
	}
	return c
}

// startVoters starts a quorum of one node per config, all at once as a
// cluster's first start would, without waiting for them to be ready.
func startVoters(t testing.TB, cfgs []Config) []*Coordinator {
	t.Helper()
	nodes := make([]*Coordinator, len(cfgs))
	errs := make(chan error, len(cfgs))
	for i, cfg := range cfgs {
		go func() {
			c, err := New(cfg, quietLogger())
			nodes[i] = c
			errs <- err
		}()
	}
	for range cfgs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range nodes {
		t.Cleanup(func() { c.Close() })
	}
	return nodes
}

func register(t testing.TB, c *Coordinator, ids ...int32) {
	t.Helper()
	for _, id := range ids {
		err := c.RegisterBroker(context.Background(), BrokerRegistration{ID: id, Listeners: []Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func createOne(t *testing.T, c *Coordinator, spec CreateTopicSpec) TopicResult {
	t.Helper()
	return c.CreateTopics(context.Background(), []CreateTopicSpec{spec}, false)[0]
}

func TestCreateDeleteTopicsAndErrors(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	if id := c.Metadata().ClusterID; len(id) != 22 {
		t.Fatalf("cluster id %q is not a 22-character Kafka uuid", id)
	}
	register(t, c, 1)
	r := createOne(t, c, CreateTopicSpec{Name: "a", NumPartitions: 3, ReplicationFactor: -1, Configs: map[string]string{"retention.ms": "1000"}})
	if r.Err != nil || r.ID == [16]byte{} {
		t.Fatalf("create: %+v", r)
	}
	top := c.Metadata().Topic("a")
	if top == nil || len(top.Partitions) != 3 || top.Configs["retention.ms"] != "1000" || c.Metadata().TopicByID(r.ID) != top {
		t.Fatalf("topic a in the image: %+v", top)
	}
	for _, p := range top.Partitions {
		if p.Leader != 1 || !slices.Equal(p.ISR, []int32{1}) {
			t.Fatalf("partition %d: leader %d isr %v", p.ID, p.Leader, p.ISR)
		}
	}
	cases := []struct {
		spec CreateTopicSpec
		code protocol.ErrorCode
	}{
		{CreateTopicSpec{Name: "a", NumPartitions: 1, ReplicationFactor: 1}, protocol.TopicAlreadyExists},
		{CreateTopicSpec{Name: "b", NumPartitions: 0, ReplicationFactor: 1}, protocol.InvalidPartitions},
		{CreateTopicSpec{Name: "b", NumPartitions: 1, ReplicationFactor: 2}, protocol.InvalidReplicationFactor},
		{CreateTopicSpec{Name: "b", NumPartitions: 1, ReplicationFactor: 0}, protocol.InvalidReplicationFactor},
		{CreateTopicSpec{Name: "b", NumPartitions: maxPartitionsPerOp + 1, ReplicationFactor: 1}, protocol.PolicyViolation},
		{CreateTopicSpec{Name: "b", NumPartitions: -1, ReplicationFactor: -1, Assignment: []PartitionAssignment{{Partition: 1, Replicas: []int32{1}}}}, protocol.InvalidReplicaAssignment},
		{CreateTopicSpec{Name: "b", NumPartitions: -1, ReplicationFactor: -1, Assignment: []PartitionAssignment{{Partition: 0, Replicas: []int32{7}}}}, protocol.InvalidReplicaAssignment},
		{CreateTopicSpec{Name: "b", NumPartitions: -1, ReplicationFactor: -1, Assignment: []PartitionAssignment{{Partition: 0, Replicas: []int32{1, 1}}}}, protocol.InvalidReplicaAssignment},
		{CreateTopicSpec{Name: "b", NumPartitions: 2, ReplicationFactor: -1, Assignment: []PartitionAssignment{{Partition: 0, Replicas: []int32{1}}}}, protocol.InvalidRequest},
	}
	for _, tc := range cases {
		if got := protocol.Code(createOne(t, c, tc.spec).Err); got != tc.code {
			t.Errorf("%+v: code %d, want %d", tc.spec, got, tc.code)
		}
	}
	if c.Metadata().Topic("b") != nil {
		t.Fatal("a failed create left a topic behind")
	}
	if r := c.CreateTopics(context.Background(), []CreateTopicSpec{{Name: "v", NumPartitions: 1, ReplicationFactor: 1}}, true)[0]; r.Err != nil || c.Metadata().Topic("v") != nil {
		t.Fatalf("validate only: %+v, topic created: %v", r, c.Metadata().Topic("v") != nil)
	}
	res := c.DeleteTopics(context.Background(), []string{"a", "missing"})
	if res[0].Err != nil || protocol.Code(res[1].Err) != protocol.UnknownTopicOrPartition {
		t.Fatalf("delete: %+v", res)
	}
	if c.Metadata().Topic("a") != nil || c.Metadata().TopicByID(r.ID) != nil {
		t.Fatal("deleted topic still in the image")
	}
}

func TestImagesAreImmutable(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	register(t, c, 1)
	before := c.Metadata()
	createOne(t, c, CreateTopicSpec{Name: "x", NumPartitions: 1, ReplicationFactor: 1})
	if before.Topic("x") != nil || c.Metadata().Topic("x") == nil || c.Metadata().AppliedIndex <= before.AppliedIndex {
		t.Fatal("an applied command changed an already published image")
	}
}

func TestProducerIDBlocksNeverOverlap(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	register(t, c, 1)
	a, n, err := c.AllocateProducerIDs(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := c.AllocateProducerIDs(context.Background(), 1)
	if err != nil || b != a+int64(n) {
		t.Fatalf("second block starts at %d (err %v), want %d", b, err, a+int64(n))
	}
	if _, _, err := c.AllocateProducerIDs(context.Background(), 9); protocol.Code(err) != protocol.BrokerIDNotRegistered {
		t.Fatalf("unregistered broker: %v", err)
	}
}

// TestRestartKeepsMetadata restarts from the Raft log and then from a
// snapshot, and checks that topics, ids and the producer-id counter return.
func TestRestartKeepsMetadata(t *testing.T) {
	cfg := testConfigs(t, 1)[0]
	for _, snapshot := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshot=%v", snapshot), func(t *testing.T) {
			cfg.Dir = t.TempDir()
			c, err := New(cfg, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			register(t, c, 1)
			r := createOne(t, c, CreateTopicSpec{Name: "keep", NumPartitions: 2, ReplicationFactor: 1})
			first, _, _ := c.AllocateProducerIDs(ctx, 1)
			if snapshot {
				if err := c.raft.Snapshot().Error(); err != nil {
					t.Fatal(err)
				}
			}
			was := c.Metadata()
			c.Close()

			c = start(t, cfg)
			md := c.Metadata()
			if md.ClusterID != was.ClusterID || md.Topic("keep") == nil || md.Topic("keep").ID != r.ID || len(md.Topic("keep").Partitions) != 2 {
				t.Fatalf("after restart: cluster %q topic %+v", md.ClusterID, md.Topic("keep"))
			}
			next, _, err := c.AllocateProducerIDs(ctx, 1)
			if err != nil || next <= first {
				t.Fatalf("producer ids went back: %d after %d (%v)", next, first, err)
			}
		})
	}
}

// TestFencing lets a broker's session lapse and checks that its partition
// loses its leader with an epoch bump, and that a heartbeat brings it back.
func TestFencing(t *testing.T) {
	cfg := testConfigs(t, 1)[0]
	cfg.SessionTimeout, cfg.HeartbeatInterval = 300*time.Millisecond, 50*time.Millisecond
	c := start(t, cfg)
	register(t, c, 1)
	createOne(t, c, CreateTopicSpec{Name: "f", NumPartitions: 1, ReplicationFactor: 1})
	epoch := c.Metadata().Topic("f").Partitions[0].LeaderEpoch
	waitFor(t, "broker 1 fenced", func() bool { return c.Metadata().Broker(1).Fenced })
	p := c.Metadata().Topic("f").Partitions[0]
	if p.Leader != -1 || p.LeaderEpoch <= epoch || !slices.Equal(p.ISR, []int32{1}) {
		t.Fatalf("fenced sole replica: leader %d epoch %d (was %d) isr %v", p.Leader, p.LeaderEpoch, epoch, p.ISR)
	}
	if err := c.Heartbeat(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	p2 := c.Metadata().Topic("f").Partitions[0]
	if c.Metadata().Broker(1).Fenced || p2.Leader != 1 || p2.LeaderEpoch <= p.LeaderEpoch {
		t.Fatalf("after heartbeat: fenced %v leader %d epoch %d", c.Metadata().Broker(1).Fenced, p2.Leader, p2.LeaderEpoch)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestThreeVoters runs a quorum in one process: every node converges on
// the same image, and losing the leader elects another that carries on.
func TestThreeVoters(t *testing.T) {
	nodes := startVoters(t, testConfigs(t, 3))
	leader := func() *Coordinator {
		for _, c := range nodes {
			if c != nil && c.ctrl.isActive() {
				return c
			}
		}
		return nil
	}
	waitFor(t, "an active controller", func() bool { return leader() != nil })
	l := leader()
	register(t, l, 1, 2, 3)
	r := createOne(t, l, CreateTopicSpec{Name: "q", NumPartitions: 3, ReplicationFactor: 3})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	for _, c := range nodes {
		waitFor(t, "topic q everywhere", func() bool { return c.Metadata().Topic("q") != nil })
		if c.Metadata().ClusterID != l.Metadata().ClusterID || c.LeaderID() != l.cfg.NodeID {
			t.Fatalf("node %d disagrees: cluster %q leader %d", c.cfg.NodeID, c.Metadata().ClusterID, c.LeaderID())
		}
	}
	// Any node takes controller operations: a follower forwards them and
	// answers once its own image has the change.
	for _, c := range nodes {
		if c == l {
			continue
		}
		name := fmt.Sprintf("via-%d", c.cfg.NodeID)
		if r := createOne(t, c, CreateTopicSpec{Name: name, NumPartitions: 1, ReplicationFactor: 3}); r.Err != nil {
			t.Fatalf("create through follower %d: %v", c.cfg.NodeID, r.Err)
		}
		if c.Metadata().Topic(name) == nil {
			t.Fatalf("follower %d answered before applying the topic it created", c.cfg.NodeID)
		}
		if r := createOne(t, c, CreateTopicSpec{Name: name, NumPartitions: 1, ReplicationFactor: 3}); protocol.Code(r.Err) != protocol.TopicAlreadyExists {
			t.Fatalf("duplicate create through a follower: %v", r.Err)
		}
	}
	old := l
	old.Close()
	for i, c := range nodes {
		if c == old {
			nodes[i] = nil
		}
	}
	waitFor(t, "a new controller", func() bool { return leader() != nil })
	if r := createOne(t, leader(), CreateTopicSpec{Name: "after", NumPartitions: 1, ReplicationFactor: 1}); r.Err != nil {
		t.Fatalf("create after failover: %v", r.Err)
	}
}

// TestISRChangesAndControlledShutdown shrinks and regrows an ISR through
// AlterPartitions with the epoch checks, then moves leadership away from
// a broker that shuts down.
func TestISRChangesAndControlledShutdown(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	register(t, c, 1, 2, 3)
	r := createOne(t, c, CreateTopicSpec{Name: "isr", NumPartitions: -1, ReplicationFactor: -1,
		Assignment: []PartitionAssignment{{Partition: 0, Replicas: []int32{2, 3, 1}}}})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	p := c.Metadata().Topic("isr").Partitions[0]
	if p.Leader != 2 || !slices.Equal(p.ISR, []int32{2, 3, 1}) {
		t.Fatalf("initial state: %+v", p)
	}
	alter := func(isr []int32, leaderEpoch, partitionEpoch int32) error {
		return alterOne(c, AlterPartition{Topic: "isr", Partition: 0, Leader: 2,
			LeaderEpoch: leaderEpoch, PartitionEpoch: partitionEpoch, ISR: isr})
	}
	if err := alter([]int32{2, 1}, p.LeaderEpoch, p.PartitionEpoch); err != nil {
		t.Fatal(err)
	}
	if err := alter([]int32{2}, p.LeaderEpoch, p.PartitionEpoch); protocol.Code(err) != protocol.InvalidUpdateVersion {
		t.Fatalf("stale partition epoch: %v", err)
	}
	if err := alter([]int32{2}, p.LeaderEpoch-1, p.PartitionEpoch+1); protocol.Code(err) != protocol.FencedLeaderEpoch {
		t.Fatalf("stale leader epoch: %v", err)
	}
	if err := alter([]int32{1}, p.LeaderEpoch, p.PartitionEpoch+1); protocol.Code(err) != protocol.InvalidRequest {
		t.Fatalf("ISR without the leader: %v", err)
	}
	if got := c.Metadata().Topic("isr").Partitions[0].ISR; !slices.Equal(got, []int32{2, 1}) {
		t.Fatalf("ISR after shrink %v, want [2 1]", got)
	}
	if err := c.ControlledShutdown(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	p2 := c.Metadata().Topic("isr").Partitions[0]
	if p2.Leader != 1 || !slices.Equal(p2.ISR, []int32{1}) || p2.LeaderEpoch != p.LeaderEpoch+1 {
		t.Fatalf("after controlled shutdown of the leader: %+v", p2)
	}
	if err := c.Heartbeat(context.Background(), 2); err != nil || !c.Metadata().Broker(2).Fenced {
		t.Fatalf("a heartbeat must not unfence a broker in controlled shutdown (err %v)", err)
	}
}

// TestRackAwarePlacement puts every partition's replicas on distinct racks
// when the brokers' racks allow it.
func TestRackAwarePlacement(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	for id, rack := range map[int32]string{1: "a", 2: "a", 3: "b", 4: "b", 5: "c", 6: "c"} {
		if err := c.RegisterBroker(context.Background(), BrokerRegistration{ID: id, Rack: rack}); err != nil {
			t.Fatal(err)
		}
	}
	if r := createOne(t, c, CreateTopicSpec{Name: "racks", NumPartitions: 12, ReplicationFactor: 3}); r.Err != nil {
		t.Fatal(r.Err)
	}
	md := c.Metadata()
	leaders := map[int32]int{}
	for _, p := range md.Topic("racks").Partitions {
		racks := map[string]bool{}
		for _, r := range p.Replicas {
			racks[md.Broker(r).Rack] = true
		}
		if len(racks) != 3 {
			t.Fatalf("partition %d replicas %v span racks %v", p.ID, p.Replicas, racks)
		}
		leaders[p.Leader]++
	}
	if len(leaders) != 6 {
		t.Fatalf("12 partitions led by %d of 6 brokers: %v", len(leaders), leaders)
	}
}

// TestUncleanElectionAndPreferredLeaders fences a partition's whole ISR:
// with unclean election off it stays leaderless, with it on an out-of-sync
// replica leads. Then preferred leaders are restored by the imbalance check.
func TestUncleanElectionAndPreferredLeaders(t *testing.T) {
	cfg := testConfigs(t, 1)[0]
	cfg.LeaderImbalanceCheckInterval = 200 * time.Millisecond
	c := start(t, cfg)
	register(t, c, 1, 2)
	for _, unclean := range []string{"false", "true"} {
		name := "u-" + unclean
		r := createOne(t, c, CreateTopicSpec{Name: name, NumPartitions: -1, ReplicationFactor: -1,
			Configs:    map[string]string{"unclean.leader.election.enable": unclean},
			Assignment: []PartitionAssignment{{Partition: 0, Replicas: []int32{2, 1}}}})
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		p := c.Metadata().Topic(name).Partitions[0]
		if err := alterOne(c, AlterPartition{Topic: name, Leader: 2,
			LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{2}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ControlledShutdown(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if p := c.Metadata().Topic("u-false").Partitions[0]; p.Leader != -1 {
		t.Fatalf("clean election only: leader %d, want none", p.Leader)
	}
	if p := c.Metadata().Topic("u-true").Partitions[0]; p.Leader != 1 || !slices.Equal(p.ISR, []int32{1}) {
		t.Fatalf("unclean election: leader %d isr %v, want 1 and [1]", p.Leader, p.ISR)
	}
	register(t, c, 2) // back: leads u-false again; u-true stays with 1 until 2 rejoins its ISR
	if p := c.Metadata().Topic("u-false").Partitions[0]; p.Leader != 2 {
		t.Fatalf("returning sole ISR member does not lead: %d", p.Leader)
	}
	p := c.Metadata().Topic("u-true").Partitions[0]
	if err := alterOne(c, AlterPartition{Topic: "u-true", Leader: 1,
		LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the preferred replica leading again", func() bool {
		return c.Metadata().Topic("u-true").Partitions[0].Leader == 2
	})
}

// alterOne asks for one ISR change and returns its outcome.
func alterOne(c *Coordinator, a AlterPartition) error {
	errs, err := c.AlterPartitions(context.Background(), []AlterPartition{a})
	if err != nil {
		return err
	}
	return errs[0]
}
