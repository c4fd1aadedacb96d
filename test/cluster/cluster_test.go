// Package cluster runs three real gokafka-server processes on 127.0.0.1 and
// checks Kafka's replication guarantees while nodes are killed, stopped
// and restarted.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/test/harness"
)

// Short timeouts so that failures are detected within a test's patience;
// the mechanisms are the same as with Kafka's defaults.
var fastFailover = []string{
	"broker.session.timeout.ms=3000",
	"broker.heartbeat.interval.ms=500",
	"replica.lag.time.max.ms=3000",
}

func startCluster(t *testing.T) *harness.Cluster {
	t.Helper()
	return harness.StartT(t, 3, fastFailover...)
}

func client(t *testing.T, c *harness.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Seeds()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// partitionState reads leader and ISR of topic's partition p from the
// first running node that answers within a second; leader -1 if none does.
func partitionState(t *testing.T, c *harness.Cluster, topic string, p int32) (leader int32, isr []int32) {
	t.Helper()
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr), kgo.RequestTimeoutOverhead(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		md, err := kadm.NewClient(cl).Metadata(ctx, topic)
		cancel()
		cl.Close()
		if err != nil {
			continue
		}
		pd, ok := md.Topics[topic].Partitions[p]
		if !ok {
			continue
		}
		isr = slices.Clone(pd.ISR)
		slices.Sort(isr)
		return pd.Leader, isr
	}
	return -1, nil
}

// waitLeader waits until partition 0 of topic has a leader with a full
// ISR, and returns it.
func waitLeader(t *testing.T, c *harness.Cluster, topic string) int32 {
	t.Helper()
	var leader int32
	harness.WaitFor(t, topic+" led with a full ISR", 10*time.Second, func() bool {
		var isr []int32
		leader, isr = partitionState(t, c, topic, 0)
		return leader > 0 && len(isr) == 3
	})
	return leader
}

// topicID is topic's id, for requests that name topics by id from some
// version on (Produce v13).
func topicID(t *testing.T, cl *kgo.Client, topic string) [16]byte {
	t.Helper()
	td, err := kadm.NewClient(cl).ListTopics(ctxFor(t, 10*time.Second), topic)
	if err != nil {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	return td[topic].ID
}

func createTopic(t *testing.T, c *harness.Cluster, name string, partitions int32) {
	t.Helper()
	r, err := kadm.NewClient(client(t, c)).CreateTopic(ctxFor(t, 15*time.Second), partitions, 3, nil, name)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	// Each broker applies the metadata on its own; a client may ask any.
	harness.WaitFor(t, name+" known to every node", 10*time.Second, func() bool {
		for _, n := range c.Nodes {
			if n.Running() && !knows(t, n, name) {
				return false
			}
		}
		return true
	})
}

// knows reports whether node n's own metadata has topic with leaders.
func knows(t *testing.T, n *harness.Node, topic string) bool {
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxFor(t, 2*time.Second), cl.Broker(n.ID))
	if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		return false
	}
	for _, p := range resp.Topics[0].Partitions {
		if p.Leader < 0 {
			return false
		}
	}
	return true
}

// TestTopicsVisibleEverywhere creates topics through each node and checks
// that every node lists them with RF 3, a full ISR and spread leaders.
func TestTopicsVisibleEverywhere(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "topic-A", 2)
	createTopic(t, c, "topic-B", 1)
	leaders := map[int32]bool{}
	for _, n := range c.Nodes {
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr))
		if err != nil {
			t.Fatal(err)
		}
		md, err := kadm.NewClient(cl).Metadata(ctxFor(t, 10*time.Second), "topic-A", "topic-B")
		cl.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(md.Brokers) != 3 {
			t.Fatalf("node %d lists %d brokers", n.ID, len(md.Brokers))
		}
		for _, topic := range []string{"topic-A", "topic-B"} {
			for _, p := range md.Topics[topic].Partitions {
				if len(p.Replicas) != 3 || len(p.ISR) != 3 || p.Leader < 1 {
					t.Fatalf("node %d: %s-%d replicas %v isr %v leader %d", n.ID, topic, p.Partition, p.Replicas, p.ISR, p.Leader)
				}
				leaders[p.Leader] = true
			}
		}
	}
	if len(leaders) < 2 {
		t.Fatalf("3 partitions all led by %v: leaders should spread", leaders)
	}
}

// produceLoop produces numbered records to topic partition 0 with acks=all
// until stop closes, and returns the values that were acknowledged.
func produceLoop(t *testing.T, c *harness.Cluster, topic string, stop <-chan struct{}) func() []string {
	cl := client(t, c, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordRetries(1000), kgo.RecordDeliveryTimeout(60*time.Second))
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := fmt.Sprintf("r-%06d", i)
			cl.Produce(context.Background(), &kgo.Record{Value: []byte(v)}, func(r *kgo.Record, err error) {
				if err == nil {
					mu.Lock()
					acked = append(acked, fmt.Sprintf("%s@%d", v, r.Offset))
					mu.Unlock()
				}
			})
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return func() []string {
		wg.Wait()
		cl.Flush(ctxFor(t, 60*time.Second))
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(acked)
	}
}

// readAll consumes partition 0 of topic from the start up to its end.
func readAll(t *testing.T, c *harness.Cluster, topic string) []string {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	ends, err := kadm.NewClient(client(t, c)).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	cl := client(t, c, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	var out []string
	for int64(len(out)) < end.Offset {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", len(out), end.Offset)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Value)) })
	}
	return out
}

// checkNoLossNoReorder checks that every acknowledged value ("value@offset"
// as produceLoop records them, or a bare value) was read, and that each
// producer's values (named prefix-sequence) were read in the order it
// produced them.
func checkNoLossNoReorder(t *testing.T, c *harness.Cluster, topic string, acked, read []string) {
	t.Helper()
	at := map[string]int{}
	last := map[string]string{}
	for i, v := range read {
		producer, _, _ := strings.Cut(v, "-")
		if v < last[producer] {
			dumpPartition(t, c, topic)
			t.Fatalf("reordered: %s after %s", v, last[producer])
		}
		last[producer] = v
		at[v] = i
	}
	for _, a := range acked {
		v, off, _ := strings.Cut(a, "@")
		if _, ok := at[v]; !ok {
			var near []string
			if o, err := strconv.Atoi(off); err == nil {
				for i := max(o-2, 0); i < min(o+3, len(read)); i++ {
					near = append(near, fmt.Sprintf("%d:%s", i, read[i]))
				}
			}
			dumpPartition(t, c, topic)
			t.Fatalf("acknowledged record %s lost (%d acknowledged, %d read); read around its offset: %v",
				a, len(acked), len(read), near)
		}
	}
}

// TestFollowerLeavesAndRejoinsISR kills a follower: it leaves the ISR
// within the lag time; restarted, it catches up and the ISR is whole.
func TestFollowerLeavesAndRejoinsISR(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "isr", 1)
	leader := waitLeader(t, c, "isr")
	var follower *harness.Node
	for _, n := range c.Nodes {
		if int32(n.ID) != leader {
			follower = n
			break
		}
	}
	stop := make(chan struct{})
	acked := produceLoop(t, c, "isr", stop)
	time.Sleep(time.Second)
	ln := c.Nodes[leader-1]
	shrinks := harness.Metric(t, ln, "gokafka_server_replicamanager_isrshrinks_total")
	expands := harness.Metric(t, ln, "gokafka_server_replicamanager_isrexpands_total")
	follower.Kill()
	harness.WaitFor(t, "killed follower out of the ISR", 15*time.Second, func() bool {
		_, isr := partitionState(t, c, "isr", 0)
		return !slices.Contains(isr, int32(follower.ID))
	})
	// The leader's metrics tell the same story an operator would alert on.
	harness.WaitFor(t, "the leader counting the shrink and an under-replicated partition", 5*time.Second, func() bool {
		return harness.Metric(t, ln, "gokafka_server_replicamanager_isrshrinks_total") > shrinks &&
			harness.Metric(t, ln, "gokafka_server_replicamanager_underreplicatedpartitions") >= 1
	})
	if err := follower.Start(); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, "restarted follower back in the ISR", 30*time.Second, func() bool {
		_, isr := partitionState(t, c, "isr", 0)
		return len(isr) == 3
	})
	harness.WaitFor(t, "the leader counting the expansion, nothing under-replicated", 5*time.Second, func() bool {
		return harness.Metric(t, ln, "gokafka_server_replicamanager_isrexpands_total") > expands &&
			harness.Metric(t, ln, "gokafka_server_replicamanager_underreplicatedpartitions") == 0
	})
	close(stop)
	checkNoLossNoReorder(t, c, "isr", acked(), readAll(t, c, "isr"))
}

// TestLeaderKilledUnderLoad SIGKILLs the leader under continuous acks=all
// produce: a new leader comes from the ISR and no acknowledged record is
// lost or reordered.
func TestLeaderKilledUnderLoad(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "failover", 1)
	leader := waitLeader(t, c, "failover")
	stop := make(chan struct{})
	acked := produceLoop(t, c, "failover", stop)
	time.Sleep(2 * time.Second)
	c.Nodes[leader-1].Kill()
	killed := time.Now()
	harness.WaitFor(t, "a new leader", 20*time.Second, func() bool {
		l, _ := partitionState(t, c, "failover", 0)
		return l > 0 && l != leader
	})
	t.Logf("new leader elected %v after the kill", time.Since(killed).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	close(stop)
	got := acked()
	if len(got) < 100 {
		t.Fatalf("only %d records acknowledged", len(got))
	}
	checkNoLossNoReorder(t, c, "failover", got, readAll(t, c, "failover"))
}

// TestCoordinatorLoss stops voters: with one of three down a topic can
// still be created; with two down creation fails with a retriable error
// while metadata still answers; when they return the cluster heals by
// itself.
func TestCoordinatorLoss(t *testing.T) {
	c := startCluster(t)
	adm := kadm.NewClient(client(t, c, kgo.RetryTimeout(5*time.Second)))
	create := func(name string, rf int16, within time.Duration) error {
		r, err := adm.CreateTopic(ctxFor(t, within), 1, rf, nil, name)
		if err == nil {
			err = r.Err
		}
		return err
	}
	c.Nodes[2].Kill()
	if err := create("one-down", 2, 20*time.Second); err != nil {
		t.Fatalf("create with one voter of three down: %v", err)
	}
	c.Nodes[1].Kill()
	err := create("two-down", 1, 15*time.Second)
	err2 := err
	if err == nil {
		t.Fatal("a topic was created with two voters of three down")
	}
	if !kerr.IsRetriable(err) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, kerr.NotController) {
		t.Fatalf("with two voters down: %v, want a retriable error", err)
	}
	t.Logf("with two voters down a create fails with: %v", err)
	if _, err := adm.Metadata(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("metadata with two voters down: %v", err)
	}
	for _, n := range c.Nodes[1:] {
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := create("healed", 3, 30*time.Second); err != nil {
		t.Fatalf("create after the voters returned: %v", err)
	}
	// Metadata comes from whichever broker kadm asks; one that has just
	// rejoined may answer from a copy a few entries behind, so the check
	// is for what every broker must converge to.
	var topics kadm.TopicDetails
	harness.WaitFor(t, "one-down listed after healing", 10*time.Second, func() bool {
		topics, err = adm.ListTopics(ctxFor(t, 10*time.Second))
		return err == nil && topics.Has("one-down") && topics.Has("healed")
	})
	// A create the lone controller had put in its log when it lost its
	// quorum may be committed once the voters return: its answer was a
	// timeout, whose outcome Kafka leaves open. A NOT_CONTROLLER answer
	// is definite.
	if topics.Has("two-down") && errors.Is(err2, kerr.NotController) {
		t.Fatalf("topics after healing: %v: two-down was created after NOT_CONTROLLER", topics.Names())
	}
}

// TestWholeClusterKilledAndRestarted SIGKILLs all three nodes and checks
// that topics, offsets and data come back.
func TestWholeClusterKilledAndRestarted(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "all-down", 1)
	waitLeader(t, c, "all-down")
	stop := make(chan struct{})
	acked := produceLoop(t, c, "all-down", stop)
	time.Sleep(2 * time.Second)
	close(stop)
	want := acked()
	// The last node standing has no quorum: /readyz says so, so that an
	// orchestrator stops sending it clients.
	c.Nodes[1].Kill()
	c.Nodes[2].Kill()
	var body string
	harness.WaitFor(t, "a node without quorum answering /readyz 503", 15*time.Second, func() bool {
		code, b, err := c.Nodes[0].Readyz()
		body = b
		return err == nil && code == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "Raft leader") {
		t.Errorf("/readyz without quorum says %q, want the reason (no Raft leader)", body)
	}
	c.Nodes[0].Kill()
	for _, n := range c.Nodes {
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, c, "all-down")
	got := readAll(t, c, "all-down")
	checkNoLossNoReorder(t, c, "all-down", want, got)
	if len(got) != len(want) {
		t.Fatalf("read %d records after the restart, %d were acknowledged", len(got), len(want))
	}
}

// TestPausedLeaderNoSplitBrain SIGSTOPs the leader past the session
// timeout: a new leader takes over; resumed, the old leader acknowledges no
// acks=all write that the new leader lacks, then truncates and follows.
func TestPausedLeaderNoSplitBrain(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "pause", 1)
	old := waitLeader(t, c, "pause")
	stop := make(chan struct{})
	acked := produceLoop(t, c, "pause", stop)
	time.Sleep(time.Second)
	paused := c.Nodes[old-1]
	paused.Pause()
	t.Cleanup(paused.Resume) // never leave a stopped process behind
	harness.WaitFor(t, "a new leader while the old one is paused", 20*time.Second, func() bool {
		l, _ := partitionState(t, c, "pause", 0)
		return l > 0 && l != old
	})
	// A producer that only knows the old leader writes to it as it resumes.
	direct, err := kgo.NewClient(kgo.SeedBrokers(paused.KafkaAddr), kgo.DefaultProduceTopic("pause"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	resumed := make(chan struct{})
	go func() { time.Sleep(500 * time.Millisecond); paused.Resume(); close(resumed) }()
	var staleAcked []string
	for i := range 20 {
		v := fmt.Sprintf("stale-%02d", i)
		if err := direct.ProduceSync(ctxFor(t, 15*time.Second), &kgo.Record{Value: []byte(v)}).FirstErr(); err == nil {
			staleAcked = append(staleAcked, v)
		}
	}
	<-resumed
	harness.WaitFor(t, "the old leader back in the ISR", 30*time.Second, func() bool {
		_, isr := partitionState(t, c, "pause", 0)
		return len(isr) == 3
	})
	close(stop)
	want := append(acked(), staleAcked...) // flushes before reading
	checkNoLossNoReorder(t, c, "pause", want, readAll(t, c, "pause"))
	if paused.Running() == false {
		t.Fatal("the paused leader died")
	}
}

// TestRollingRestart restarts each node with SIGTERM in turn under
// continuous produce; nothing acknowledged is lost.
func TestRollingRestart(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "rolling", 1)
	waitLeader(t, c, "rolling")
	stop := make(chan struct{})
	acked := produceLoop(t, c, "rolling", stop)
	for _, n := range c.Nodes {
		time.Sleep(time.Second)
		if err := n.Stop(); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		if err := n.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		harness.WaitFor(t, fmt.Sprintf("full ISR after restarting node %d", n.ID), 30*time.Second, func() bool {
			_, isr := partitionState(t, c, "rolling", 0)
			return len(isr) == 3
		})
	}
	close(stop)
	got := acked()
	checkNoLossNoReorder(t, c, "rolling", got, readAll(t, c, "rolling"))
}

// TestNotLeaderNamesTheLeader produces to a follower: the answer is
// NOT_LEADER_OR_FOLLOWER with the current leader and its endpoint
// (KIP-951), so clients move without waiting for a metadata refresh.
func TestNotLeaderNamesTheLeader(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "hint", 1)
	leader := waitLeader(t, c, "hint")
	follower := int32(1)
	if leader == 1 {
		follower = 2
	}
	cl := client(t, c)
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 12, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = "hint", topicID(t, cl, "hint") // by id from v13
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = prototest.Plain(time.Now().UnixMilli(), "x").Encode()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	// The follower's own metadata may lag the node that named the leader
	// by a moment; until it has the topic it answers UNKNOWN_TOPIC (by
	// name) or UNKNOWN_TOPIC_ID (v13).
	var resp *kmsg.ProduceResponse
	for try := 0; try < 20; try++ {
		r, err := req.RequestWith(ctxFor(t, 10*time.Second), cl.Broker(int(follower)))
		if err != nil {
			t.Fatal(err)
		}
		resp = r
		if code := r.Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code && code != kerr.UnknownTopicID.Code {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != kerr.NotLeaderForPartition.Code || p.CurrentLeader.LeaderID != leader {
		t.Fatalf("produce to follower %d: code %d, current leader %d, want %d and %d",
			follower, p.ErrorCode, p.CurrentLeader.LeaderID, kerr.NotLeaderForPartition.Code, leader)
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != leader ||
		fmt.Sprintf("%s:%d", resp.Brokers[0].Host, resp.Brokers[0].Port) != c.Nodes[leader-1].KafkaAddr {
		t.Fatalf("leader endpoint: %+v", resp.Brokers)
	}
}

// TestMinInsyncReplicas shrinks the ISR below min.insync.replicas: acks=all
// writes are refused with NOT_ENOUGH_REPLICAS while acks=1 writes go on.
func TestMinInsyncReplicas(t *testing.T) {
	c := startCluster(t)
	r, err := kadm.NewClient(client(t, c)).CreateTopic(ctxFor(t, 15*time.Second), 1, 3,
		map[string]*string{"min.insync.replicas": kadm.StringPtr("3")}, "minisr")
	if err == nil {
		err = r.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	leader := waitLeader(t, c, "minisr")
	victim := c.Nodes[leader%3] // a follower
	victim.Kill()
	harness.WaitFor(t, "the ISR shrinking to 2", 20*time.Second, func() bool {
		_, isr := partitionState(t, c, "minisr", 0)
		return len(isr) == 2
	})
	// franz-go retries NOT_ENOUGH_REPLICAS until its delivery timeout, so
	// the answer is read off the wire.
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = "minisr", r.ID // by id from v13
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = prototest.Plain(time.Now().UnixMilli(), "needs three").Encode()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	// The first try may race the leader adopting the smaller ISR, and be
	// appended but answered NOT_ENOUGH_REPLICAS_AFTER_APPEND; once the
	// leader has it, nothing is appended.
	code := kerr.NotEnoughReplicasAfterAppend.Code
	for try := 0; try < 5 && code == kerr.NotEnoughReplicasAfterAppend.Code; try++ {
		resp, err := req.RequestWith(ctxFor(t, 10*time.Second), client(t, c).Broker(int(leader)))
		if err != nil {
			t.Fatal(err)
		}
		code = resp.Topics[0].Partitions[0].ErrorCode
		time.Sleep(200 * time.Millisecond)
	}
	if code != kerr.NotEnoughReplicas.Code {
		t.Fatalf("acks=all with ISR 2 < min.insync.replicas 3: code %d, want NOT_ENOUGH_REPLICAS", code)
	}
	one := client(t, c, kgo.DefaultProduceTopic("minisr"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err := one.ProduceSync(ctxFor(t, 10*time.Second), kgo.StringRecord("one is enough")).FirstErr(); err != nil {
		t.Fatalf("acks=1 with a shrunk ISR: %v", err)
	}
}

// dumpPartition logs every running node's own view of partition 0 of
// topic (ListOffsets as a debug replica, which any replica answers), to
// say where a failed check's records went.
func dumpPartition(t *testing.T, c *harness.Cluster, topic string) {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr))
		if err != nil {
			continue
		}
		for _, ts := range []int64{-1, -2} {
			req := kmsg.NewPtrListOffsetsRequest()
			req.ReplicaID = -2
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = topic
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Timestamp, rp.CurrentLeaderEpoch = ts, -1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctxFor(t, 3*time.Second), cl.Broker(n.ID))
			if err != nil {
				t.Logf("node %d: %v", n.ID, err)
				continue
			}
			p := resp.Topics[0].Partitions[0]
			t.Logf("node %d: timestamp %d -> offset %d, leader epoch %d, code %d", n.ID, ts, p.Offset, p.LeaderEpoch, p.ErrorCode)
		}
		cl.Close()
	}
	l, isr := partitionState(t, c, topic, 0)
	t.Logf("metadata: leader %d isr %v", l, isr)
}

// TestBrokerOnlyNodeAndDuplicateID adds a process.roles=broker node: it
// joins as a Raft non-voter, serves the metadata and takes replicas. A
// second process started with the same node.id is refused and exits
// non-zero, saying why.
func TestBrokerOnlyNodeAndDuplicateID(t *testing.T) {
	c := startCluster(t)
	b4, err := c.AddBroker(4)
	if err != nil {
		t.Fatal(err)
	}
	if err := b4.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b4.KafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	r, err := adm.CreateTopic(ctxFor(t, 15*time.Second), 4, 4, nil, "four")
	if err == nil {
		err = r.Err
	}
	if err != nil {
		t.Fatalf("RF 4 through the broker-only node: %v", err)
	}
	md, err := adm.Metadata(ctxFor(t, 10*time.Second), "four")
	if err != nil || len(md.Brokers) != 4 {
		t.Fatalf("the broker-only node lists %d brokers (%v)", len(md.Brokers), err)
	}
	for _, p := range md.Topics["four"].Partitions {
		if len(p.Replicas) != 4 {
			t.Fatalf("partition %d has replicas %v", p.Partition, p.Replicas)
		}
	}

	dup, err := c.AddBroker(4)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-dup.Exited():
	case <-time.After(30 * time.Second):
		t.Fatalf("a second node.id 4 kept running:\n%s", dup.Tail(10))
	}
	if code := dup.ExitCode(); code == 0 {
		t.Fatalf("duplicate node.id exited 0:\n%s", dup.Tail(10))
	}
	if !strings.Contains(dup.Log(), "already") {
		t.Fatalf("duplicate node.id did not say why:\n%s", dup.Tail(10))
	}
	if !b4.Running() {
		t.Fatal("the original node 4 stopped")
	}
}

// TestForwardedPartitionsAndConfigs grows a topic and changes its configs
// through brokers other than the controller: each answers once the change
// is visible on itself, and the leader enforces the new config.
func TestForwardedPartitionsAndConfigs(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "grow", 1)
	for i, n := range c.Nodes[1:] {
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		want := 2 + i
		rs, err := adm.UpdatePartitions(ctxFor(t, 15*time.Second), want, "grow")
		if err == nil {
			err = rs["grow"].Err
		}
		if err != nil {
			t.Fatalf("growing to %d through node %d: %v", want, n.ID, err)
		}
		// Asked of that very broker: kadm would pick any.
		mreq := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr("grow")
		mreq.Topics = append(mreq.Topics, mt)
		md, err := mreq.RequestWith(ctxFor(t, 5*time.Second), cl.Broker(n.ID))
		if err != nil || len(md.Topics) != 1 || len(md.Topics[0].Partitions) != want {
			t.Fatalf("node %d right after growing: %+v (%v), want %d partitions", n.ID, md, err, want)
		}
	}
	adm := kadm.NewClient(client(t, c))
	rs, err := adm.UpdatePartitions(ctxFor(t, 10*time.Second), 1, "grow")
	if err == nil {
		err = rs["grow"].Err
	}
	if !errors.Is(err, kerr.InvalidPartitions) {
		t.Fatalf("shrinking: %v, want INVALID_PARTITIONS", err)
	}
	set := func(key, value string) error {
		rs, err := adm.AlterTopicConfigs(ctxFor(t, 10*time.Second), []kadm.AlterConfig{{Name: key, Value: kadm.StringPtr(value)}}, "grow")
		if err == nil {
			err = rs[0].Err
		}
		return err
	}
	if err := set("retention.ms", "soon"); !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("bad value: %v, want INVALID_CONFIG", err)
	}
	if err := set("max.message.bytes", "200"); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, c, "grow")
	cl := client(t, c, kgo.DefaultProduceTopic("grow"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(2*time.Second), kgo.ProducerBatchCompression(kgo.NoCompression()))
	big := &kgo.Record{Value: []byte(strings.Repeat("x", 500))}
	var last error
	harness.WaitFor(t, "the leader enforcing max.message.bytes=200", 15*time.Second, func() bool {
		last = cl.ProduceSync(ctxFor(t, 5*time.Second), big).FirstErr()
		return errors.Is(last, kerr.MessageTooLarge)
	})
}

// TestCommittedOffsetsSurviveCoordinatorLoss commits offsets, SIGKILLs the
// group's coordinator and reads them from the new one, which rebuilt them
// from its replica of __consumer_offsets.
func TestCommittedOffsetsSurviveCoordinatorLoss(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c, "offs", 2)
	adm := kadm.NewClient(client(t, c))
	var commit kadm.Offsets
	commit.Add(kadm.Offset{Topic: "offs", Partition: 0, At: 42, LeaderEpoch: -1})
	commit.Add(kadm.Offset{Topic: "offs", Partition: 1, At: 7, LeaderEpoch: -1})
	res, err := adm.CommitOffsets(ctxFor(t, 30*time.Second), "cg", commit)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	found := adm.FindGroupCoordinators(ctxFor(t, 10*time.Second), "cg")["cg"]
	if found.Err != nil {
		t.Fatal(found.Err)
	}
	c.Nodes[found.NodeID-1].Kill()
	// Until the dead node is fenced, FindCoordinator still names it; kgo
	// gives up on a request whose broker it cannot dial, so each try is a
	// new client seeded with the live nodes only.
	var live []string
	for _, n := range c.Nodes {
		if n.Running() {
			live = append(live, n.KafkaAddr)
		}
	}
	var got kadm.OffsetResponses
	var fresh *kadm.Client
	harness.WaitFor(t, "offsets from the new coordinator", 30*time.Second, func() bool {
		cl, err := kgo.NewClient(kgo.SeedBrokers(live...))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		fresh = kadm.NewClient(cl)
		got, err = fresh.FetchOffsets(ctxFor(t, 10*time.Second), "cg")
		if err == nil {
			err = got.Error()
		}
		if err != nil {
			t.Logf("fetching offsets: %v", err)
		}
		return err == nil
	})
	for p, want := range map[int32]int64{0: 42, 1: 7} {
		if o, ok := got.Lookup("offs", p); !ok || o.At != want {
			t.Fatalf("partition %d: %+v, want %d", p, o, want)
		}
	}
	// Each broker applies the leader change from its own copy of the Raft
	// log, so one that lags a little may name the old coordinator for a
	// moment longer; every one must stop doing so.
	cl := client(t, c, kgo.SeedBrokers(live...))
	var again kadm.FindCoordinatorResponse
	harness.WaitFor(t, "FindCoordinator naming a live broker", 5*time.Second, func() bool {
		again = kadm.NewClient(cl).FindGroupCoordinators(ctxFor(t, 10*time.Second), "cg")["cg"]
		return again.Err == nil && again.NodeID != found.NodeID
	})
}

// TestGroupSurvivesCoordinatorLoss SIGKILLs the broker coordinating a
// consumer group while two consumers read: the group moves to the new
// leader of its offsets partition, committed offsets are intact, and the
// consumers go on, re-reading at most the uncommitted tail (at-least-once;
// the duplicates are counted and printed).
func TestGroupSurvivesCoordinatorLoss(t *testing.T) {
	c := harness.StartT(t, 3, append(fastFailover, "group.initial.rebalance.delay.ms=0")...)
	createTopic(t, c, "gfo", 3)
	adm := kadm.NewClient(client(t, c))
	coord := adm.FindGroupCoordinators(ctxFor(t, 10*time.Second), "gfo-group")["gfo-group"]
	if coord.Err != nil {
		t.Fatal(coord.Err)
	}
	var live []string
	for _, n := range c.Nodes {
		if n.ID != int(coord.NodeID) {
			live = append(live, n.KafkaAddr)
		}
	}
	var mu sync.Mutex
	reads := map[string]int{}
	for range 2 {
		cl := client(t, c, kgo.SeedBrokers(live...), kgo.ConsumerGroup("gfo-group"), kgo.ConsumeTopics("gfo"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitInterval(300*time.Millisecond),
			kgo.SessionTimeout(6*time.Second), kgo.FetchMaxWait(200*time.Millisecond))
		go func() {
			for {
				fs := cl.PollFetches(context.Background())
				if fs.IsClientClosed() {
					return
				}
				mu.Lock()
				fs.EachRecord(func(r *kgo.Record) { reads[string(r.Value)]++ })
				mu.Unlock()
			}
		}()
	}
	prod := client(t, c, kgo.SeedBrokers(live...), kgo.DefaultProduceTopic("gfo"), kgo.RecordRetries(1000))
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			prod.Produce(context.Background(), &kgo.Record{Value: fmt.Appendf(nil, "v%04d", i)}, nil)
		}
		if err := prod.Flush(ctxFor(t, 60*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	distinct := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(reads)
	}
	produce(0, 500)
	harness.WaitFor(t, "the first 500 records read", 30*time.Second, func() bool { return distinct() == 500 })
	time.Sleep(time.Second) // let a commit land
	c.Nodes[coord.NodeID-1].Kill()
	killed := time.Now()
	produce(500, 1000)
	harness.WaitFor(t, "all 1000 records read after the coordinator died", 60*time.Second, func() bool { return distinct() == 1000 })
	mu.Lock()
	dups := 0
	for _, n := range reads {
		dups += n - 1
	}
	mu.Unlock()
	t.Logf("coordinator %d killed; all records read %v later; %d duplicates (at-least-once re-reads)",
		coord.NodeID, time.Since(killed).Round(time.Millisecond), dups)
	if dups > 500 {
		t.Fatalf("%d duplicates: consumers restarted from scratch instead of from the committed offsets", dups)
	}
}
