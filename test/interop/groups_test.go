package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// groupConsumer consumes topic in group, recording which partitions it was
// given and every value it read, until ctx ends.
type groupConsumer struct {
	cl   *kgo.Client
	mu   sync.Mutex
	seen map[string]int32 // value -> partition
	own  map[int32]bool
}

func startGroupConsumer(t *testing.T, c *harness.Cluster, group, topic string) *groupConsumer {
	return startGroupConsumerWith(t, c, group, topic)
}

func startGroupConsumerWith(t *testing.T, c *harness.Cluster, group, topic string, opts ...kgo.Opt) *groupConsumer {
	gcm := &groupConsumer{seen: map[string]int32{}, own: map[int32]bool{}}
	cl := client(t, c, append([]kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			gcm.mu.Lock()
			for _, p := range m[topic] {
				gcm.own[p] = true
			}
			gcm.mu.Unlock()
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			gcm.mu.Lock()
			for _, p := range m[topic] {
				delete(gcm.own, p)
			}
			gcm.mu.Unlock()
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			gcm.mu.Lock()
			for _, p := range m[topic] {
				delete(gcm.own, p)
			}
			gcm.mu.Unlock()
		})}, opts...)...)
	gcm.cl = cl
	go func() {
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			gcm.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) { gcm.seen[string(r.Value)] = r.Partition })
			gcm.mu.Unlock()
		}
	}()
	return gcm
}

func (g *groupConsumer) owned() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.own)
}

func (g *groupConsumer) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}

// groupCluster starts the three nodes the consumer-group tests run on:
// a group's coordinator is then the leader of a replicated partition of
// __consumer_offsets, with followers, as in production.
func groupCluster(t *testing.T) *harness.Cluster {
	return harness.StartT(t, 3, "group.initial.rebalance.delay.ms=0")
}

// TestConsumerGroupSplitAndFailover runs two franz-go consumers in one
// group: the four partitions are split between them and together they
// read everything; a second group reads everything too; when one consumer
// leaves, the other takes all partitions within seconds.
func TestConsumerGroupSplitAndFailover(t *testing.T) {
	c := groupCluster(t)
	createTopic(t, c, "grp", 4, nil)
	a := startGroupConsumer(t, c, "group-01", "grp")
	b := startGroupConsumer(t, c, "group-01", "grp")
	other := startGroupConsumer(t, c, "group-02", "grp")
	harness.WaitFor(t, "the partitions split over both consumers", 20*time.Second, func() bool {
		return a.owned() > 0 && b.owned() > 0 && a.owned()+b.owned() == 4
	})
	p := client(t, c, kgo.DefaultProduceTopic("grp"))
	for i := range 200 {
		p.Produce(context.Background(), &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%10), Value: fmt.Appendf(nil, "v%d", i)}, nil)
	}
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, "group-01 reading all 200", 20*time.Second, func() bool { return a.count()+b.count() == 200 })
	harness.WaitFor(t, "group-02 reading all 200", 20*time.Second, func() bool { return other.count() == 200 })
	a.mu.Lock()
	b.mu.Lock()
	for v, pa := range a.seen {
		if pb, ok := b.seen[v]; ok {
			t.Fatalf("%s read by both consumers (partitions %d and %d)", v, pa, pb)
		}
	}
	b.mu.Unlock()
	a.mu.Unlock()

	a.cl.Close() // leaves the group
	left := time.Now()
	harness.WaitFor(t, "the remaining consumer owning every partition", 15*time.Second, func() bool { return b.owned() == 4 })
	t.Logf("partitions moved %v after the consumer left", time.Since(left).Round(time.Millisecond))

	desc, err := kadm.NewClient(client(t, c)).DescribeGroups(testCtx(t), "group-01")
	if err != nil {
		t.Fatal(err)
	}
	if g := desc["group-01"]; g.State != "Stable" || len(g.Members) != 1 {
		t.Fatalf("group-01 after the leave: state %s, %d members", g.State, len(g.Members))
	}

	adm := kadm.NewClient(client(t, c))
	del := func(group string) error {
		r, err := adm.DeleteGroups(testCtx(t), group)
		if err == nil {
			err = r[group].Err
		}
		return err
	}
	if err := del("group-01"); !errors.Is(err, kerr.NonEmptyGroup) {
		t.Fatalf("deleting a group with a member: %v, want NON_EMPTY_GROUP", err)
	}
	var consumed kadm.TopicsSet
	consumed.Add("grp", 0)
	if r, err := adm.DeleteOffsets(testCtx(t), "group-01", consumed); err != nil || !errors.Is(r.Error(), kerr.GroupSubscribedToTopic) {
		t.Fatalf("deleting offsets of a topic the group consumes: %v %v, want GROUP_SUBSCRIBED_TO_TOPIC", err, r.Error())
	}
	if err := del("no-such-group"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("deleting an unknown group: %v, want GROUP_ID_NOT_FOUND", err)
	}
	if err := b.cl.CommitUncommittedOffsets(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	b.cl.Close()
	harness.WaitFor(t, "group-01 deleted once empty", 10*time.Second, func() bool { return del("group-01") == nil })
	if offs, err := adm.FetchOffsets(testCtx(t), "group-01"); err != nil || len(offs) != 0 {
		t.Fatalf("offsets of a deleted group: %v %v", offs, err)
	}
}

// TestCooperativeStickyGroup runs franz-go's cooperative-sticky balancer
// (incremental rebalancing over the classic protocol): a third consumer
// joining takes partitions without the others losing all of theirs.
func TestCooperativeStickyGroup(t *testing.T) {
	c := groupCluster(t)
	createTopic(t, c, "coop", 6, nil)
	var cs []*groupConsumer
	for range 3 {
		cs = append(cs, startGroupConsumerWith(t, c, "coop-group", "coop", kgo.Balancers(kgo.CooperativeStickyBalancer())))
		if len(cs) == 2 {
			harness.WaitFor(t, "two consumers sharing 6 partitions", 20*time.Second, func() bool {
				return cs[0].owned() > 0 && cs[1].owned() > 0 && cs[0].owned()+cs[1].owned() == 6
			})
		}
	}
	harness.WaitFor(t, "three consumers owning two partitions each", 20*time.Second, func() bool {
		return cs[0].owned() == 2 && cs[1].owned() == 2 && cs[2].owned() == 2
	})
}

// TestKilledConsumerPartitionsMove SIGKILLs a consumer process (librdkafka,
// session.timeout.ms=6000) that shares a group with a franz-go consumer:
// its partitions move to the survivor within the session timeout plus one
// rebalance. The gap is printed.
func TestKilledConsumerPartitionsMove(t *testing.T) {
	c := groupCluster(t)
	createTopic(t, c, "killgrp", 2, nil)
	const script = `
import sys
from confluent_kafka import Consumer
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'kill-group', 'session.timeout.ms': 6000,
              'partition.assignment.strategy': 'range', 'auto.offset.reset': 'earliest'})
c.subscribe(['killgrp'], on_assign=lambda c, ps: print('assigned', len(ps), flush=True))
while True:
    c.poll(0.2)
`
	cmd := exec.Command(python, "-c", script, c.Nodes[0].KafkaAddr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v (run make test-deps)", python, err)
	}
	defer cmd.Process.Kill()
	go io.Copy(io.Discard, stdout)
	survivor := startGroupConsumerWith(t, c, "kill-group", "killgrp", kgo.Balancers(kgo.RangeBalancer()))
	harness.WaitFor(t, "the partitions shared with the librdkafka consumer", 30*time.Second, func() bool { return survivor.owned() == 1 })
	cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	harness.WaitFor(t, "the survivor owning both partitions", 20*time.Second, func() bool { return survivor.owned() == 2 })
	gap := time.Since(killed)
	t.Logf("partitions moved %v after SIGKILL (session.timeout.ms=6000)", gap.Round(time.Millisecond))
	if gap < 5*time.Second {
		t.Fatalf("partitions moved after %v, before the session could expire: was the process alive?", gap)
	}
}
