package interop

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// TestMetadataAutoCreateLeaderNotAvailable asks Metadata for a missing
// topic with auto-creation allowed: as Kafka, the answer that creates it is
// LEADER_NOT_AVAILABLE with no partitions, and a later one has the topic.
// Without permission the topic stays unknown and is not created.
func TestMetadataAutoCreateLeaderNotAvailable(t *testing.T) {
	c := harness.StartT(t, 1)
	cl := client(t, c)
	metadata := func(topic string, allow bool) kmsg.MetadataResponseTopic {
		t.Helper()
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = &topic
		req.Topics, req.AllowAutoTopicCreation = []kmsg.MetadataRequestTopic{rt}, allow
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) != 1 {
			t.Fatalf("Metadata for %s answered %d topics", topic, len(resp.Topics))
		}
		return resp.Topics[0]
	}
	if mt := metadata("no-auto", false); mt.ErrorCode != 3 { // UNKNOWN_TOPIC_OR_PARTITION
		t.Fatalf("without auto-creation: error %d, want UNKNOWN_TOPIC_OR_PARTITION", mt.ErrorCode)
	}
	mt := metadata("auto-md", true)
	if mt.ErrorCode != 5 || len(mt.Partitions) != 0 || mt.Topic == nil || *mt.Topic != "auto-md" {
		t.Fatalf("creating answer: error %d, %d partitions; want LEADER_NOT_AVAILABLE and none", mt.ErrorCode, len(mt.Partitions))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mt = metadata("auto-md", true)
		if mt.ErrorCode == 0 && len(mt.Partitions) == 1 && mt.Partitions[0].Leader == int32(c.Nodes[0].ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("auto-created topic never served: error %d, partitions %+v", mt.ErrorCode, mt.Partitions)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if mt := metadata("no-auto", false); mt.ErrorCode != 3 {
		t.Fatalf("no-auto was created: error %d", mt.ErrorCode)
	}
}

// TestAutoCreateClients produces to topics that do not exist with each
// client that auto-creates through Metadata; each must retry past
// LEADER_NOT_AVAILABLE and have its records acknowledged and stored.
func TestAutoCreateClients(t *testing.T) {
	c := harness.StartT(t, 1)
	produce := map[string]func(t *testing.T, topic string){
		"franz": func(t *testing.T, topic string) {
			produceN(t, c, topic, "v", 5, kgo.AllowAutoTopicCreation())
		},
		"sarama": func(t *testing.T, topic string) {
			prod, err := sarama.NewSyncProducer(c.Seeds(), saramaConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer prod.Close()
			for i := range 5 {
				if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(fmt.Sprintf("v-%d", i))}); err != nil {
					t.Fatalf("sarama: %v", err)
				}
			}
		},
		"kafka-go": func(t *testing.T, topic string) {
			w := &kafka.Writer{Addr: kafka.TCP(c.Seeds()...), Topic: topic, AllowAutoTopicCreation: true,
				RequiredAcks: kafka.RequireAll, BatchTimeout: 10 * time.Millisecond}
			defer w.Close()
			var msgs []kafka.Message
			for i := range 5 {
				msgs = append(msgs, kafka.Message{Value: fmt.Appendf(nil, "v-%d", i)})
			}
			// kafka-go's Writer does not retry its Metadata lookup: against
			// Kafka too the first write to a new topic fails with
			// LEADER_NOT_AVAILABLE (segmentio/kafka-go#1208) and the
			// application retries, as here.
			err := w.WriteMessages(testCtx(t), msgs...)
			if !errors.Is(err, kafka.LeaderNotAvailable) {
				t.Fatalf("kafka-go's first write to a new topic: %v, want LEADER_NOT_AVAILABLE as from Kafka", err)
			}
			if err := w.WriteMessages(testCtx(t), msgs...); err != nil {
				t.Fatalf("kafka-go, retried: %v", err)
			}
		},
		"kcat": func(t *testing.T, topic string) {
			run(t, "v-0\nv-1\nv-2\nv-3\nv-4\n", kcatBin, "-b", c.Seeds()[0], "-P", "-t", topic, "-X", "acks=all")
		},
	}
	for name, f := range produce {
		t.Run(name, func(t *testing.T) {
			topic := "auto-" + name
			f(t, topic)
			recs := consumeN(t, c, topic, 5)
			var got []string
			for _, r := range recs {
				got = append(got, string(r.Value))
			}
			if strings.Join(got, ",") != "v-0,v-1,v-2,v-3,v-4" {
				t.Fatalf("%s stored %v", topic, got)
			}
		})
	}
}
