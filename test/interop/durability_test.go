package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// produceN writes n records "prefix-i" to partition 0 of topic with acks=all
// and fails the test on any error: every record it returns from is
// acknowledged.
func produceN(t *testing.T, c *harness.Cluster, topic, prefix string, n int, opts ...kgo.Opt) {
	t.Helper()
	cl := client(t, c, append([]kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	ctx := testCtx(t)
	for i := range n {
		cl.Produce(ctx, &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", prefix, i)}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce %s-%d: %v", prefix, i, err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cl.Close()
}

func createTopic(t *testing.T, c *harness.Cluster, name string, partitions int32, configs map[string]*string) [16]byte {
	t.Helper()
	rf := int16(min(len(c.Nodes), 3)) // replicated wherever there are nodes to replicate to
	r, err := kadm.NewClient(client(t, c)).CreateTopic(testCtx(t), partitions, rf, configs, name)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	return r.ID
}

func checkValues(t *testing.T, recs []*kgo.Record, want []string) {
	t.Helper()
	for i, r := range recs {
		if string(r.Value) != want[i] || r.Offset != int64(i) {
			t.Fatalf("record %d: %q at offset %d, want %q at offset %d", i, r.Value, r.Offset, want[i], i)
		}
	}
}

func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func restart(t *testing.T, n *harness.Node) {
	t.Helper()
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestKillRestartKeepsAcknowledged SIGKILLs a node right after a burst of
// acknowledged writes and checks that every one is there after restart,
// with the topic id unchanged, and that offsets carry on.
func TestKillRestartKeepsAcknowledged(t *testing.T) {
	c := harness.StartT(t, 1)
	id := createTopic(t, c, "durable", 1, nil)
	produceN(t, c, "durable", "a", 1000)
	n := c.Nodes[0]
	n.Kill()
	restart(t, n)

	md, err := kadm.NewClient(client(t, c)).Metadata(testCtx(t), "durable")
	if err != nil {
		t.Fatal(err)
	}
	if got := md.Topics["durable"].ID; got != id {
		t.Fatalf("topic id changed across restart: %x, was %x", got, id)
	}
	produceN(t, c, "durable", "b", 10)
	checkValues(t, consumeN(t, c, "durable", 1010), append(values("a", 1000), values("b", 10)...))
}

// TestTornTailRecovery appends a torn batch (a valid prefix of a real one)
// and then garbage to the active segment while the node is dead. Recovery
// must cut both, keep every whole batch, and let appends continue.
func TestTornTailRecovery(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "torn", 1, nil)
	produceN(t, c, "torn", "a", 100)
	n := c.Nodes[0]
	n.Kill()

	seg := filepath.Join(n.DataDir(), "torn-0", strings.Repeat("0", 20)+".log")
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data[:min(len(data), 40)]) // a header cut short: a torn write
	f.Write([]byte("garbage that is not a record batch"))
	f.Close()

	restart(t, n)
	produceN(t, c, "torn", "b", 5)
	checkValues(t, consumeN(t, c, "torn", 105), append(values("a", 100), values("b", 5)...))
	if !strings.Contains(n.Log(), "truncat") {
		t.Fatalf("recovery did not report truncating the torn tail:\n%s", n.Tail(30))
	}
}

// TestRetentionBySizeAndTime checks that small segments roll and old ones
// are deleted on the check interval: the log start offset advances, the
// active segment stays, and what remains is readable.
func TestRetentionBySizeAndTime(t *testing.T) {
	c := harness.StartT(t, 1, "log.retention.check.interval.ms=200")
	adm := kadm.NewClient(client(t, c))
	ctx := testCtx(t)
	createTopic(t, c, "by-size", 1, map[string]*string{"segment.bytes": kadm.StringPtr("1024"), "retention.bytes": kadm.StringPtr("2048")})
	createTopic(t, c, "by-time", 1, map[string]*string{"segment.bytes": kadm.StringPtr("1024"), "retention.ms": kadm.StringPtr("1000")})
	cl := client(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MaxBufferedRecords(1))
	old := time.Now().Add(-time.Hour)
	for i := range 100 {
		for _, topic := range []string{"by-size", "by-time"} {
			r := &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 100)))}
			if topic == "by-time" && i < 90 {
				r.Timestamp = old
			}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		starts, err := adm.ListStartOffsets(ctx, "by-size", "by-time")
		if err != nil {
			t.Fatal(err)
		}
		s1, _ := starts.Lookup("by-size", 0)
		s2, _ := starts.Lookup("by-time", 0)
		if s1.Offset > 0 && s2.Offset >= 80 {
			if s1.Offset > 90 || s2.Offset > 90 {
				t.Fatalf("retention deleted too much: start offsets %d and %d of 100", s1.Offset, s2.Offset)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not advance the log start: by-size %d, by-time %d", s1.Offset, s2.Offset)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ends, err := adm.ListEndOffsets(ctx, "by-size", "by-time")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset != 100 {
			t.Fatalf("%s end offset %d after retention, want 100", o.Topic, o.Offset)
		}
	})
	// The newest records, in the active segment, are still there.
	cons := client(t, c, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"by-time": {0: kgo.NewOffset().At(99)}}))
	fs := cons.PollFetches(ctx)
	if recs := fs.Records(); len(recs) != 1 || !strings.HasPrefix(string(recs[0].Value), "099-") {
		t.Fatalf("reading the last record after retention: %d records, errors %v", len(recs), fs.Errors())
	}
}

// TestFlushBeforeAckThreeNodes runs log.flush.before.ack in the real
// binary: acks=all on three nodes is acknowledged only through the
// leader's group commit and the followers' fsynced fetch offsets, and
// every acknowledged record is there after all three are killed at once.
// SIGKILL keeps the page cache, so this shows the mode working end to end,
// not surviving power loss: broker's TestCorrelatedPowerLoss shows that.
func TestFlushBeforeAckThreeNodes(t *testing.T) {
	c := harness.StartT(t, 3, "log.flush.before.ack=true")
	createTopic(t, c, "fsynced", 1, nil)
	produceN(t, c, "fsynced", "a", 500)
	for _, n := range c.Nodes {
		n.Kill()
	}
	for _, n := range c.Nodes {
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	produceN(t, c, "fsynced", "b", 10)
	checkValues(t, consumeN(t, c, "fsynced", 510), append(values("a", 500), values("b", 10)...))
}
