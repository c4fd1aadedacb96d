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

// logBytes sums the .log files of one partition's directory on a node.
func logBytes(t *testing.T, n *harness.Node, partition string) int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(n.DataDir(), partition, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			total += st.Size()
		}
	}
	return total
}

// TestConsumerOffsetsStayBounded commits the same offsets thousands of
// times: __consumer_offsets is compacted, so its size levels off at a few
// small segments instead of growing with every commit, and the newest
// commit survives compaction and a SIGKILL.
func TestConsumerOffsetsStayBounded(t *testing.T) {
	c := harness.StartT(t, 1, "offsets.topic.num.partitions=1", "offsets.topic.segment.bytes=8192",
		"log.cleaner.backoff.ms=200")
	createTopic(t, c, "busy", 2, nil)
	adm := kadm.NewClient(client(t, c))
	const commits = 3000
	for i := range commits {
		var o kadm.Offsets
		o.Add(kadm.Offset{Topic: "busy", Partition: 0, At: int64(i), LeaderEpoch: -1})
		o.Add(kadm.Offset{Topic: "busy", Partition: 1, At: int64(2 * i), LeaderEpoch: -1})
		if res, err := adm.CommitOffsets(testCtx(t), "busy-group", o); err != nil || res.Error() != nil {
			t.Fatalf("commit %d: %v %v", i, err, res.Error())
		}
	}
	// Uncompacted, 6000 records of ~80 bytes would be ~500 KB.
	var size int64
	harness.WaitFor(t, "__consumer_offsets compacted", 20*time.Second, func() bool {
		size = logBytes(t, c.Nodes[0], "__consumer_offsets-0")
		return size < 4*8192
	})
	t.Logf("__consumer_offsets-0 holds %d bytes after %d commits", size, commits)
	c.Nodes[0].Kill()
	restart(t, c.Nodes[0])
	var got kadm.OffsetResponses
	harness.WaitFor(t, "offsets readable after restart", 10*time.Second, func() bool {
		var err error
		got, err = kadm.NewClient(client(t, c)).FetchOffsets(testCtx(t), "busy-group")
		return err == nil && got.Error() == nil
	})
	for p, want := range map[int32]int64{0: commits - 1, 1: 2 * (commits - 1)} {
		if o, ok := got.Lookup("busy", p); !ok || o.At != want {
			t.Fatalf("partition %d: %+v, want %d", p, o, want)
		}
	}
}

// TestCompactedTopic writes many versions of a few keys to a topic with
// cleanup.policy=compact: once compacted, a consumer reading from the start
// gets each key's newest value, at its original offset, across the gaps
// compaction leaves.
func TestCompactedTopic(t *testing.T) {
	c := harness.StartT(t, 1, "log.cleaner.backoff.ms=200")
	policy, segment := "compact", "2048"
	createTopic(t, c, "table", 1, map[string]*string{"cleanup.policy": &policy, "segment.bytes": &segment})
	cl := client(t, c, kgo.DefaultProduceTopic("table"), kgo.ProducerLinger(0))
	const versions = 200
	newest := map[string]int64{}
	for v := range versions {
		for _, k := range []string{"k1", "k2", "k3"} {
			res := cl.ProduceSync(testCtx(t), &kgo.Record{Key: []byte(k), Value: []byte(fmt.Sprintf("%s-v%d", k, v))})
			if err := res.FirstErr(); err != nil {
				t.Fatal(err)
			}
			r, _ := res.First()
			newest[k] = r.Offset
		}
	}
	end := int64(3 * versions)
	var recs []*kgo.Record
	harness.WaitFor(t, "the topic compacted", 20*time.Second, func() bool {
		recs = consumeUntilOffset(t, c, "table", end)
		return len(recs) < int(end)/2
	})
	seen := map[string]string{}
	last := int64(-1)
	for _, r := range recs {
		if r.Offset <= last {
			t.Fatalf("offsets out of order: %d after %d", r.Offset, last)
		}
		last = r.Offset
		seen[string(r.Key)] = string(r.Value)
	}
	for k, off := range newest {
		if want := fmt.Sprintf("%s-v%d", k, versions-1); seen[k] != want {
			t.Fatalf("key %s: newest value %q, want %q (offset %d)", k, seen[k], want, off)
		}
	}
	t.Logf("%d of %d records left after compaction", len(recs), end)
}

// consumeUntilOffset reads a one-partition topic from the start until it
// has passed offset end-1 (or the log end, if compaction removed it).
func consumeUntilOffset(t *testing.T, c *harness.Cluster, topic string, end int64) []*kgo.Record {
	t.Helper()
	cl := client(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		fs := cl.PollRecords(testCtx(t), 1000)
		if errs := fs.Errors(); len(errs) > 0 && !strings.Contains(errs[0].Err.Error(), "context") {
			t.Fatalf("consume: %v", errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
		if len(out) > 0 && out[len(out)-1].Offset >= end-1 {
			break
		}
	}
	return out
}
