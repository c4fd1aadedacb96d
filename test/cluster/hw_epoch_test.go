package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// A new leader starts with the high watermark it had as a follower, which
// trails the old leader's. Until it reaches the offset where its epoch
// began it must answer ListOffsets(latest) with OFFSET_NOT_AVAILABLE
// (KIP-207), never with an offset below records that consumers have
// already read: lag would go negative and a reset to latest would move a
// group backwards. Every record acknowledged with acks=all was below the
// old leader's high watermark, so a consumer may have read it; the test
// takes the highest acknowledged offset as what consumers read.
//
// Each round's topic has for replicas the two voters that are not the
// controller, so that killing the leader leaves the controller in place
// (a restarted voter may move it between rounds), and broker-only node 4,
// so that pausing it never costs the Raft quorum while a voter is dead.
func TestHighWatermarkNeverBackwardsAfterLeaderChange(t *testing.T) {
	const other = 4
	c := startCluster(t)
	b4, err := c.AddBroker(other)
	if err == nil {
		err = b4.WaitReady(30 * time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		ctrl := controllerID(t, c)
		leader, heir := ctrl%3+1, (ctrl+1)%3+1
		topic := createTopicAt(t, c, fmt.Sprintf("hw-epoch-%d", round), map[int32][]int32{0: {leader, heir, other}})
		if l := waitLeader(t, c, topic); l != leader {
			t.Fatalf("%s led by %d, want its first replica %d", topic, l, leader)
		}
		var readTo atomic.Int64 // one past the highest acknowledged offset
		stop := make(chan struct{})
		acked := produceLoopNoting(t, c, topic, stop, &readTo)
		time.Sleep(1500 * time.Millisecond) // a steady stream of acks first
		// Node 4 holds the high watermark back while the heir fetches
		// ahead; then node 4 catches up and the high watermark moves to
		// where the heir is, leaving the heir records above its own. With
		// the leader's replies to the heir cut meanwhile, the heir never
		// hears of that move either, though consumers may read up to it.
		b4.Pause()
		time.Sleep(300 * time.Millisecond)
		heal := cutReplies(t, c.Nodes[leader-1], c.Nodes[heir-1])
		b4.Resume()
		time.Sleep(300 * time.Millisecond)
		c.Nodes[leader-1].Kill()
		// The heir's high watermark lags until node 4 fetches from it, or
		// is fenced and leaves the ISR: paused from before the election
		// (a session timeout after the kill), node 4 keeps that window
		// open for a second or two.
		time.Sleep(2500 * time.Millisecond)
		b4.Pause()
		backwards, unavailable := pollLatest(t, c.Nodes[heir-1], topic, &readTo, 4*time.Second)
		heal()
		b4.Resume()
		close(stop)
		acked()
		t.Logf("round %d: killed leader %d, heir %d; %d answers below what was read, %d OFFSET_NOT_AVAILABLE", round, leader, heir, backwards, unavailable)
		if backwards > 0 {
			t.Fatalf("%d ListOffsets(latest) answers were below offsets consumers had read", backwards)
		}
		if unavailable == 0 {
			t.Fatal("no OFFSET_NOT_AVAILABLE while node 4 was paused: the new leader showed a lagging high watermark, or the window was missed")
		}
		if err := c.Nodes[leader-1].Start(); err == nil {
			err = c.Nodes[leader-1].WaitReady(30 * time.Second)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// cutReplies drops every TCP segment that node from's Kafka listener sends
// to the connections node to has open to it, until heal runs: to's fetches
// still arrive, but it hears nothing back. The rule lives in an nftables
// table of this test process's own. Without root or nft it logs why and
// cuts nothing.
func cutReplies(t *testing.T, from, to *harness.Node) (heal func()) {
	t.Helper()
	_, port, _ := net.SplitHostPort(from.KafkaAddr)
	out, err := exec.Command("ss", "-tnpH", "state", "established", "dst", from.KafkaAddr).Output()
	if err != nil {
		t.Logf("no cut (ss: %v)", err)
		return func() {}
	}
	var ports []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 5 && strings.Contains(line, fmt.Sprintf("pid=%d,", to.Pid())) {
			_, p, _ := net.SplitHostPort(f[2])
			ports = append(ports, p)
		}
	}
	if len(ports) == 0 {
		t.Logf("no cut: node %d has no connection to %s", to.ID, from.KafkaAddr)
		return func() {}
	}
	table := fmt.Sprintf("gokafka_cut_%d", os.Getpid())
	rules := fmt.Sprintf("table inet %s { chain out { type filter hook output priority 0; policy accept; tcp sport %s tcp dport { %s } drop; }; }",
		table, port, strings.Join(ports, ", "))
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("no cut (nft: %v: %s)", err, out)
		return func() {}
	}
	heal = func() { exec.Command("nft", "delete", "table", "inet", table).Run() }
	t.Cleanup(heal)
	return heal
}

// produceLoopNoting is produceLoop that also raises readTo past every
// acknowledged offset as the acknowledgement arrives.
func produceLoopNoting(t *testing.T, c *harness.Cluster, topic string, stop <-chan struct{}, readTo *atomic.Int64) func() {
	cl := client(t, c, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordRetries(1000), kgo.RecordDeliveryTimeout(60*time.Second))
	wait := produceEvery(stop, 2*time.Millisecond, func(i int) {
		cl.Produce(context.Background(), &kgo.Record{Value: fmt.Appendf(nil, "r-%06d", i)}, func(r *kgo.Record, err error) {
			for cur := readTo.Load(); err == nil && r.Offset+1 > cur; cur = readTo.Load() {
				if readTo.CompareAndSwap(cur, r.Offset+1) {
					break
				}
			}
		})
	})
	return func() { wait(); cl.Flush(ctxFor(t, 60*time.Second)) }
}

// produceEvery calls produce with 0, 1, 2, ... every interval until stop
// closes; the function it returns waits for the loop to end.
func produceEvery(stop <-chan struct{}, interval time.Duration, produce func(i int)) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			produce(i)
			time.Sleep(interval)
		}
	}()
	return func() { <-done }
}

// pollLatest asks node n for ListOffsets(latest) of partition 0, as a
// consumer does, as fast as it answers, for d. It counts answers below what
// readTo held when the request left, and OFFSET_NOT_AVAILABLE answers.
func pollLatest(t *testing.T, n *harness.Node, topic string, readTo *atomic.Int64, d time.Duration) (backwards, unavailable int) {
	t.Helper()
	cl := client(t, &harness.Cluster{Nodes: []*harness.Node{n}})
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		before := readTo.Load()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		resp, err := cl.SeedBrokers()[0].Request(ctx, req)
		cancel()
		if err != nil {
			continue
		}
		for _, rt := range resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, p := range rt.Partitions {
				switch {
				case p.ErrorCode == kerr.OffsetNotAvailable.Code:
					unavailable++
				case p.ErrorCode == 0 && p.Offset < before:
					if backwards++; backwards <= 5 {
						t.Logf("ListOffsets(latest) = %d (leader epoch %d) after offsets up to %d were read", p.Offset, p.LeaderEpoch, before)
					}
				}
			}
		}
	}
	return backwards, unavailable
}

// A broker that was fenced (here: paused past the session timeout) fetches
// again the moment it resumes, before its heartbeat has unfenced it.
// Leaders must not propose it for the ISR while their metadata shows it
// fenced, and must back off after a refusal; the issue saw 3,845 refused
// changes in two seconds.
func TestFencedBrokerReturnsWithoutISRStorm(t *testing.T) {
	const topic, partitions = "fenced-return", 6
	c := startCluster(t)
	createTopic(t, c, topic, partitions)
	ctrl := controllerID(t, c)
	victim := c.Nodes[ctrl%3] // not the controller: its pause would move the quorum
	cl := client(t, c, kgo.DefaultProduceTopic(topic), kgo.RecordRetries(1000), kgo.RecordDeliveryTimeout(60*time.Second))
	stop := make(chan struct{})
	wait := produceEvery(stop, time.Millisecond, func(i int) {
		cl.Produce(context.Background(), &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%64), Value: []byte("v")}, nil)
	})
	defer func() { close(stop); wait() }()

	time.Sleep(time.Second)
	fencings := logLines(c, "fencing broker")
	victim.Pause()
	harness.WaitFor(t, fmt.Sprintf("broker %d fenced", victim.ID), 15*time.Second, func() bool {
		return logLines(c, "fencing broker") > fencings
	})
	time.Sleep(time.Second) // leaders apply the fencing
	before := refusedISRChanges(c)
	victim.Resume()
	harness.WaitFor(t, "the victim back in every ISR", 30*time.Second, func() bool {
		for p := range int32(partitions) {
			if _, isr := partitionState(t, c, topic, p); len(isr) != 3 {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second)
	if refused := refusedISRChanges(c) - before; refused > 5 {
		t.Fatalf("%d refused ISR changes after broker %d returned, want at most a handful", refused, victim.ID)
	} else {
		t.Logf("%d refused ISR changes after broker %d returned", refused, victim.ID)
	}
}

// refusedISRChanges counts the ISR changes refused in every node's log:
// a leader logs one line per AlterPartition request, with the count.
func refusedISRChanges(c *harness.Cluster) int {
	n := 0
	for _, nd := range c.Nodes {
		for _, m := range refusedRE.FindAllStringSubmatch(nd.Log(), -1) {
			k, _ := strconv.Atoi(m[1])
			n += k
		}
	}
	return n
}

var refusedRE = regexp.MustCompile(`msg="ISR change refused".* refused=(\d+)`)

// logLines counts the lines holding text in every node's log.
func logLines(c *harness.Cluster, text string) int {
	n := 0
	for _, nd := range c.Nodes {
		n += strings.Count(nd.Log(), text)
	}
	return n
}
