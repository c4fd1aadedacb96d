package hostile

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// Internal topics, reserved and colliding names, and commits to partitions
// that do not exist (issue 13, items 2 and 9).

// commitOffset commits offset at of witness-0 for group and requires
// success.
func commitOffset(t *testing.T, ctx context.Context, adm *kadm.Client, group string, at int64) {
	t.Helper()
	var o kadm.Offsets
	o.Add(kadm.Offset{Topic: "witness", Partition: 0, At: at, LeaderEpoch: -1})
	res, err := adm.CommitOffsets(ctx, group, o)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("commit for %s: %v", group, err)
	}
}

// requireOffset fetches group's committed offset of witness-0.
func requireOffset(t *testing.T, ctx context.Context, adm *kadm.Client, group string, want int64) {
	t.Helper()
	got, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = got.Error()
	}
	if o, ok := got.Lookup("witness", 0); err != nil || !ok || o.At != want {
		t.Fatalf("group %s: committed %+v (found %v, err %v), want %d", group, o, ok, err, want)
	}
}

// A client may read __consumer_offsets but not write, truncate, delete or
// grow it: a garbage record there used to wedge its groups for good, and
// deleting it erased every committed offset.
func TestInternalTopicRefusesClients(t *testing.T) {
	tg := newTarget(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := tg.client(kgo.RecordRetries(0))
	defer cl.Close()
	adm := kadm.NewClient(cl)
	commitOffset(t, ctx, adm, "g", 7)

	err := cl.ProduceSync(ctx, &kgo.Record{Topic: "__consumer_offsets", Key: []byte("garbage"), Value: []byte{0xff, 0xff}}).FirstErr()
	if !errors.Is(err, kerr.InvalidTopicException) {
		t.Errorf("produce to __consumer_offsets: %v, want INVALID_TOPIC_EXCEPTION", err)
	}
	del, err := adm.DeleteTopics(ctx, "__consumer_offsets")
	if r := del["__consumer_offsets"]; err != nil || !errors.Is(r.Err, kerr.InvalidTopicException) {
		t.Errorf("delete __consumer_offsets: %+v, %v; want INVALID_TOPIC_EXCEPTION", r, err)
	}
	recs, err := adm.DeleteRecords(ctx, kadm.Offsets{"__consumer_offsets": {0: {Topic: "__consumer_offsets", Partition: 0, At: -1}}})
	if r, ok := recs.Lookup("__consumer_offsets", 0); err != nil || !ok || !errors.Is(r.Err, kerr.InvalidTopicException) {
		t.Errorf("delete records of __consumer_offsets: %+v, %v; want INVALID_TOPIC_EXCEPTION", r, err)
	}
	grow, err := adm.CreatePartitions(ctx, 10, "__consumer_offsets")
	if r := grow["__consumer_offsets"]; err != nil || !errors.Is(r.Err, kerr.InvalidTopicException) {
		t.Errorf("create partitions of __consumer_offsets: %+v, %v; want INVALID_TOPIC_EXCEPTION", r, err)
	}
	requireOffset(t, ctx, adm, "g", 7)
	commitOffset(t, ctx, adm, "g2", 3) // the coordinator still writes there
	tg.check()
	adm = kadm.NewClient(tg.client())
	requireOffset(t, ctx, adm, "g", 7)
	requireOffset(t, ctx, adm, "g2", 3)
}

// createTopicCode sends CreateTopics for name as given (no client-side
// checks) and returns the answer's error code.
func createTopicCode(t *testing.T, ctx context.Context, cl *kgo.Client, name string) int16 {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
	req.Topics, req.TimeoutMillis = append(req.Topics, rt), 10000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Topics) != 1 {
		t.Fatalf("CreateTopics %q: %v", name, err)
	}
	return resp.Topics[0].ErrorCode
}

// __cluster_metadata is the Raft store's directory; names that escape
// log.dirs, hold a separator or exceed 249 characters, or collide with an
// existing topic once '.' reads as '_', are refused on every API that
// creates topics, and no path is built from them.
func TestReservedAndInvalidTopicNames(t *testing.T) {
	tg := newTarget(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := tg.client(kgo.RecordRetries(0), kgo.AllowAutoTopicCreation())
	defer cl.Close()
	raftDB := filepath.Join(tg.c.Nodes[0].DataDir(), "__cluster_metadata-0", "raft.db")
	if _, err := os.Stat(raftDB); err != nil {
		t.Fatalf("no Raft store where expected: %v", err)
	}

	if code := createTopicCode(t, ctx, cl, "__cluster_metadata"); code != kerr.InvalidRequest.Code {
		t.Errorf("create __cluster_metadata: code %d, want INVALID_REQUEST", code)
	}
	if code := createTopicCode(t, ctx, cl, "a.b"); code != 0 {
		t.Fatalf("create a.b: code %d", code)
	}
	if code := createTopicCode(t, ctx, cl, "a_b"); code != kerr.InvalidTopicException.Code {
		t.Errorf("create a_b beside a.b: code %d, want INVALID_TOPIC_EXCEPTION", code)
	}
	bad := []string{"../../escaped", "..", "a/b", "/abs", strings.Repeat("x", 250)}
	for _, name := range bad {
		if code := createTopicCode(t, ctx, cl, name); code != kerr.InvalidTopicException.Code {
			t.Errorf("create %.20q: code %d, want INVALID_TOPIC_EXCEPTION", name, code)
		}
		md := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(name)
		md.Topics, md.AllowAutoTopicCreation = append(md.Topics, mt), true
		if resp, err := md.RequestWith(ctx, cl); err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.InvalidTopicException.Code {
			t.Errorf("metadata with auto-creation of %.20q: %+v, %v; want INVALID_TOPIC_EXCEPTION", name, resp, err)
		}
		err := cl.ProduceSync(ctx, &kgo.Record{Topic: name, Value: []byte("x")}).FirstErr()
		if err == nil {
			t.Errorf("produce to %.20q succeeded", name)
		}
	}
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(bad, "__cluster_metadata", "a_b") {
		if topics.Has(name) {
			t.Errorf("topic %.20q exists", name)
		}
	}
	if _, err := os.Stat(raftDB); err != nil {
		t.Errorf("the Raft store is gone: %v", err)
	}
	tg.check()
}

// scrapeStatus returns the HTTP status of the node's /metrics.
func scrapeStatus(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A commit for partition -1, one past the end or an unknown topic used to
// answer NONE, be stored, and fail /metrics with HTTP 500 from then on.
func TestOffsetCommitToMissingPartitions(t *testing.T) {
	tg := newTarget(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// OffsetCommit v9, by name: v10 names topics by id, and an id that
	// does not exist answers UNKNOWN_TOPIC_ID.
	cl := tg.client(kgo.MaxVersions(kversion.V4_0_0()))
	defer cl.Close()
	adm := kadm.NewClient(cl)
	commitOffset(t, ctx, adm, "g", 1) // a loaded group with a real commit

	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = "g", -1
	for topic, parts := range map[string][]int32{"witness": {-1, 1, 1 << 30}, "nope": {0}} {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		for _, p := range parts {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset = p, 5
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != kerr.UnknownTopicOrPartition.Code {
				t.Errorf("commit %s-%d: code %d, want UNKNOWN_TOPIC_OR_PARTITION", rt.Topic, rp.Partition, rp.ErrorCode)
			}
		}
	}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version, fetch.Group = 7, "g"
	fetch.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "witness", Partitions: []int32{0, -1}}}
	if fr, err := fetch.RequestWith(ctx, cl); err != nil || len(fr.Topics) != 1 || len(fr.Topics[0].Partitions) != 2 ||
		fr.Topics[0].Partitions[0].ErrorCode != 0 || fr.Topics[0].Partitions[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("offset fetch of witness-0 and witness--1: %+v, %v; want NONE and UNKNOWN_TOPIC_OR_PARTITION", fr, err)
	}
	// A group id that is not UTF-8 cannot be a Prometheus label.
	commitOffset(t, ctx, adm, "bad\xff\xfe", 2)
	got, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	got.Each(func(o kadm.OffsetResponse) {
		if o.Topic != "witness" || o.Partition != 0 {
			t.Errorf("stored a commit for %s-%d", o.Topic, o.Partition)
		}
	})
	if code := scrapeStatus(t, tg.c.Nodes[0].HTTPAddr); code != http.StatusOK {
		t.Errorf("/metrics answers %d", code)
	}
	tg.check()
	if code := scrapeStatus(t, tg.c.Nodes[0].HTTPAddr); code != http.StatusOK {
		t.Errorf("/metrics answers %d after a restart", code)
	}
}
