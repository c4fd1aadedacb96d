package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// The seams the disk and clock nemeses strike through, each on one node of
// the faultfs build, where their effect can be seen directly rather than
// only as nothing lost.

// oneNode starts a single node of the faultfs build and a client of it,
// and creates topic with one partition and configs.
func oneNode(t *testing.T, topic string, configs map[string]*string, extra ...string) (*harness.Node, *kgo.Client) {
	t.Helper()
	c := harness.StartBinT(t, harness.FaultBinary(t), 1, extra...)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic(topic),
		kgo.ConsumeTopics(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		// A record sent to a node that halted fails rather than waiting
		// for it to come back; an idempotent producer would wait, since
		// failing a record whose outcome is unknown breaks its sequence.
		kgo.RecordDeliveryTimeout(5*time.Second), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, configs, topic); err != nil {
		t.Fatal(err)
	}
	return c.Nodes[0], cl
}

// produce writes n records of one batch each and fails the test unless
// each is acknowledged.
func produce(t *testing.T, cl *kgo.Client, prefix string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("%s-%03d", prefix, i))}).FirstErr(); err != nil {
			t.Fatalf("producing %s-%d: %v", prefix, i, err)
		}
	}
}

// A node whose disk refuses writes acknowledges nothing more, and one
// whose disk refuses reads serves nothing more (Kafka fails the log
// directory on either, LogDirFailureChannel): it halts (exit 1) within
// haltWithin; restarted on a healthy disk it holds exactly what it
// acknowledged before.
func TestFailedDiskHalts(t *testing.T) {
	for _, tc := range []struct {
		name, fault string
		strike      func(t *testing.T, nd *harness.Node, cl *kgo.Client)
	}{
		{"write", "op=write&err=EIO", func(t *testing.T, _ *harness.Node, cl *kgo.Client) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if cl.ProduceSync(ctx, &kgo.Record{Value: []byte("refused")}).FirstErr() == nil {
				t.Fatal("a write to a disk that refuses writes was acknowledged")
			}
		}},
		{"read", "op=read&err=EIO&match=.log", func(t *testing.T, nd *harness.Node, _ *kgo.Client) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if n := freshConsumer(t, nd, "disk").PollFetches(ctx).NumRecords(); n > 0 {
				t.Fatalf("a disk that refuses reads served %d records", n)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nd, cl := oneNode(t, "disk", nil)
			produce(t, cl, "before", 10)
			if err := debugPost(nd, "/debug/faultfs", tc.fault); err != nil {
				t.Fatal(err)
			}
			tc.strike(t, nd, cl)
			select {
			case <-nd.Exited():
			case <-time.After(haltWithin):
				t.Fatalf("the node still runs %v after its disk failed (%s)", haltWithin, tc.fault)
			}
			if code := nd.ExitCode(); code != 1 || !strings.Contains(nd.Tail(5), "a log directory failed") {
				t.Fatalf("exit %d, want 1 after a failed log directory:\n%s", code, nd.Tail(5))
			}
			nd.Kill()
			if err := nd.Start(); err != nil {
				t.Fatal(err)
			}
			if err := nd.WaitReady(60 * time.Second); err != nil {
				t.Fatal(err)
			}
			var got []string
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			after := freshConsumer(t, nd, "disk")
			for len(got) < 10 && ctx.Err() == nil {
				after.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
			}
			if len(got) != 10 || got[0] != "before-000" || got[9] != "before-009" {
				t.Fatalf("after the restart the log holds %q, want before-000 … before-009", got)
			}
		})
	}
}

// freshConsumer reads topic from nd from its start: a client's own
// consumer may hold records it fetched before a fault.
func freshConsumer(t *testing.T, nd *harness.Node, topic string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(nd.KafkaAddr), kgo.ConsumeTopics(topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Retention measures record timestamps against the node's wall clock, as
// Kafka's does: an hour back deletes nothing of an hour's retention, two
// hours ahead deletes the sealed segments. The second half proves the
// skew reaches retention, so that the chaos clock jump tests something.
func TestClockJumpRetention(t *testing.T) {
	configs := map[string]*string{"retention.ms": ptr("3600000"), "segment.bytes": ptr("200")}
	nd, cl := oneNode(t, "jump", configs, "log.retention.check.interval.ms=200")
	produce(t, cl, "kept", 20)
	start := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		offs, err := kadm.NewClient(cl).ListStartOffsets(ctx, "jump")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := offs.Lookup("jump", 0)
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		return o.Offset
	}
	if err := debugPost(nd, "/debug/clock", "skew=-1h"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // ten retention checks
	if s := start(); s != 0 {
		t.Fatalf("an hour back, retention moved the log start to %d", s)
	}
	if err := debugPost(nd, "/debug/clock", "skew=2h"); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, "retention to delete sealed segments two hours ahead", 10*time.Second, func() bool { return start() > 0 })
}
