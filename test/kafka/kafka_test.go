package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaStarts proves kafka.sh: a one-node Apache Kafka starts in
// KRaft combined mode, takes a topic, and gives back the records
// produced to it, in order.
func TestKafkaStarts(t *testing.T) {
	seeds := StartKafka(t, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic("started"),
		kgo.ConsumeTopics("started"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "started")
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("creating a topic on Kafka: %v", err)
	}
	for i := range 10 {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatalf("producing record %d: %v", i, err)
		}
	}
	var got []string
	for len(got) < 10 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("after %d records: %v", len(got), err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	for i, v := range got {
		if v != fmt.Sprint(i) {
			t.Fatalf("record %d is %q; read %q", i, v, got)
		}
	}
}
