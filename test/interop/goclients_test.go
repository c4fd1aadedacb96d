package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"

	"github.com/gokafka/gokafka/test/harness"
)

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.ClientID = "gokafka-interop"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Timeout = 10 * time.Second
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	return cfg
}

// TestSaramaCompression produces with every codec through sarama's sync
// producer (idempotent for one of them), reads back with sarama's
// partition consumer and with franz-go: the batches are stored as sarama
// compressed them and must decode for both.
func TestSaramaCompression(t *testing.T) {
	c := harness.StartT(t, 1)
	codecs := map[string]sarama.CompressionCodec{
		"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
		"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := "sarama-" + name
			createTopic(t, c, topic, 1, nil)
			cfg := saramaConfig()
			cfg.Producer.Compression = codec
			cfg.Producer.Flush.Messages = 20 // several records per batch, so compression matters
			if name == "zstd" {
				cfg.Producer.Idempotent, cfg.Net.MaxOpenRequests = true, 1
			}
			prod, err := sarama.NewSyncProducer(c.Seeds(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer prod.Close()
			var msgs []*sarama.ProducerMessage
			for i := range 200 {
				msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprint(i % 7)), Value: sarama.StringEncoder(fmt.Sprintf("v-%d", i))})
			}
			if err := prod.SendMessages(msgs); err != nil {
				t.Fatalf("SendMessages: %v", err)
			}
			for i, m := range msgs {
				if m.Offset != int64(i) {
					t.Fatalf("message %d acknowledged at offset %d", i, m.Offset)
				}
			}
			cons, err := sarama.NewConsumer(c.Seeds(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close()
			pc, err := cons.ConsumePartition(topic, 0, sarama.OffsetOldest)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			for i := range 200 {
				select {
				case m := <-pc.Messages():
					if m.Offset != int64(i) || string(m.Value) != fmt.Sprintf("v-%d", i) || string(m.Key) != fmt.Sprint(i%7) {
						t.Fatalf("record %d: offset %d key %q value %q", i, m.Offset, m.Key, m.Value)
					}
				case err := <-pc.Errors():
					t.Fatalf("sarama consumer: %v", err)
				case <-time.After(10 * time.Second):
					t.Fatalf("sarama consumer got %d of 200 records", i)
				}
			}
			checkValues(t, consumeN(t, c, topic, 200), values("v", 200))
		})
	}
}

// TestSaramaAsyncAcks1 streams records through sarama's async producer with
// acks=1 and counts every success.
func TestSaramaAsyncAcks1(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "sarama-async", 3, nil)
	cfg := saramaConfig()
	cfg.Producer.RequiredAcks = sarama.WaitForLocal
	cfg.Producer.Return.Errors = true
	prod, err := sarama.NewAsyncProducer(c.Seeds(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	go func() {
		for i := range n {
			prod.Input() <- &sarama.ProducerMessage{Topic: "sarama-async", Value: sarama.StringEncoder(fmt.Sprint(i))}
		}
	}()
	for i := range n {
		select {
		case <-prod.Successes():
		case err := <-prod.Errors():
			t.Fatalf("async produce: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d acknowledged", i, n)
		}
	}
	if err := prod.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(consumeN(t, c, "sarama-async", n)); got != n {
		t.Fatalf("read %d records, want %d", got, n)
	}
}

// TestKafkaGoWriterReader writes keyed messages with kafka-go's hash
// balancer and reads every partition with kafka-go's reader: each key must
// stay on one partition, in order.
func TestKafkaGoWriterReader(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "kgo-seg", 3, nil)
	addr := c.Nodes[0].KafkaAddr
	ctx := testCtx(t)
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: "kgo-seg", Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	const keys, perKey = 6, 50
	var msgs []kafka.Message
	for i := range perKey {
		for k := range keys {
			msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "k%d", k), Value: fmt.Appendf(nil, "%d", i)})
		}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("WriteMessages: %v", err)
	}
	w.Close()

	conn, err := kafka.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions("kgo-seg")
	conn.Close()
	if err != nil || len(parts) != 3 || parts[0].Leader.Port == 0 {
		t.Fatalf("kafka-go metadata: %v %+v", err, parts)
	}
	partOf, next, total := map[string]int{}, map[string]int{}, 0
	for p := range 3 {
		end := endOffset(t, addr, p)
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: "kgo-seg", Partition: p, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
		for off := int64(0); off < end; off++ {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := r.ReadMessage(rctx)
			cancel()
			if err != nil {
				t.Fatalf("partition %d offset %d: %v", p, off, err)
			}
			k := string(m.Key)
			if q, ok := partOf[k]; ok && q != p {
				t.Fatalf("key %s on partitions %d and %d", k, q, p)
			}
			partOf[k] = p
			if string(m.Value) != fmt.Sprint(next[k]) {
				t.Fatalf("key %s: value %s, want %d", k, m.Value, next[k])
			}
			next[k]++
			total++
		}
		r.Close()
	}
	if total != keys*perKey {
		t.Fatalf("read %d messages, want %d", total, keys*perKey)
	}
}

func endOffset(t *testing.T, addr string, partition int) int64 {
	t.Helper()
	conn, err := kafka.DialLeader(testCtx(t), "tcp", addr, "kgo-seg", partition)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	end, err := conn.ReadLastOffset()
	if err != nil {
		t.Fatal(err)
	}
	return end
}

type saramaHandler struct {
	got chan string
}

func (saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.got <- string(m.Value)
		s.MarkMessage(m, "")
	}
	return nil
}

// TestSaramaConsumerGroup consumes with sarama's consumer group (round
// robin strategy) and checks every record arrives once.
func TestSaramaConsumerGroup(t *testing.T) {
	c := groupCluster(t)
	createTopic(t, c, "sgrp", 2, nil)
	cfg := saramaConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	prod, err := sarama.NewSyncProducer(c.Seeds(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "sgrp", Key: sarama.StringEncoder(fmt.Sprint(i)), Value: sarama.StringEncoder(fmt.Sprintf("v-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	prod.Close()
	cg, err := sarama.NewConsumerGroup(c.Seeds(), "sarama-group", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	h := saramaHandler{got: make(chan string, 200)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{"sgrp"}, h); err != nil && ctx.Err() == nil {
				t.Errorf("sarama group: %v", err)
				return
			}
		}
	}()
	seen := map[string]bool{}
	for len(seen) < 100 {
		select {
		case v := <-h.got:
			if seen[v] {
				t.Fatalf("%s delivered twice", v)
			}
			seen[v] = true
		case <-time.After(20 * time.Second):
			t.Fatalf("sarama group read %d of 100", len(seen))
		}
	}
}
