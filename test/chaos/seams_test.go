package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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
			if got := readFromStart(t, nd, "disk", 10); len(got) != 10 || got[0] != "before-000" || got[9] != "before-009" {
				t.Fatalf("after the restart the log holds %q, want before-000 … before-009", got)
			}
		})
	}
}

// A read that fails with an error of the caller's making rather than the
// disk's (EINVAL: a bad argument, a bug) fails that request alone: the
// fetch answers KAFKA_STORAGE_ERROR, the log directory stays online and
// the node runs on, and once the fault is gone it serves every record.
// Only a read error that says the device failed halts a node
// (TestFailedDiskHalts/read).
func TestCallersReadErrorHaltsNothing(t *testing.T) {
	nd, cl := oneNode(t, "einval", nil)
	produce(t, cl, "kept", 10)
	if err := debugPost(nd, "/debug/faultfs", "op=read&err=EINVAL&match=.log"); err != nil {
		t.Fatal(err)
	}
	if code, err := fetchCode(cl, "einval"); err != nil || code != kerr.KafkaStorageError.Code {
		t.Fatalf("fetch whose read fails with EINVAL: error code %d, %v, want KAFKA_STORAGE_ERROR (%d); node log:\n%s",
			code, err, kerr.KafkaStorageError.Code, nd.Tail(5))
	}
	// A failed directory halts the node within milliseconds of the read
	// (the hook runs at once), so two seconds are ample.
	select {
	case <-nd.Exited():
		t.Fatalf("the node exited (%d) after a read failed with EINVAL:\n%s", nd.ExitCode(), nd.Tail(5))
	case <-time.After(2 * time.Second):
	}
	if strings.Contains(nd.Log(), "log directory failed") {
		t.Fatalf("a read that failed with EINVAL failed the log directory:\n%s", nd.Tail(10))
	}
	if err := debugPost(nd, "/debug/faultfs", "heal=1"); err != nil {
		t.Fatal(err)
	}
	if got := readFromStart(t, nd, "einval", 10); len(got) != 10 || got[0] != "kept-000" || got[9] != "kept-009" {
		t.Fatalf("once healed the log serves %q, want kept-000 … kept-009", got)
	}
}

// fetchCode sends one read_committed Fetch of partition 0 of topic from
// its start and returns the partition's error code. read_committed reads
// the batches before it answers (to list aborted transactions); a
// read_uncommitted fetch sends them from the file as it answers, where a
// failed read can only close the connection.
func fetchCode(cl *kgo.Client, topic string) (int16, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MaxBytes, req.SessionEpoch, req.IsolationLevel = -1, 100, 1<<20, -1, 1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, td[topic].ID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return 0, fmt.Errorf("fetch answered error %d, %d topics", resp.ErrorCode, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0].ErrorCode, nil
}

// readFromStart reads topic from nd from its start with a fresh consumer
// until it has n records or 30 s have passed, and returns their values.
func readFromStart(t *testing.T, nd *harness.Node, topic string, n int) []string {
	t.Helper()
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := freshConsumer(t, nd, topic)
	for len(got) < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
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
