package hostile

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// Record batches that pass their CRC but lie about their records (issue
// 13, items 3 and 4): each is refused with Kafka's code and never stored.

// produceRaw sends batch to partition 0 of topic in a produce v9 request
// built by hand, and returns that partition's answer.
func produceRaw(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, batch []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, 10000
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = 0, batch
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID, rt.Partitions = topic, topicID(t, ctx, cl, topic), []kmsg.ProduceRequestTopicPartition{rp}
	req.Topics = []kmsg.ProduceRequestTopic{rt}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("produce to %s: response %+v", topic, resp)
	}
	return resp.Topics[0].Partitions[0]
}

// endOffset is the log end offset of partition 0 of topic.
// topicID is topic's id, for requests that name topics by id from some
// version on (Produce v13).
func topicID(t *testing.T, ctx context.Context, cl *kgo.Client, topic string) [16]byte {
	t.Helper()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	return td[topic].ID
}

func endOffset(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) int64 {
	t.Helper()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	o, ok := ends.Lookup(topic, 0)
	if err != nil || !ok {
		t.Fatalf("end offset of %s: %v", topic, err)
	}
	return o.Offset
}

func TestHostileBatchesRefused(t *testing.T) {
	tg := newTarget(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cl := tg.client(kgo.RecordRetries(0))
	defer cl.Close()
	adm := kadm.NewClient(cl)
	compact := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	for topic, cfg := range map[string]map[string]*string{"probe": nil, "compacted": compact} {
		if _, err := adm.CreateTopic(ctx, 1, 1, cfg, topic); err != nil {
			t.Fatalf("creating %s: %v", topic, err)
		}
	}
	for _, c := range prototest.HostileBatches() {
		before := endOffset(t, ctx, adm, "probe")
		got := produceRaw(t, ctx, cl, "probe", c.Batch)
		if got.ErrorCode != c.Code || got.ErrorMessage == nil || *got.ErrorMessage == "" {
			t.Errorf("%s (%d bytes): code %d, message %v; want code %d with a message", c.Name, len(c.Batch), got.ErrorCode, got.ErrorMessage, c.Code)
		}
		if after := endOffset(t, ctx, adm, "probe"); after != before {
			t.Errorf("%s: log end offset moved from %d to %d", c.Name, before, after)
		}
	}

	got := produceRaw(t, ctx, cl, "compacted", prototest.Keyless())
	if got.ErrorCode != 87 || len(got.ErrorRecords) != 2 || got.ErrorRecords[1].RelativeOffset != 1 {
		t.Errorf("keyless records to a compacted topic: code %d, record errors %+v; want INVALID_RECORD for records 0 and 1", got.ErrorCode, got.ErrorRecords)
	}
	if end := endOffset(t, ctx, adm, "compacted"); end != 0 {
		t.Errorf("compacted topic: log end offset %d after a refused batch", end)
	}

	// Well-formed batches still go in, at the offsets nothing moved.
	for _, topic := range []string{"probe", "compacted"} {
		r := &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v")}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil || r.Offset != 0 {
			t.Errorf("valid record to %s: offset %d, %v; want offset 0", topic, r.Offset, err)
		}
	}
	tg.check()
}
