package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// TestTopicCompressionType: a topic with compression.type=zstd stores
// the uncompressed batches of a producer as zstd batches, as Kafka's
// leader recompresses on append: the raw fetched batch says zstd in its
// attributes, and franz-go, sarama and kcat read the records back.
func TestTopicCompressionType(t *testing.T) {
	c := harness.StartT(t, 1)
	zstd := "zstd"
	id := createTopic(t, c, "recompressed", 1, map[string]*string{"compression.type": &zstd})
	prod := client(t, c, kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.DefaultProduceTopic("recompressed"))
	want := values("v", 100)
	for _, v := range want {
		prod.Produce(testCtx(t), &kgo.Record{Key: []byte("k"), Value: []byte(v)}, nil)
	}
	if err := prod.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}

	req := kmsg.NewFetchRequest()
	req.Version, req.MaxWaitMillis, req.MaxBytes = 12, 100, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = "recompressed", id // the client may send v13+, which names topics by id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), prod)
	if err != nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("fetch: %v %+v", err, resp)
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(resp.Topics[0].Partitions[0].RecordBatches); err != nil {
		t.Fatal(err)
	}
	if rb.Attributes&0x07 != 4 {
		t.Fatalf("stored batch attributes %#x, want zstd (4)", rb.Attributes)
	}

	checkValues(t, consumeN(t, c, "recompressed", len(want)), want)

	cfg := saramaConfig()
	cons, err := sarama.NewConsumer(c.Seeds(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pc, err := cons.ConsumePartition("recompressed", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for i := range want {
		select {
		case m := <-pc.Messages():
			if m.Offset != int64(i) || string(m.Value) != want[i] {
				t.Fatalf("sarama record %d: offset %d value %q", i, m.Offset, m.Value)
			}
		case err := <-pc.Errors():
			t.Fatalf("sarama consumer: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("sarama consumer got %d of %d records", i, len(want))
		}
	}

	out := run(t, "", kcatBin, "-b", c.Seeds()[0], "-C", "-t", "recompressed", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n")
	if out != strings.Join(want, "\n")+"\n" {
		t.Fatalf("kcat read back:\n%s", out)
	}
}

// TestDynamicBrokerConfigsDocumented: a key Kafka changes at run time
// (log.cleaner.backoff.ms) is accepted on the broker and shown as
// DYNAMIC_BROKER_CONFIG with its documentation and type; a static key is
// refused with Kafka's message.
func TestDynamicBrokerConfigsDocumented(t *testing.T) {
	c := harness.StartT(t, 1)
	adm := kadm.NewClient(client(t, c))
	set := func(key, value string) error {
		res, err := adm.AlterBrokerConfigs(testCtx(t), []kadm.AlterConfig{{Name: key, Value: &value}}, 1)
		if err == nil {
			_, err = res.On("1", nil)
		}
		if err == nil {
			r, _ := res.On("1", nil)
			err = r.Err
			if err != nil {
				err = fmt.Errorf("%w: %s", err, r.ErrMessage)
			}
		}
		return err
	}
	if err := set("log.cleaner.backoff.ms", "500"); err != nil {
		t.Fatalf("log.cleaner.backoff.ms: %v", err)
	}
	if err := set("num.partitions", "3"); err == nil || !strings.Contains(err.Error(), "Cannot update these configs dynamically: Set(num.partitions)") {
		t.Fatalf("num.partitions: %v", err)
	}

	req := kmsg.NewDescribeConfigsRequest()
	req.IncludeDocumentation, req.IncludeSynonyms = true, true
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = kmsg.ConfigResourceTypeBroker, "1", []string{"log.cleaner.backoff.ms"}
	req.Resources = append(req.Resources, r)
	harness.WaitFor(t, "log.cleaner.backoff.ms shown as set", 10*time.Second, func() bool {
		resp, err := req.RequestWith(testCtx(t), client(t, c))
		if err != nil || len(resp.Resources) != 1 || len(resp.Resources[0].Configs) != 1 {
			return false
		}
		e := resp.Resources[0].Configs[0]
		return e.Value != nil && *e.Value == "500" && e.Source == kmsg.ConfigSourceDynamicBrokerConfig && !e.ReadOnly &&
			e.ConfigType == kmsg.ConfigTypeLong && e.Documentation != nil && strings.Contains(*e.Documentation, "cleaner") &&
			len(e.ConfigSynonyms) == 2 && e.ConfigSynonyms[1].Source == kmsg.ConfigSourceDefaultConfig
	})
}
