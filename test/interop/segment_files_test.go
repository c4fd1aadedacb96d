package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestSegmentFilesAcrossKill runs a node with log.segment.fd.cache.size=4
// and a topic of 20 partitions rolled into small segments: consuming
// everything from the start opens the segments on demand and returns
// every record, while the node keeps four segment files open between
// requests (it held one per segment before, 300 here); after kill -9
// (recovered from the roll snapshots) every record is still there, and
// appends carry on.
func TestSegmentFilesAcrossKill(t *testing.T) {
	const partitions, perPartition, cacheSize = 20, 150, 4
	c := harness.StartT(t, 1, "log.segment.fd.cache.size="+strconv.Itoa(cacheSize))
	n := c.Nodes[0]
	segBytes := "2048"
	createTopic(t, c, "segs", partitions, map[string]*string{"segment.bytes": &segBytes})
	produceAll := func(prefix string) {
		t.Helper()
		cl := client(t, c, kgo.DefaultProduceTopic("segs"), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(1500), kgo.ProducerBatchCompression(kgo.NoCompression()))
		ctx := testCtx(t)
		for p := range int32(partitions) {
			for i := range perPartition {
				r := &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "%s-%d-%d-%0100d", prefix, p, i, 0)}
				cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
					if err != nil {
						t.Errorf("produce: %v", err)
					}
				})
			}
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		cl.Close()
	}
	checkAll := func(what string, prefixes ...string) {
		t.Helper()
		recs := consumeN(t, c, "segs", partitions*perPartition*len(prefixes))
		next := map[int32]int{}
		for _, r := range recs {
			i := next[r.Partition]
			want := fmt.Sprintf("%s-%d-%d-%0100d", prefixes[i/perPartition], r.Partition, i%perPartition, 0)
			if string(r.Value) != want || r.Offset != int64(i) {
				t.Fatalf("%s: partition %d offset %d holds %.30q, want %.30q at %d", what, r.Partition, r.Offset, r.Value, want, i)
			}
			next[r.Partition]++
		}
		open, _, err := n.Metric("gokafka_log_segment_files_open")
		if err != nil {
			t.Fatal(err)
		}
		opens, _, _ := n.Metric("gokafka_log_segment_file_opens_total")
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", n.Pid()))
		segs, _ := filepath.Glob(filepath.Join(n.DataDir(), "segs-*", "*.log"))
		t.Logf("%s: %d segments, %v files open, %v opened on demand, %d descriptors", what, len(segs), open, opens, len(fds))
		// Nothing uses a file between requests: the cache's four are open,
		// beside some 20 descriptors of the node's own and its clients'.
		if open > cacheSize || opens == 0 || len(fds) > 50 {
			t.Fatalf("%s: %v files open and %d descriptors for %d segments, %v opened on demand; want at most %d files, 50 descriptors, and some opens",
				what, open, len(fds), len(segs), opens, cacheSize)
		}
	}
	produceAll("a")
	checkAll("live", "a")
	n.Kill()
	restart(t, n)
	checkAll("after kill -9", "a")
	produceAll("b")
	checkAll("after more", "a", "b")
}
