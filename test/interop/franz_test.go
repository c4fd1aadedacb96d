// Package interop drives real gokafka-server processes with third-party
// Kafka clients: franz-go, sarama, kafka-go, kcat, kafka-python and
// confluent-kafka (librdkafka).
package interop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

func client(t *testing.T, c *harness.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Seeds()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// consumeN reads n records of topic from the start, across all partitions.
func consumeN(t *testing.T, c *harness.Cluster, topic string, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := client(t, c, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	ctx := testCtx(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records of %s before timing out", len(out), n, topic)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	if len(out) != n {
		t.Fatalf("consumed %d records of %s, want exactly %d", len(out), topic, n)
	}
	return out
}

// TestFranzDefaultsKeyedOrder produces keyed records with franz-go's
// defaults (idempotent, acks=all, newest versions) to a topic it
// auto-creates, and checks that each key stays on one partition, in order.
func TestFranzDefaultsKeyedOrder(t *testing.T) {
	c := harness.StartT(t, 1, "num.partitions=3")
	cl := client(t, c, kgo.DefaultProduceTopic("keyed"), kgo.AllowAutoTopicCreation())
	ctx := testCtx(t)
	const keys, perKey = 10, 50
	before := time.Now().Add(-time.Second).UnixMilli()
	for i := range perKey {
		for k := range keys {
			r := &kgo.Record{Key: fmt.Appendf(nil, "key-%d", k), Value: fmt.Appendf(nil, "%d", i)}
			cl.Produce(ctx, r, func(r *kgo.Record, err error) {
				if err != nil {
					t.Errorf("produce: %v", err)
				}
			})
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := consumeN(t, c, "keyed", keys*perKey)
	partOf := map[string]int32{}
	next := map[string]int{}
	parts := map[int32]bool{}
	for _, r := range recs {
		k := string(r.Key)
		if p, ok := partOf[k]; ok && p != r.Partition {
			t.Fatalf("key %s on partitions %d and %d", k, p, r.Partition)
		}
		partOf[k] = r.Partition
		parts[r.Partition] = true
		if want := fmt.Sprint(next[k]); string(r.Value) != want {
			t.Fatalf("key %s: got value %s, want %s (order broken)", k, r.Value, want)
		}
		next[k]++
		if ts := r.Timestamp.UnixMilli(); ts < before || ts > time.Now().UnixMilli() {
			t.Fatalf("record timestamp %v outside the produce window", r.Timestamp)
		}
	}
	if len(parts) < 2 {
		t.Fatalf("10 keys landed on %d partition(s) of 3", len(parts))
	}
}

// TestFranzConcurrentProducers runs several producers on one partition at
// once; every acknowledged record must be read back exactly once.
func TestFranzConcurrentProducers(t *testing.T) {
	c := harness.StartT(t, 1)
	const producers, each = 4, 500
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := client(t, c, kgo.DefaultProduceTopic("busy"), kgo.AllowAutoTopicCreation())
			for i := range each {
				cl.Produce(context.Background(), kgo.StringRecord(fmt.Sprintf("%d-%d", p, i)), func(_ *kgo.Record, err error) {
					if err != nil {
						t.Errorf("produce: %v", err)
					}
				})
			}
			if err := cl.Flush(testCtx(t)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	recs := consumeN(t, c, "busy", producers*each)
	seen := map[string]bool{}
	for i, r := range recs {
		if seen[string(r.Value)] {
			t.Fatalf("record %s read twice", r.Value)
		}
		seen[string(r.Value)] = true
		if r.Offset != int64(i) {
			t.Fatalf("record %d has offset %d: offsets must be dense", i, r.Offset)
		}
	}
}

// TestListOffsets checks earliest, latest, by timestamp and max timestamp.
func TestListOffsets(t *testing.T) {
	c := harness.StartT(t, 1)
	cl := client(t, c)
	adm := kadm.NewClient(cl)
	ctx := testCtx(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "lo"); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i, ts := range []int{0, 10, 5, 20} { // minutes after base; 20 is the max, at offset 3
		r := &kgo.Record{Topic: "lo", Value: fmt.Appendf(nil, "%d", i), Timestamp: base.Add(time.Duration(ts) * time.Minute)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, got kadm.ListedOffsets, err error, want int64) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		o, _ := got.Lookup("lo", 0)
		if o.Err != nil || o.Offset != want {
			t.Fatalf("%s: offset %d err %v, want %d", what, o.Offset, o.Err, want)
		}
	}
	o, err := adm.ListStartOffsets(ctx, "lo")
	check("earliest", o, err, 0)
	o, err = adm.ListEndOffsets(ctx, "lo")
	check("latest", o, err, 4)
	o, err = adm.ListOffsetsAfterMilli(ctx, base.Add(7*time.Minute).UnixMilli(), "lo")
	check("first at or after +7m", o, err, 1)
	o, err = adm.ListOffsetsAfterMilli(ctx, base.Add(time.Hour).UnixMilli(), "lo")
	check("after the newest timestamp", o, err, 4)

	req := kmsgMaxTimestamp("lo")
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || p.Offset != 3 || p.Timestamp != base.Add(20*time.Minute).UnixMilli() {
		t.Fatalf("max timestamp: offset %d ts %d code %d, want offset 3 ts %d", p.Offset, p.Timestamp, p.ErrorCode, base.Add(20*time.Minute).UnixMilli())
	}
}

// TestAdminTopics creates and deletes topics with kadm and checks the
// error codes Kafka gives for each mistake.
func TestAdminTopics(t *testing.T) {
	c := harness.StartT(t, 1)
	adm := kadm.NewClient(client(t, c))
	ctx := testCtx(t)
	res, err := adm.CreateTopic(ctx, 4, 1, map[string]*string{"retention.ms": kadm.StringPtr("60000")}, "admin-a")
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	if res.ID == [16]byte{} {
		t.Fatal("created topic has no topic id")
	}
	wantErr := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s: got %v, want %v", what, err, want)
		}
	}
	res, _ = adm.CreateTopic(ctx, 1, 1, nil, "admin-a")
	wantErr("existing topic", res.Err, kerr.TopicAlreadyExists)
	res, _ = adm.CreateTopic(ctx, 1, 1, nil, "bad/name")
	wantErr("bad name", res.Err, kerr.InvalidTopicException)
	res, _ = adm.CreateTopic(ctx, 1, 3, nil, "admin-rf3")
	wantErr("rf above broker count", res.Err, kerr.InvalidReplicationFactor)
	res, _ = adm.CreateTopic(ctx, 0, 1, nil, "admin-zero")
	wantErr("zero partitions", res.Err, kerr.InvalidPartitions)
	res, _ = adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("soon")}, "admin-cfg")
	wantErr("bad config value", res.Err, kerr.InvalidConfig)

	md, err := adm.Metadata(ctx, "admin-a")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(md.Topics["admin-a"].Partitions); got != 4 {
		t.Fatalf("admin-a has %d partitions, want 4", got)
	}
	dr, err := adm.DeleteTopics(ctx, "admin-a", "admin-missing")
	if err != nil {
		t.Fatal(err)
	}
	if dr["admin-a"].Err != nil {
		t.Fatalf("delete: %v", dr["admin-a"].Err)
	}
	wantErr("delete missing", dr["admin-missing"].Err, kerr.UnknownTopicOrPartition)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(topics.Names(), "admin-a") {
		t.Fatal("deleted topic still listed")
	}
}

// TestLongPoll parks a fetch on an empty partition and checks that a
// produce wakes it long before max wait runs out.
func TestLongPoll(t *testing.T) {
	c := harness.StartT(t, 1)
	cl := client(t, c)
	ctx := testCtx(t)
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "lp"); err != nil {
		t.Fatal(err)
	}
	consumer := client(t, c, kgo.ConsumeTopics("lp"), kgo.FetchMaxWait(10*time.Second))
	got := make(chan time.Time, 1)
	go func() {
		fs := consumer.PollFetches(ctx)
		if len(fs.Records()) > 0 {
			got <- time.Now()
		}
	}()
	time.Sleep(time.Second) // the consumer's fetch is parked by now
	sent := time.Now()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "lp", Value: []byte("wake")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-got:
		if d := at.Sub(sent); d > 2*time.Second {
			t.Fatalf("parked fetch answered %v after the produce; it should wake at once", d)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("parked fetch did not return the produced record")
	}
}

// kmsgMaxTimestamp asks for the record with the largest timestamp
// (ListOffsets timestamp -3, KIP-734), which kadm does not wrap.
func kmsgMaxTimestamp(topic string) *kmsg.ListOffsetsRequest {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = 0, -3
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}
