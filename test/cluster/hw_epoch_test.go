package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// A new leader starts with the high watermark it had as a follower, which
// trails the old leader's by up to a fetch. Until it reaches the offset
// where its epoch began it must answer ListOffsets(latest) with
// OFFSET_NOT_AVAILABLE (KIP-207), never with an offset below records that
// consumers have already read: lag would go negative and a reset to latest
// would move a group backwards. Every record acknowledged with acks=all was
// below the old leader's high watermark, so a consumer may have read it;
// the test takes the highest acknowledged offset as what consumers read.
func TestHighWatermarkNeverBackwardsAfterLeaderChange(t *testing.T) {
	const topic = "hw-epoch"
	c := startCluster(t)
	createTopic(t, c, topic, 1)
	var readTo atomic.Int64 // one past the highest acknowledged offset
	stop := make(chan struct{})
	acked := produceLoopNoting(t, c, topic, stop, &readTo)
	defer func() { close(stop); acked() }()

	var backwards, unavailable int
	for round := range 3 {
		leader := waitLeader(t, c, topic)
		heir, other := heirOf(t, c, topic, leader)
		time.Sleep(1500 * time.Millisecond) // a steady stream of acks first
		// The other follower holds the high watermark back while the heir
		// fetches ahead; then, with the heir paused, the other catches up,
		// the high watermark moves to where the heir is and those records
		// are acknowledged, and the heir never hears of it.
		c.Nodes[other-1].Pause()
		time.Sleep(300 * time.Millisecond)
		c.Nodes[heir-1].Pause()
		c.Nodes[other-1].Resume()
		time.Sleep(300 * time.Millisecond)
		c.Nodes[leader-1].Kill()
		c.Nodes[heir-1].Resume()
		// The window lasts until the other follower fetches from the heir;
		// a pause shorter than the session timeout across the election
		// widens it from milliseconds to about a second.
		time.Sleep(2200 * time.Millisecond)
		c.Nodes[other-1].Pause()
		b, u := pollLatest(t, c, topic, &readTo, 2*time.Second)
		c.Nodes[other-1].Resume()
		b2, u2 := pollLatest(t, c, topic, &readTo, 2*time.Second)
		b, u = b+b2, u+u2
		t.Logf("round %d: killed leader %d, heir %d; %d answers below what was read, %d OFFSET_NOT_AVAILABLE", round, leader, heir, b, u)
		backwards, unavailable = backwards+b, unavailable+u
		if err := c.Nodes[leader-1].Start(); err != nil {
			t.Fatal(err)
		}
	}
	if backwards > 0 {
		t.Fatalf("%d ListOffsets(latest) answers were below offsets consumers had read", backwards)
	}
	t.Logf("%d OFFSET_NOT_AVAILABLE answers in all", unavailable)
}

// heirOf names the replica that leads topic's partition 0 once leader is
// fenced (the first other replica in assignment order, all being in the
// ISR) and the remaining one.
func heirOf(t *testing.T, c *harness.Cluster, topic string, leader int32) (heir, other int32) {
	t.Helper()
	md, err := kadm.NewClient(client(t, c)).Metadata(ctxFor(t, 5*time.Second), topic)
	if err != nil {
		t.Fatal(err)
	}
	var rest []int32
	for _, r := range md.Topics[topic].Partitions[0].Replicas {
		if r != leader {
			rest = append(rest, r)
		}
	}
	if len(rest) != 2 {
		t.Fatalf("replicas of %s-0 besides %d: %v", topic, leader, rest)
	}
	return rest[0], rest[1]
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

// pollLatest asks every running node for ListOffsets(latest) of partition
// 0, as a consumer does, as fast as they answer, for d. It counts answers
// below what readTo held when the request left, and OFFSET_NOT_AVAILABLE
// answers.
func pollLatest(t *testing.T, c *harness.Cluster, topic string, readTo *atomic.Int64, d time.Duration) (backwards, unavailable int) {
	t.Helper()
	var clients []*kgo.Client
	for _, n := range c.Nodes {
		if n.Running() {
			clients = append(clients, client(t, &harness.Cluster{Nodes: []*harness.Node{n}}))
		}
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		for _, cl := range clients {
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
	before := logLines(c, "ISR change refused")
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
	if refused := logLines(c, "ISR change refused") - before; refused > 5 {
		t.Fatalf("%d refused ISR changes after broker %d returned, want at most a handful", refused, victim.ID)
	} else {
		t.Logf("%d refused ISR changes after broker %d returned", refused, victim.ID)
	}
}

// logLines counts the lines holding text in every node's log.
func logLines(c *harness.Cluster, text string) int {
	n := 0
	for _, nd := range c.Nodes {
		n += strings.Count(nd.Log(), text)
	}
	return n
}
