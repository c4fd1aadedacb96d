package cluster

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// TestDescribeClusterAndLogDirs asks any broker for the cluster (three
// brokers, one cluster id) and every broker for its log directories, which
// hold each replica of a written topic with its size.
func TestDescribeClusterAndLogDirs(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "sized", 2)
	cl := client(t, c, kgo.DefaultProduceTopic("sized"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	for range 50 {
		if err := cl.ProduceSync(ctxFor(t, 10*time.Second), &kgo.Record{Value: make([]byte, 1000)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctxFor(t, 10*time.Second), cl)
	if err != nil || dc.ErrorCode != 0 {
		t.Fatalf("describe cluster: %v %+v", err, dc)
	}
	var ids []int32
	for _, b := range dc.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int32{1, 2, 3}) || dc.ClusterID == "" || !slices.Contains(ids, dc.ControllerID) {
		t.Fatalf("describe cluster: brokers %v, cluster %q, controller %d", ids, dc.ClusterID, dc.ControllerID)
	}
	var dirs kadm.DescribedAllLogDirs
	harness.WaitFor(t, "every replica written", 10*time.Second, func() bool {
		dirs, err = kadm.NewClient(cl).DescribeAllLogDirs(ctxFor(t, 10*time.Second), kadm.TopicsSet{"sized": {0: {}, 1: {}}})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		replicas := 0
		dirs.Each(func(d kadm.DescribedLogDir) {
			d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
				replicas++
				total += p.Size
			})
		})
		return replicas == 6 && total >= 3*50*1000
	})
	if len(dirs) != 3 {
		t.Fatalf("log dirs from %d brokers, want 3", len(dirs))
	}
	dirs.Each(func(d kadm.DescribedLogDir) {
		if d.Err != nil || d.TotalBytes <= 0 || d.UsableBytes <= 0 {
			t.Fatalf("broker %d dir %s: err %v, total %d, usable %d", d.Broker, d.Dir, d.Err, d.TotalBytes, d.UsableBytes)
		}
	})
}

// TestElectLeaders moves a partition's leadership back to its preferred
// replica on request (then ELECTION_NOT_NEEDED), and elects an out-of-ISR
// replica of a leaderless partition with an unclean election, which
// unclean.leader.election.enable=false would never do by itself.
func TestElectLeaders(t *testing.T) {
	c := startCluster(t)
	adm := kadm.NewClient(client(t, c))
	preferred := waitLeader(t, c, createTopicAt(t, c, "pref", map[int32][]int32{0: {2, 1, 3}}))
	if preferred != 2 {
		t.Fatalf("leader %d, want the preferred replica 2", preferred)
	}
	c.Nodes[1].Kill()
	harness.WaitFor(t, "leadership moved off node 2", 15*time.Second, func() bool { l, _ := partitionState(t, c, "pref", 0); return l > 0 && l != 2 })
	if err := c.Nodes[1].Start(); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, "node 2 back in the ISR", 30*time.Second, func() bool {
		_, isr := partitionState(t, c, "pref", 0)
		return len(isr) == 3
	})
	elect := func(how kadm.ElectLeadersHow, topic string) error {
		rs, err := adm.ElectLeaders(ctxFor(t, 15*time.Second), how, kadm.TopicsSet{topic: {0: {}}})
		if err != nil {
			return err
		}
		return rs[topic][0].Err
	}
	if err := elect(kadm.ElectPreferredReplica, "pref"); err != nil {
		t.Fatalf("preferred election: %v", err)
	}
	harness.WaitFor(t, "node 2 leading again", 10*time.Second, func() bool { l, _ := partitionState(t, c, "pref", 0); return l == 2 })
	if err := elect(kadm.ElectPreferredReplica, "pref"); !errors.Is(err, kerr.ElectionNotNeeded) {
		t.Fatalf("second preferred election: %v, want ELECTION_NOT_NEEDED", err)
	}

	// Replicas 2 and 3: 3 dies and leaves the ISR, then 2 dies as its last
	// member. When 3 alone comes back the partition stays leaderless
	// until an operator accepts the loss.
	createTopicAt(t, c, "lost", map[int32][]int32{0: {2, 3}})
	harness.WaitFor(t, "lost led by 2 with both in the ISR", 10*time.Second, func() bool {
		l, isr := partitionState(t, c, "lost", 0)
		return l == 2 && len(isr) == 2
	})
	c.Nodes[2].Kill()
	harness.WaitFor(t, "3 out of the ISR", 15*time.Second, func() bool { _, isr := partitionState(t, c, "lost", 0); return slices.Equal(isr, []int32{2}) })
	c.Nodes[1].Kill()
	if err := c.Nodes[2].Start(); err != nil {
		t.Fatal(err)
	}
	// Node 3 serves again, but /readyz holds it unready while a partition
	// it holds has no leader, and says so.
	harness.WaitFor(t, "lost leaderless with 3 back", 30*time.Second, func() bool {
		l, _ := partitionState(t, c, "lost", 0)
		code, body, err := c.Nodes[2].Readyz()
		return l == -1 && err == nil && code == http.StatusServiceUnavailable &&
			strings.Contains(body, "1 partitions with a replica here have no leader")
	})
	if err := elect(kadm.ElectPreferredReplica, "lost"); !errors.Is(err, kerr.PreferredLeaderNotAvailable) {
		t.Fatalf("preferred election without the preferred replica: %v", err)
	}
	if err := elect(kadm.ElectLiveReplica, "lost"); err != nil {
		t.Fatalf("unclean election: %v", err)
	}
	harness.WaitFor(t, "3 leading lost", 10*time.Second, func() bool { l, _ := partitionState(t, c, "lost", 0); return l == 3 })
}

// createTopicAt creates a topic with explicit replicas and returns its name.
func createTopicAt(t *testing.T, c interface{ Seeds() []string }, name string, replicas map[int32][]int32) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, -1, -1
	for p, rs := range replicas {
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: p, Replicas: rs})
	}
	req.Topics = []kmsg.CreateTopicsRequestTopic{rt}
	resp, err := req.RequestWith(ctxFor(t, 15*time.Second), cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	return name
}

// TestDeleteRecords deletes the first 40 records of a replicated partition:
// the log start offset moves on the leader and, through fetch responses,
// on the followers, so it holds after the leader dies; consumers start at
// 40; an offset past the high watermark is OFFSET_OUT_OF_RANGE.
func TestDeleteRecords(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "trim", 1)
	cl := client(t, c, kgo.DefaultProduceTopic("trim"))
	for i := range 100 {
		if err := cl.ProduceSync(ctxFor(t, 10*time.Second), &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	adm := kadm.NewClient(cl)
	del := func(offset int64) (kadm.DeleteRecordsResponse, error) {
		var o kadm.Offsets
		o.Add(kadm.Offset{Topic: "trim", Partition: 0, At: offset, LeaderEpoch: -1})
		rs, err := adm.DeleteRecords(ctxFor(t, 10*time.Second), o)
		if err != nil {
			return kadm.DeleteRecordsResponse{}, err
		}
		r, _ := rs.Lookup("trim", 0)
		return r, r.Err
	}
	if r, err := del(40); err != nil || r.LowWatermark != 40 {
		t.Fatalf("delete before 40: low watermark %d, %v", r.LowWatermark, err)
	}
	if _, err := del(500); !errors.Is(err, kerr.OffsetOutOfRange) {
		t.Fatalf("delete past the high watermark: %v, want OFFSET_OUT_OF_RANGE", err)
	}
	start := func() int64 {
		fresh := client(t, c)
		so, err := kadm.NewClient(fresh).ListStartOffsets(ctxFor(t, 10*time.Second), "trim")
		if err != nil {
			return -1
		}
		o, _ := so.Lookup("trim", 0)
		return o.Offset
	}
	if s := start(); s != 40 {
		t.Fatalf("log start %d after deleting, want 40", s)
	}
	leader, _ := partitionState(t, c, "trim", 0)
	time.Sleep(time.Second) // the followers' next fetch carries the new log start
	c.Nodes[leader-1].Kill()
	harness.WaitFor(t, "a new leader", 20*time.Second, func() bool { l, _ := partitionState(t, c, "trim", 0); return l > 0 && l != leader })
	if s := start(); s != 40 {
		t.Fatalf("log start %d on the new leader, want 40: the followers kept deleted records", s)
	}
	cons := client(t, c, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"trim": {0: kgo.NewOffset().AtStart()}}))
	fs := cons.PollRecords(ctxFor(t, 10*time.Second), 1)
	if recs := fs.Records(); len(recs) != 1 || recs[0].Offset != 40 || recs[0].Value[0] != 40 {
		t.Fatalf("consuming from the start: %v %v", recs, fs.Errors())
	}
}
