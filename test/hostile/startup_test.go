package hostile

// Startup probes: what a clumsy operator leaves in log.dirs. A node must
// refuse to start over data that is not its own (and touch none of it),
// turn a corrupt store into an error exit rather than a signal, rebuild
// what it can, and keep topic configs across a restart.

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/test/harness"
)

// stoppedNode starts one node, lets it create its stores and a partition,
// and stops it cleanly.
func stoppedNode(t *testing.T, extra ...string) (*harness.Cluster, *harness.Node) {
	t.Helper()
	c := harness.StartT(t, 1, extra...)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "mine", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	nd := c.Nodes[0]
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	return c, nd
}

// refused starts nd and requires it to exit with status 1 (an error exit,
// not a signal) and log a line matching every one of want.
func refused(t *testing.T, nd *harness.Node, want ...string) {
	t.Helper()
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-nd.Exited():
	case <-time.After(30 * time.Second):
		nd.Kill()
		t.Fatalf("node started over data it must refuse:\n%s", nd.Tail(20))
	}
	if code := nd.ExitCode(); code != 1 {
		t.Fatalf("exit code %d, want 1 (2 is a Go runtime fault such as SIGBUS, -1 a signal):\n%s", code, nd.Tail(20))
	}
	for _, line := range strings.Split(nd.Tail(5), "\n") {
		if strings.Contains(line, "gokafka-server stopped") && containsAll(line, want) {
			return
		}
	}
	t.Fatalf("no refusal line naming %q:\n%s", want, nd.Tail(5))
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// snapshot maps every file under dir to its contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

func sameFiles(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if a, ok := after[p]; !ok || a != b {
			t.Errorf("%s: %s changed or vanished", what, p)
		}
	}
}

func must(b []byte, _ error) []byte { return b }

var clusterIDLine = regexp.MustCompile(`(?m)^cluster\.id=(\S+)$`)

// TestStartupRefusesForeignMetaProperties points a node at a directory
// whose meta.properties belongs to another cluster, beside a Kafka
// partition directory: the node refuses, naming the file and both cluster
// ids, and the foreign partition is untouched.
func TestStartupRefusesForeignMetaProperties(t *testing.T) {
	_, nd := stoppedNode(t)
	meta := filepath.Join(nd.DataDir(), "meta.properties")
	b, err := os.ReadFile(meta)
	if err != nil {
		t.Fatalf("no meta.properties after a first start: %v", err)
	}
	ours := clusterIDLine.FindSubmatch(b)
	if ours == nil {
		t.Fatalf("meta.properties without cluster.id:\n%s", b)
	}
	const foreign = "MkU3OEVBNTcwNTJENDM2Qk"
	os.WriteFile(meta, []byte("version=1\nnode.id=1\ncluster.id="+foreign+"\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\n"), 0o644)
	kafkaDir := filepath.Join(nd.DataDir(), "topic-A-0")
	os.MkdirAll(kafkaDir, 0o755)
	os.WriteFile(filepath.Join(kafkaDir, "00000000000000000000.log"), []byte("kafka's records"), 0o644)
	os.WriteFile(filepath.Join(kafkaDir, "partition.metadata"), []byte("version: 0\ntopic_id: J8aAPcfLQt2bqs1JT_rMgQ\n"), 0o644)
	before := snapshot(t, kafkaDir)
	before[meta] = string(must(os.ReadFile(meta)))

	refused(t, nd, meta, foreign, string(ours[1]))
	after := snapshot(t, kafkaDir)
	after[meta] = string(must(os.ReadFile(meta)))
	sameFiles(t, "after the refusal", before, after)
}

// TestStartupRefusesDataWithoutMetadataStore removes the Raft store of a
// node that holds partitions: starting must not bootstrap a new cluster
// (which deleted every partition before), and nothing is deleted.
func TestStartupRefusesDataWithoutMetadataStore(t *testing.T) {
	_, nd := stoppedNode(t)
	store := filepath.Join(nd.DataDir(), "__cluster_metadata-0", "raft.db")
	if err := os.Remove(store); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, nd.DataDir())
	refused(t, nd, "mine-0", store)
	sameFiles(t, "after the refusal", before, snapshot(t, nd.DataDir()))
}

// TestStartupTruncatedRaftStore cuts raft.db to a fraction of its pages:
// bbolt mapped it and the first read past its end was a SIGBUS; now it is
// an error exit naming the file.
func TestStartupTruncatedRaftStore(t *testing.T) {
	_, nd := stoppedNode(t)
	store := filepath.Join(nd.DataDir(), "__cluster_metadata-0", "raft.db")
	for _, size := range []int64{16 << 10, 4 << 10} {
		if err := os.Truncate(store, size); err != nil {
			t.Fatal(err)
		}
		refused(t, nd, store)
	}
}

// TestStartupGarbageProducerSnapshot overwrites the witness partition's
// producer-state snapshot with garbage, which once panicked the node at
// start: it must start with a WARN, rebuild from the log and serve.
func TestStartupGarbageProducerSnapshot(t *testing.T) {
	tg := newTarget(t, 1)
	nd := tg.c.Nodes[0]
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	// Unreadable (a directory in its place) once gave a nil state and a
	// panic at start; a null entry passed the JSON decoder.
	snap := filepath.Join(nd.DataDir(), "witness-0", "producer-state.json")
	os.Remove(snap)
	if err := os.MkdirAll(filepath.Join(snap, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(nd.Log(), "level=WARN msg=\"producer state\"") || !strings.Contains(nd.Log(), snap) {
		t.Errorf("no WARN naming %s:\n%s", snap, nd.Tail(20))
	}
	tg.rss[nd.ID], _ = harness.RSS(nd.Pid())
	tg.check()
}

// TestStartupKeepsTopicRetentionOverride is the lost-configs report: a
// retention.ms=-1 topic with tiny segments and old records lost 4 of 5
// records seconds after a restart, because the restarted log ran with the
// broker's 7-day retention until the next metadata change.
func TestStartupKeepsTopicRetentionOverride(t *testing.T) {
	c := harness.StartT(t, 1, "log.retention.check.interval.ms=200")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	retention, segment := "-1", "100"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": &retention, "segment.bytes": &segment}, "keep"); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-30 * 24 * time.Hour)
	for i := range 5 {
		r := &kgo.Record{Topic: "keep", Value: []byte(strings.Repeat("x", 80)), Timestamp: old.Add(time.Duration(i) * time.Second)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	nd := c.Nodes[0]
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // ten retention checks
	cl, err = kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.ConsumeTopics("keep"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := 0
	for got < 5 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of 5 records of a retention.ms=-1 topic after a restart:\n%s", got, nd.Tail(20))
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != int64(got) {
				t.Fatalf("record at offset %d, want %d: earlier ones deleted", r.Offset, got)
			}
			got++
		})
	}
}

// TestStartupUnopenablePartitionIsStorageError makes one partition's
// segment unreadable (a directory where the .log file was): the node must
// start, serve its other partitions, and answer KAFKA_STORAGE_ERROR for
// that one instead of pretending it is absent, with a metric saying so.
func TestStartupUnopenablePartitionIsStorageError(t *testing.T) {
	tg := newTarget(t, 1)
	nd := tg.c.Nodes[0]
	cl := tg.client(kgo.AllowAutoTopicCreation())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "broken", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(nd.DataDir(), "broken-0", "00000000000000000000.log")
	if err := os.Remove(seg); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(seg, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	cl = tg.client()
	defer cl.Close()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = 1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = "broken", topicID(t, ctx, cl, "broken") // by id from v13
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = prototest.Plain(time.Now().UnixMilli(), "v").Encode()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.Broker(1))
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce to an unopenable partition: code %d, want KAFKA_STORAGE_ERROR (56)", code)
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "broken")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("broken", 0); !errors.Is(o.Err, kerr.KafkaStorageError) {
		t.Fatalf("ListOffsets of an unopenable partition: %v, want KAFKA_STORAGE_ERROR", o.Err)
	}
	if v := harness.Metric(t, nd, "gokafka_log_offline_partitions"); v != 1 {
		t.Fatalf("gokafka_log_offline_partitions = %v, want 1", v)
	}
	if _, err := os.Stat(filepath.Join(seg, "x")); err != nil {
		t.Fatalf("the unopenable partition's files were touched: %v", err)
	}
	tg.rss[nd.ID], _ = harness.RSS(nd.Pid())
	tg.check()
}

// TestStartupFormat is kafka-storage format's counterpart: random-uuid
// makes an id, format writes it into empty directories, the first start
// creates the cluster under that id, and formatting again is refused.
func TestStartupFormat(t *testing.T) {
	c := harness.StartT(t, 1)
	nd := c.Nodes[0]
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(nd.DataDir()); err != nil {
		t.Fatal(err)
	}
	bin := harness.Binary(t)
	out, err := exec.Command(bin, "random-uuid").Output()
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(string(out))
	format := func() ([]byte, error) {
		return exec.Command(bin, "format", "--config", nd.PropsPath(), "--cluster-id", id).CombinedOutput()
	}
	if out, err := format(); err != nil {
		t.Fatalf("format: %v\n%s", err, out)
	}
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(nd.Log(), "cluster_id="+id) {
		t.Fatalf("the formatted cluster id %s is not the cluster's:\n%s", id, nd.Tail(10))
	}
	if out, err := format(); err == nil || !strings.Contains(string(out), "already") {
		t.Fatalf("formatting a formatted directory: %v\n%s", err, out)
	}
}
