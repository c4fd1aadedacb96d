package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// workload is one produce case. It is run against any cluster given by its
// bootstrap addresses, which is what lets the same case run on gokafka, on
// kfake, and later on a three-node cluster.
type workload struct {
	Name        string
	RecordSize  int
	AllAcks     bool // acks=all with idempotence (kgo's default); else acks=1
	Partitions  int32
	Replication int16
	Nodes       int  // cluster size the case needs
	E2E         bool // produce at runOpts.Rate and time produce → consume, instead of throughput
	// TxnRecords > 0 produces in transactions of that many records, each
	// flushed and committed before the next begins.
	TxnRecords int
	// InProcess runs the case with the kgo driver even when the bench
	// drives the others through producer-perf-test, which has no
	// records-per-transaction knob: a transactional case and the
	// idempotent case it is compared with must share a driver.
	InProcess bool
	// TopicConfigs are set on the case's topic. A case with any is
	// gokafka's alone (flush.before.ack): the other targets refuse keys
	// they do not know, and are skipped.
	TopicConfigs map[string]*string
	Default      bool
}

// runsOn reports whether the case runs on the named target.
func (w workload) runsOn(target string) bool { return w.TopicConfigs == nil || target == "gokafka" }

// runOpts are the knobs shared by every case.
type runOpts struct {
	Duration time.Duration // measured window
	Warmup   time.Duration // produced but not measured: connections, metadata, batch sizes settle
	Inflight int           // records produced but not yet acknowledged, at most (kgo driver)
	Linger   time.Duration
	CLI      string // when set, cases run through this gokafka's producer-perf-test
	Rate     int    // records/s of the end-to-end cases
	// Client are options every client of a run takes: TLS and SASL for
	// a secured listener.
	Client []kgo.Opt
}

// result is one run of one case against one target.
type result struct {
	Records  int64
	Bytes    int64
	Elapsed  time.Duration
	P50, P99 time.Duration
	Errors   int64
	FirstErr error
}

func (r result) RecordsPerSec() float64 { return float64(r.Records) / r.Elapsed.Seconds() }
func (r result) MBPerSec() float64      { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

// run creates a fresh topic, produces into it for the warm-up and the
// measured window, drains what is in flight, and deletes the topic so that
// the next run starts from the same state (and kfake's memory is freed).
func (w workload) run(ctx context.Context, seeds []string, topic string, o runOpts) (result, error) {
	drop, err := w.freshTopic(ctx, seeds, topic, o.Client...)
	if err != nil {
		return result{}, err
	}
	defer drop()

	opts := append(slices.Clip(o.Client),
		kgo.SeedBrokers(seeds...),
		kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(o.Linger),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(o.Inflight+1), // our semaphore bounds it, never kgo
		kgo.RecordDeliveryTimeout(30*time.Second),
	)
	if !w.AllAcks {
		// acks=1 needs idempotence off; allow 5 requests in flight per broker
		// as the Java producer does by default (kgo would allow one).
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
			kgo.MaxProduceRequestsInflightPerBroker(5))
	}
	if w.TxnRecords > 0 {
		opts = append(opts, kgo.TransactionalID("bench-"+topic))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return result{}, err
	}
	defer cl.Close()
	payload := make([]byte, w.RecordSize)
	rand.Read(payload) // incompressible, as in Kafka's own perf tool with random payloads
	txn := newTxnPacer(cl, w.TxnRecords)
	if err := txn.prime(ctx, payload); err != nil {
		return result{}, err
	}

	var (
		measuring atomic.Bool
		records   atomic.Int64
		errCount  atomic.Int64
		errOnce   sync.Once
		firstErr  error
		hist      histogram
		sem       = make(chan struct{}, o.Inflight)
	)
	done := func(r *kgo.Record, err error, t0 time.Time) {
		lat := time.Since(t0)
		<-sem
		if err != nil {
			errCount.Add(1)
			errOnce.Do(func() { firstErr = err })
			return
		}
		if measuring.Load() {
			records.Add(1)
			hist.record(lat)
		}
	}

	stop := make(chan struct{})
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for {
			select {
			case sem <- struct{}{}:
			case <-stop:
				return
			}
			t0 := time.Now()
			cl.Produce(context.Background(), &kgo.Record{Value: payload}, func(r *kgo.Record, err error) { done(r, err, t0) })
			if err := txn.produced(ctx); err != nil {
				errCount.Add(1)
				errOnce.Do(func() { firstErr = err })
				return
			}
		}
	}()

	var start, end time.Time
	sleep := func(d time.Duration) error {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err = sleep(o.Warmup)
	if err == nil {
		start = time.Now()
		measuring.Store(true)
		err = sleep(o.Duration)
		measuring.Store(false)
		end = time.Now()
	}
	close(stop)
	<-produced
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ferr := cl.Flush(fctx); ferr != nil && err == nil {
		err = fmt.Errorf("draining in-flight records: %w", ferr)
	}
	if terr := txn.end(fctx); terr != nil && err == nil {
		err = terr
	}
	if err != nil {
		return result{}, err
	}
	res := result{
		Records: records.Load(),
		Elapsed: end.Sub(start),
		P50:     hist.quantile(0.50),
		P99:     hist.quantile(0.99),
		Errors:  errCount.Load(),
	}
	res.Bytes = res.Records * int64(w.RecordSize)
	errOnce.Do(func() {}) // firstErr is settled once Flush has returned
	res.FirstErr = firstErr
	if res.Records == 0 {
		if res.FirstErr != nil {
			return res, fmt.Errorf("no record acknowledged: %w", res.FirstErr)
		}
		return res, errors.New("no record acknowledged in the measured window")
	}
	return res, nil
}

// txnPacer commits a transactional producer's transaction every n
// records; with n = 0 it does nothing.
type txnPacer struct {
	cl      *kgo.Client
	n, open int
}

func newTxnPacer(cl *kgo.Client, n int) *txnPacer { return &txnPacer{cl: cl, n: n} }

func (p *txnPacer) begin() error {
	if p.n == 0 {
		return nil
	}
	return p.cl.BeginTransaction()
}

// prime commits one transaction of one record and begins the next, before
// anything is measured: the first transaction of a producer waits for its
// coordinator, which Kafka creates with __transaction_state on first use.
func (p *txnPacer) prime(ctx context.Context, payload []byte) error {
	if p.n == 0 {
		return nil
	}
	if err := p.begin(); err != nil {
		return err
	}
	if err := p.cl.ProduceSync(ctx, &kgo.Record{Value: payload}).FirstErr(); err != nil {
		return fmt.Errorf("the first transactional record: %w", err)
	}
	if err := p.end(ctx); err != nil {
		return err
	}
	return p.begin()
}

// produced counts a record and, at n, flushes and commits the transaction
// and begins the next.
func (p *txnPacer) produced(ctx context.Context) error {
	if p.n == 0 {
		return nil
	}
	if p.open++; p.open < p.n {
		return nil
	}
	p.open = 0
	if err := p.end(ctx); err != nil {
		return err
	}
	return p.begin()
}

// end flushes and commits the open transaction.
func (p *txnPacer) end(ctx context.Context) error {
	if p.n == 0 {
		return nil
	}
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flushing a transaction: %w", err)
	}
	if err := p.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("committing a transaction: %w", err)
	}
	return nil
}

// freshTopic creates the case's topic; drop deletes it afterwards, so that
// the next run starts from the same state (and kfake's memory is freed).
func (w workload) freshTopic(ctx context.Context, seeds []string, topic string, client ...kgo.Opt) (drop func(), err error) {
	adm, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, client...)...)
	if err != nil {
		return nil, err
	}
	admin := kadm.NewClient(adm)
	if err := createTopic(ctx, admin, topic, w.Partitions, w.Replication, w.TopicConfigs); err != nil {
		adm.Close()
		return nil, err
	}
	return func() {
		defer adm.Close()
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.DeleteTopics(dctx, topic) // best effort: a leftover topic only costs disk
	}, nil
}

func createTopic(ctx context.Context, admin *kadm.Client, topic string, partitions int32, rf int16, configs map[string]*string) error {
	resp, err := admin.CreateTopics(ctx, partitions, rf, configs, topic)
	if err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	if r, ok := resp[topic]; ok && r.Err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, r.Err)
	}
	return nil
}

// histogram is a lock-free log-linear latency histogram: 32 linear buckets
// per power of two of nanoseconds, so quantiles are within ~3%, and the
// promise callbacks, which kgo may call from several goroutines, only do an
// atomic add.
type histogram struct {
	counts [64 * subBuckets]atomic.Uint64
}

const subBits = 5
const subBuckets = 1 << subBits

func bucketOf(ns uint64) int {
	if ns < subBuckets {
		return int(ns)
	}
	exp := bits.Len64(ns) - 1 // >= subBits
	sub := (ns >> (exp - subBits)) & (subBuckets - 1)
	return (exp-subBits+1)*subBuckets + int(sub)
}

// bucketMid is the middle of the range of values that land in bucket i.
func bucketMid(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	exp := i/subBuckets + subBits - 1
	sub := uint64(i % subBuckets)
	width := uint64(1) << (exp - subBits)
	return (subBuckets+sub)<<(exp-subBits) + width/2
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
}

func (h *histogram) quantile(q float64) time.Duration {
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total-1)) + 1
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return 0
}
