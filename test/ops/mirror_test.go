package ops

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
	"github.com/gokafka/gokafka/test/kafka"
)

// TestMirrorFromKafka runs MIGRATING.md's data step against a real Apache
// Kafka as the old cluster: gokafka mirror copies topic-A to a three-node
// gokafka cluster and carries group-A's committed offsets over, translated
// where the source's offsets have gaps, so that the group resumes on
// gokafka at the record it would have read next on Kafka.
//
// Source topic-A: partition 0 holds 100 records, an aborted transaction
// of 5 (offsets 100-104, its marker 105) and 20 more (106-125); partition
// 1 holds 100 with its log start moved to 30; partition 2 holds 100.
func TestMirrorFromKafka(t *testing.T) {
	source := kafka.StartKafka(t, 1)
	target := harness.StartT(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	src, err := kgo.NewClient(kgo.SeedBrokers(source...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	srcAdm := kadm.NewClient(src)
	retention := "86400000"
	if _, err := srcAdm.CreateTopic(ctx, 3, 1, map[string]*string{"retention.ms": &retention}, "topic-A"); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Millisecond) // within retention.ms
	for p := range int32(3) {
		produceTo(t, ctx, src, "topic-A", p, 0, 100, at)
	}
	abortTransaction(t, ctx, source, "topic-A")
	produceTo(t, ctx, src, "topic-A", 0, 106, 126, at)
	// topic-B ends in an aborted transaction: 10 records, then 5 aborted
	// and the marker, offsets 10-15, which mirror never sees.
	if _, err := srcAdm.CreateTopic(ctx, 1, 1, nil, "topic-B"); err != nil {
		t.Fatal(err)
	}
	produceTo(t, ctx, src, "topic-B", 0, 0, 10, at)
	abortTransaction(t, ctx, source, "topic-B")
	var toDelete kadm.Offsets
	toDelete.Add(kadm.Offset{Topic: "topic-A", Partition: 1, At: 30})
	if _, err := srcAdm.DeleteRecords(ctx, toDelete); err != nil {
		t.Fatal(err)
	}
	var commit kadm.Offsets
	for p, at := range map[int32]int64{0: 103, 1: 50, 2: 100} {
		commit.Add(kadm.Offset{Topic: "topic-A", Partition: p, At: at, LeaderEpoch: -1})
	}
	if resp, err := srcAdm.CommitOffsets(ctx, "group-A", commit); err != nil || resp.Error() != nil {
		t.Fatalf("committing group-A on the source: %v %v", err, resp.Error())
	}

	out, err := exec.CommandContext(ctx, harness.CLI(t), "mirror", "--source-bootstrap-server", strings.Join(source, ","),
		"--bootstrap-server", strings.Join(target.Seeds(), ","), "--topics", "topic-[AB]", "--groups", "group-A",
		"--replication-factor", "3", "--idle", "3s").CombinedOutput()
	t.Logf("gokafka mirror:\n%s", out)
	if err != nil {
		t.Fatalf("gokafka mirror: %v", err)
	}
	for _, want := range []string{"Created topic topic-B on the target: partitions 1\n", "Copied 290 records of topic topic-A\n", "Copied 10 records of topic topic-B\n",
		"Warning: topic-B-0: read to offset 10 of 16, then nothing for 3s; the rest are taken for transaction markers or aborted records\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("gokafka mirror does not say %q", want)
		}
	}

	dst, err := kgo.NewClient(kgo.SeedBrokers(target.Seeds()...))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dstAdm := kadm.NewClient(dst)
	ends, err := dstAdm.ListEndOffsets(ctx, "topic-A")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 120, 1: 70, 2: 100} {
		if got, _ := ends.Lookup("topic-A", p); got.Offset != want {
			t.Errorf("topic-A-%d on gokafka ends at %d, want %d (the committed records, none aborted)", p, got.Offset, want)
		}
	}
	committed, err := dstAdm.FetchOffsets(ctx, "group-A")
	if err != nil {
		t.Fatal(err)
	}
	// 103 is in the aborted transaction: the next record the group reads
	// on Kafka is 106, copied to 100; 50 is 20 past partition 1's start.
	for p, want := range map[int32]int64{0: 100, 1: 20, 2: 100} {
		if got, _ := committed.Lookup("topic-A", p); got.At != want {
			t.Errorf("group-A's offset of topic-A-%d on gokafka is %d, want %d", p, got.At, want)
		}
	}
	configs, err := dstAdm.DescribeTopicConfigs(ctx, "topic-A")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := configs.On("topic-A", nil); err != nil || !hasConfig(c, "retention.ms", retention) {
		t.Errorf("topic-A's retention.ms is not carried over: %v %+v", err, c)
	}

	// Kafka's own tool (the Java admin client), run as against Kafka, sees
	// the translated offsets.
	described := kafka.KafkaTool(t, kafka.ConsumerGroupCommand, "--bootstrap-server", strings.Join(target.Seeds(), ","), "--describe", "--group", "group-A")
	for p, want := range map[int]string{0: "100", 1: "20", 2: "100"} {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^group-A\s+topic-A\s+%d\s+%s\s`, p, want)).MatchString(described.Out) {
			t.Errorf("kafka-consumer-groups.sh --describe on gokafka does not show topic-A-%d at %s:\n%s%s", p, want, described.Out, described.Err)
		}
	}

	// group-A resumes on gokafka where it left off on Kafka.
	resumed, err := kgo.NewClient(kgo.SeedBrokers(target.Seeds()...), kgo.ConsumerGroup("group-A"), kgo.ConsumeTopics("topic-A"))
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	first := map[int32]*kgo.Record{}
	for len(first) < 2 {
		fs := resumed.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("group-A read from %d partitions on gokafka, want 2", len(first))
		}
		fs.EachRecord(func(r *kgo.Record) {
			if first[r.Partition] == nil {
				first[r.Partition] = r
			}
		})
	}
	for p, want := range map[int32]string{0: "0-106", 1: "1-50"} {
		r := first[p]
		if r == nil || string(r.Value) != want || !r.Timestamp.Equal(at) || len(r.Headers) != 1 || string(r.Headers[0].Value) != want {
			t.Errorf("group-A's first record of partition %d on gokafka: %+v, want value and header %s at %v", p, r, want, at)
		}
	}
	if r := first[2]; r != nil {
		t.Errorf("group-A read partition 2, which it had read to the end: %s", r.Value)
	}
}

// produceTo writes records from..to-1 to partition p of topic, each valued
// p-offset with a header of the same and timestamp at.
func produceTo(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, p int32, from, to int, at time.Time) {
	t.Helper()
	for i := from; i < to; i++ {
		v := []byte(fmt.Sprintf("%d-%d", p, i))
		r := &kgo.Record{Topic: topic, Partition: p, Value: v, Timestamp: at, Headers: []kgo.RecordHeader{{Key: "src", Value: v}}}
		res := cl.ProduceSync(ctx, r)
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		if res[0].Record.Offset != int64(i) {
			t.Fatalf("record %s landed at offset %d", v, res[0].Record.Offset)
		}
	}
}

// abortTransaction writes 5 records to partition 0 of topic in a
// transaction and aborts it, and waits for the marker after them.
func abortTransaction(t *testing.T, ctx context.Context, seeds []string, topic string) {
	t.Helper()
	tx, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.TransactionalID("aborted-"+topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	ends, err := kadm.NewClient(tx).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ends.Lookup(topic, 0)
	end := o.Offset
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r := &kgo.Record{Topic: topic, Partition: 0, Value: []byte(fmt.Sprintf("aborted-%d", i))}
		if err := tx.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	// Kafka writes the abort marker after EndTxn returns.
	adm := kadm.NewClient(tx)
	harness.WaitFor(t, "the abort marker", 10*time.Second, func() bool {
		ends, err := adm.ListEndOffsets(ctx, topic)
		o, _ := ends.Lookup(topic, 0)
		return err == nil && o.Offset == end+6
	})
}

func hasConfig(c kadm.ResourceConfig, key, value string) bool {
	for _, kv := range c.Configs {
		if kv.Key == key && kv.Value != nil && *kv.Value == value {
			return true
		}
	}
	return false
}
