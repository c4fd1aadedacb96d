package main

import (
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// BenchmarkParkedFetchReadBytes is issue 16's fetch case: a consumer with
// fetch.min.bytes=1 MiB and fetch.max.wait.ms=500 on one partition of one
// node, under a producer of 1 KiB records at a steady rate, so that each
// fetch parks and is woken by many appends. Each iteration is one fetch
// answered. It reports the bytes the node's log reads took from segment
// files (gokafka_log_read_bytes_total) per byte delivered to the consumer
// (gokafka_server_brokertopicmetrics_bytesout_total); the target is at
// most 1.1.
//
//	go build -o /tmp/g/gokafka-server ./cmd/gokafka-server &&
//	GOKAFKA_BIN=/tmp/g/gokafka-server go test -run '^$' -bench ParkedFetch -benchtime 40x ./test/bench/
func BenchmarkParkedFetchReadBytes(b *testing.B) {
	c := harness.StartT(b, 1)
	node := c.Nodes[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...))
	if err != nil {
		b.Fatal(err)
	}
	defer adm.Close()
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 1, 1, nil, "parked"); err != nil {
		b.Fatal(err)
	}

	producer, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic("parked"),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer producer.Close()
	payload := make([]byte, 1024)
	rand.Read(payload)
	// 4,000 records/s: a 1 MiB fetch is met after ~250 ms of appends,
	// about 50 of them, each waking it.
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				for range 20 {
					producer.Produce(ctx, &kgo.Record{Value: payload}, nil)
				}
			}
		}
	}()

	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"parked": {0: kgo.NewOffset().AtEnd()}}),
		kgo.FetchMinBytes(1<<20), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer consumer.Close()
	consumer.PollFetches(ctx) // the first fetch finds the log end

	read0 := harness.Metric(b, node, "gokafka_log_read_bytes_total")
	out0 := harness.Metric(b, node, "gokafka_server_brokertopicmetrics_bytesout_total")
	b.ResetTimer()
	records := 0
	for range b.N {
		fs := consumer.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			b.Fatal(err)
		}
		records += fs.NumRecords()
	}
	b.StopTimer()
	read := harness.Metric(b, node, "gokafka_log_read_bytes_total") - read0
	out := harness.Metric(b, node, "gokafka_server_brokertopicmetrics_bytesout_total") - out0
	if out == 0 {
		b.Fatal("no bytes delivered")
	}
	b.ReportMetric(read/out, "read/delivered")
	b.ReportMetric(out/float64(b.N)/(1<<10), "KiB/fetch")
	b.ReportMetric(float64(records)/float64(b.N), "records/fetch")
}
