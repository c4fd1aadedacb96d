package interop

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/gokafka/gokafka/test/harness"
)

// TestKafkaGoClientFetch reads with kafka-go's Client.Fetch, which sends a
// sessionless full fetch (session id -1, epoch -1): it used to be answered
// FETCH_SESSION_ID_NOT_FOUND with no records.
func TestKafkaGoClientFetch(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "kgo-fetch", 1, nil)
	produceN(t, c, "kgo-fetch", "v", 10)
	cl := &kafka.Client{Addr: kafka.TCP(c.Seeds()...), Timeout: 10 * time.Second}
	resp, err := cl.Fetch(testCtx(t), &kafka.FetchRequest{Topic: "kgo-fetch", Partition: 0, Offset: 3,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: time.Second})
	if err != nil {
		t.Fatalf("Client.Fetch: %v", err)
	}
	if resp.Error != nil || resp.HighWatermark != 10 {
		t.Fatalf("Client.Fetch: error %v, high watermark %d; want none and 10", resp.Error, resp.HighWatermark)
	}
	var got []string
	for {
		r, err := resp.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading records: %v", err)
		}
		v, _ := io.ReadAll(r.Value)
		if r.Offset >= 3 { // the first batch may start before the offset asked
			got = append(got, fmt.Sprintf("%d:%s", r.Offset, v))
		}
	}
	if len(got) != 7 || got[0] != "3:v-3" || got[6] != "9:v-9" {
		t.Fatalf("Client.Fetch from offset 3 read %v, want 3:v-3 .. 9:v-9", got)
	}
}

// TestFetchSessionIncremental drives a session by hand: epoch 0 opens it
// with every partition in the answer, an incremental fetch that names
// nothing gets only the partitions that changed since.
func TestFetchSessionIncremental(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "sess", 4, nil)
	// Fetch v12: names, not topic ids; kgo would otherwise raise the version.
	cl := client(t, c, kgo.MaxVersions(kversion.V3_0_0()))
	broker := cl.Broker(c.Nodes[0].ID)
	fetch := func(id, epoch int32, partitions ...int32) *kmsg.FetchResponse {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxWaitMillis, req.MaxBytes = 12, -1, 100, 1<<20
		req.SessionID, req.SessionEpoch = id, epoch
		if len(partitions) > 0 {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic = "sess"
			for _, p := range partitions {
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.Partition, rp.PartitionMaxBytes = p, 1<<20
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(testCtx(t), broker)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	partitionsOf := func(resp *kmsg.FetchResponse) map[int32]int {
		out := map[int32]int{}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				out[rp.Partition] = len(rp.RecordBatches)
			}
		}
		return out
	}
	full := fetch(0, 0, 0, 1, 2, 3)
	if full.ErrorCode != 0 || full.SessionID <= 0 || len(partitionsOf(full)) != 4 {
		t.Fatalf("epoch 0: error %d, session %d, partitions %v", full.ErrorCode, full.SessionID, partitionsOf(full))
	}
	id := full.SessionID
	if r := fetch(id, 1); r.ErrorCode != 0 || r.SessionID != id || len(r.Topics) != 0 {
		t.Fatalf("epoch 1 with nothing new: error %d, session %d, partitions %v", r.ErrorCode, r.SessionID, partitionsOf(r))
	}
	pcl := client(t, c, kgo.DefaultProduceTopic("sess"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := pcl.ProduceSync(testCtx(t), &kgo.Record{Partition: 2, Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Partition 2 has a record at the session's offset 0 and a new high watermark.
	if got := partitionsOf(fetch(id, 2)); len(got) != 1 || got[2] == 0 {
		t.Fatalf("epoch 2 after a record on partition 2: %v, want partition 2 alone with records", got)
	}
	if r := fetch(id, 2); r.ErrorCode != 71 { // INVALID_FETCH_SESSION_EPOCH
		t.Fatalf("epoch 2 replayed: error %d, want INVALID_FETCH_SESSION_EPOCH", r.ErrorCode)
	}
	if r := fetch(id, -1, 0); r.SessionID != 0 || len(partitionsOf(r)) != 1 {
		t.Fatalf("closing with epoch -1: session %d, partitions %v", r.SessionID, partitionsOf(r))
	}
	if r := fetch(id, 3); r.ErrorCode != 70 { // FETCH_SESSION_ID_NOT_FOUND
		t.Fatalf("fetch in a closed session: error %d, want FETCH_SESSION_ID_NOT_FOUND", r.ErrorCode)
	}
}

// TestFranzFetchSession consumes with franz-go, which opens an incremental
// session by default, and checks that it does: once it is caught up, its
// idle fetches of 16 partitions are answered with no partitions at all,
// where a sessionless answer names all 16.
func TestFranzFetchSession(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "franz-sess", 16, nil)
	pcl := client(t, c, kgo.DefaultProduceTopic("franz-sess"))
	for i := range 200 {
		pcl.Produce(testCtx(t), &kgo.Record{Value: fmt.Appendf(nil, "v-%d", i)}, nil)
	}
	if err := pcl.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sizes []int // of fetch responses, in order
	hook := fetchSizes(func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() })
	recs := consumeN(t, c, "franz-sess", 200, kgo.FetchMaxWait(100*time.Millisecond), kgo.WithHooks(hook))
	if len(recs) != 200 {
		t.Fatalf("consumed %d records, want 200", len(recs))
	}
	time.Sleep(time.Second) // idle fetches, every 100 ms
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) < 5 {
		t.Fatalf("only %d fetch responses", len(sizes))
	}
	for _, n := range sizes[len(sizes)-3:] {
		if n > 64 {
			t.Fatalf("idle fetch responses of %v bytes: no incremental session (sizes %v)", n, sizes)
		}
	}
}

// fetchSizes is a kgo hook that reports the size of each Fetch response.
type fetchSizes func(int)

func (f fetchSizes) OnBrokerRead(_ kgo.BrokerMetadata, key int16, bytesRead int, _, _ time.Duration, err error) {
	if key == int16(kmsg.Fetch) && err == nil {
		f(bytesRead)
	}
}

var _ kgo.HookBrokerRead = fetchSizes(nil)
