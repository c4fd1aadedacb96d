package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// runE2E produces w.Rate records a second with acks=all (one at a time
// as they fall due, linger 0) while a consumer reads the topic, and
// measures each record from the moment it fell due to its arrival at the
// consumer: the latency an application sees at a load far from the
// limit. Timing from the due time rather than the produce call keeps a
// stalled producer from hiding the stall (coordinated omission). Each
// record carries its due time; those due in the warm-up are not counted.
func (w workload) runE2E(ctx context.Context, seeds []string, topic string, o runOpts) (result, error) {
	drop, err := w.freshTopic(ctx, seeds, topic)
	if err != nil {
		return result{}, err
	}
	defer drop()
	cons, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return result{}, err
	}
	defer cons.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordDeliveryTimeout(30*time.Second))
	if err != nil {
		return result{}, err
	}
	defer prod.Close()

	start := time.Now()
	from, end := start.Add(o.Warmup), start.Add(o.Warmup+o.Duration)
	var (
		hist     histogram
		received atomic.Int64
		errCount atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	cctx, stopConsumer := context.WithCancel(ctx)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for cctx.Err() == nil {
			cons.PollFetches(cctx).EachRecord(func(r *kgo.Record) {
				if len(r.Value) < 8 {
					return // not one of ours
				}
				due := time.Unix(0, int64(binary.BigEndian.Uint64(r.Value)))
				if !due.Before(from) {
					hist.record(time.Since(due))
					received.Add(1)
				}
			})
		}
	}()
	defer func() { stopConsumer(); <-consumed }()

	interval := time.Second / time.Duration(o.Rate)
	var sent int64
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(end) {
			break
		}
		select {
		case <-time.After(time.Until(due)):
		case <-ctx.Done():
			return result{}, ctx.Err()
		}
		v := make([]byte, w.RecordSize)
		binary.BigEndian.PutUint64(v, uint64(due.UnixNano()))
		if !due.Before(from) {
			sent++
		}
		prod.Produce(ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				errCount.Add(1)
				errOnce.Do(func() { firstErr = err })
			}
		})
	}
	if err := prod.Flush(ctx); err != nil {
		return result{}, fmt.Errorf("flushing: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for received.Load() < sent-errCount.Load() {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("consumed %d of %d records 30 s after the last produce", received.Load(), sent)
		}
		time.Sleep(10 * time.Millisecond)
	}
	errOnce.Do(func() {})
	res := result{Records: received.Load(), Elapsed: o.Duration, P50: hist.quantile(0.50), P99: hist.quantile(0.99),
		Errors: errCount.Load(), FirstErr: firstErr}
	res.Bytes = res.Records * int64(w.RecordSize)
	if res.Records == 0 {
		return res, errors.New("no record consumed in the measured window")
	}
	return res, nil
}
