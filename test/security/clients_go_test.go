package security

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	kgsasl "github.com/segmentio/kafka-go/sasl"
	kgplain "github.com/segmentio/kafka-go/sasl/plain"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
)

// goFamilies are the Go clients, driven in this process.
func goFamilies() []family {
	return []family{
		{"franz-go", runFranz},
		{"sarama", runSarama},
		{"kafka-go", runKafkaGo},
	}
}

func runFranz(t *testing.T, s *secured, w way, topic string) string {
	cl := s.franz(t, w, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := range records {
		r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)}
		if err := cl.ProduceSync(ctx(t), r).FirstErr(); err != nil {
			t.Fatalf("producing record %d: %v", i, err)
		}
	}
	cons := s.franz(t, w, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var b strings.Builder
	c := ctx(t)
	for n := 0; n < records; {
		fs := cons.PollFetches(c)
		if c.Err() != nil {
			t.Fatalf("read %d of %d records", n, records)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { fmt.Fprintf(&b, "%s:%s\n", r.Key, r.Value); n++ })
	}
	return b.String()
}

func saramaConfig(s *secured, w way) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.ClientID = "gokafka-security"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.TLS.Enable = true
	cfg.Net.TLS.Config = s.layout.PKI.ClientTLS(w.cert)
	if w.mechanism == "" {
		return cfg
	}
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Handshake = true
	cfg.Net.SASL.Version = sarama.SASLHandshakeV1
	cfg.Net.SASL.User, cfg.Net.SASL.Password = w.user, w.pass
	cfg.Net.SASL.Mechanism = sarama.SASLMechanism(w.mechanism)
	if w.mechanism == "SCRAM-SHA-512" {
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &saramaScram{w: w} }
	}
	return cfg
}

// saramaScram is sarama's SCRAMClient over franz-go's SCRAM, since sarama
// ships none of its own.
type saramaScram struct {
	w     way
	first []byte
	sess  sasl.Session
	done  bool
}

func (c *saramaScram) Begin(user, pass, _ string) error {
	c.w.user, c.w.pass = user, pass
	sess, first, err := franzMechanism(c.w).Authenticate(context.Background(), "")
	c.sess, c.first = sess, first
	return err
}

func (c *saramaScram) Step(challenge string) (string, error) {
	if c.first != nil { // sarama asks for the client-first message with ""
		first := c.first
		c.first = nil
		return string(first), nil
	}
	done, resp, err := c.sess.Challenge([]byte(challenge))
	c.done = done
	return string(resp), err
}

func (c *saramaScram) Done() bool { return c.done }

func runSarama(t *testing.T, s *secured, w way, topic string) string {
	cfg := saramaConfig(s, w)
	p, err := sarama.NewSyncProducer(w.seeds, cfg)
	if err != nil {
		t.Fatalf("sarama producer: %v", err)
	}
	defer p.Close()
	var msgs []*sarama.ProducerMessage
	for i := range records {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic,
			Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("sarama produce: %v", err)
	}
	cons, err := sarama.NewConsumer(w.seeds, cfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer cons.Close()
	pc, err := cons.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("sarama consume: %v", err)
	}
	defer pc.Close()
	var b strings.Builder
	timeout := time.After(30 * time.Second)
	for range records {
		select {
		case m := <-pc.Messages():
			fmt.Fprintf(&b, "%s:%s\n", m.Key, m.Value)
		case err := <-pc.Errors():
			t.Fatalf("sarama consume: %v", err)
		case <-timeout:
			t.Fatalf("sarama read %q before timing out", firstLines(b.String(), 3))
		}
	}
	return b.String()
}

// kafkaGoMechanism is w's mechanism for kafka-go: its own PLAIN, and
// franz-go's SCRAM (kafka-go's needs a module this one does not carry).
func kafkaGoMechanism(w way) kgsasl.Mechanism {
	switch w.mechanism {
	case "PLAIN":
		return kgplain.Mechanism{Username: w.user, Password: w.pass}
	case "SCRAM-SHA-512":
		return kafkaGoScram{franzMechanism(w)}
	}
	return nil
}

type kafkaGoScram struct{ m sasl.Mechanism }

func (k kafkaGoScram) Name() string { return k.m.Name() }

func (k kafkaGoScram) Start(ctx context.Context) (kgsasl.StateMachine, []byte, error) {
	sess, first, err := k.m.Authenticate(ctx, "")
	return kafkaGoSession{sess}, first, err
}

type kafkaGoSession struct{ s sasl.Session }

func (k kafkaGoSession) Next(_ context.Context, challenge []byte) (bool, []byte, error) {
	return k.s.Challenge(challenge)
}

func runKafkaGo(t *testing.T, s *secured, w way, topic string) string {
	tlsCfg, mech := s.layout.PKI.ClientTLS(w.cert), kafkaGoMechanism(w)
	wr := &kafka.Writer{
		Addr: kafka.TCP(w.seeds...), Topic: topic, RequiredAcks: kafka.RequireAll,
		BatchTimeout: 10 * time.Millisecond, BatchSize: records,
		Transport: &kafka.Transport{TLS: tlsCfg, SASL: mech},
	}
	defer wr.Close()
	var msgs []kafka.Message
	for i := range records {
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	if err := wr.WriteMessages(ctx(t), msgs...); err != nil {
		t.Fatalf("kafka-go write: %v", err)
	}
	rd := kafka.NewReader(kafka.ReaderConfig{
		Brokers: w.seeds, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond,
		Dialer: &kafka.Dialer{Timeout: 10 * time.Second, TLS: tlsCfg, SASLMechanism: mech},
	})
	defer rd.Close()
	var b strings.Builder
	c := ctx(t)
	for range records {
		m, err := rd.ReadMessage(c)
		if err != nil {
			t.Fatalf("kafka-go read after %q: %v", firstLines(b.String(), 3), errors.Unwrap(err))
		}
		fmt.Fprintf(&b, "%s:%s\n", m.Key, m.Value)
	}
	return b.String()
}
