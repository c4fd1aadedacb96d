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
	// Baseline names a case this one runs in turns with (runTurns) and
	// is compared with: the transactional case's idempotent one.
	Baseline string
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
	CLI      string        // when set, cases run through this gokafka's producer-perf-test
	Rate     int           // records/s of the end-to-end cases
	Turn     time.Duration // how long a case and its baseline produce at a time (runTurns)
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
	p, err := w.start(ctx, seeds, topic, o)
	if err != nil {
		return result{}, err
	}
	defer p.close()
	var t tally
	if err := p.produce(ctx, o.Warmup, o.Duration, false, &t); err != nil {
		return result{}, err
	}
	return t.result(w.RecordSize)
}

// tally is what a producer's measured windows add up to.
type tally struct {
	records, errors int64
	elapsed         time.Duration
	firstErr        error
	hist            histogram
}

func (t *tally) result(recordSize int) (result, error) {
	res := result{
		Records:  t.records,
		Bytes:    t.records * int64(recordSize),
		Elapsed:  t.elapsed,
		P50:      t.hist.quantile(0.50),
		P99:      t.hist.quantile(0.99),
		Errors:   t.errors,
		FirstErr: t.firstErr,
	}
	if res.Records == 0 {
		if res.FirstErr != nil {
			return res, fmt.Errorf("no record acknowledged: %w", res.FirstErr)
		}
		return res, errors.New("no record acknowledged in the measured window")
	}
	return res, nil
}

// producer is one case's client with a topic of its own. It produces in
// turns (produce), each ended with everything acknowledged and, for a
// transactional case, committed, so that two producers can take turns on
// the same cluster.
type producer struct {
	cl       *kgo.Client
	payload  []byte
	txn      *txnPacer
	inflight int
	drop     func()
}

// start creates the case's topic and client, and commits a first
// transaction for a transactional case.
func (w workload) start(ctx context.Context, seeds []string, topic string, o runOpts) (*producer, error) {
	drop, err := w.freshTopic(ctx, seeds, topic, o.Client...)
	if err != nil {
		return nil, err
	}
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
		drop()
		return nil, err
	}
	p := &producer{cl: cl, payload: make([]byte, w.RecordSize), txn: newTxnPacer(cl, w.TxnRecords), inflight: o.Inflight, drop: drop}
	rand.Read(p.payload) // incompressible, as in Kafka's own perf tool with random payloads
	if err := p.txn.prime(ctx, p.payload); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *producer) close() {
	p.cl.Close()
	p.drop()
}

// produce runs one turn: warm unmeasured, then the measured window, then
// it stops producing and waits for everything in flight to be
// acknowledged and the open transaction committed. Records count, into
// t, when acknowledged within the window: the steady rate of a long
// window. With whole, a turn too short for its pipeline to be at steady
// state counts whole instead: every record produced in the window, over
// the time until the last is acknowledged and committed. That neither
// misses what is in flight when the window closes nor the pipeline's
// filling when it opens, which for a producer with 4096 records in
// flight at 300 ms each is a third of a one-second turn.
func (p *producer) produce(ctx context.Context, warm, measure time.Duration, whole bool, t *tally) error {
	var (
		measuring atomic.Bool
		records   atomic.Int64
		errCount  atomic.Int64
		errOnce   sync.Once
		firstErr  error
		hist      = &t.hist
		sem       = make(chan struct{}, p.inflight)
	)
	done := func(r *kgo.Record, err error, t0 time.Time, inWindow bool) {
		lat := time.Since(t0)
		<-sem
		if err != nil {
			errCount.Add(1)
			errOnce.Do(func() { firstErr = err })
			return
		}
		if whole && inWindow || !whole && measuring.Load() {
			records.Add(1)
			hist.record(lat)
		}
	}
	if err := p.txn.begin(); err != nil {
		return err
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
			t0, inWindow := time.Now(), measuring.Load()
			p.cl.Produce(context.Background(), &kgo.Record{Value: p.payload}, func(r *kgo.Record, err error) { done(r, err, t0, inWindow) })
			if err := p.txn.produced(ctx); err != nil {
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
	err := sleep(warm)
	if err == nil {
		start = time.Now()
		measuring.Store(true)
		err = sleep(measure)
		measuring.Store(false)
		end = time.Now()
	}
	close(stop)
	<-produced
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ferr := p.cl.Flush(fctx); ferr != nil && err == nil {
		err = fmt.Errorf("draining in-flight records: %w", ferr)
	}
	if terr := p.txn.end(fctx); terr != nil && err == nil {
		err = terr
	}
	if err != nil {
		return err
	}
	if whole {
		end = time.Now()
	}
	t.records += records.Load()
	t.errors += errCount.Load()
	t.elapsed += end.Sub(start)
	errOnce.Do(func() {}) // firstErr is settled once Flush has returned
	if t.firstErr == nil {
		t.firstErr = firstErr
	}
	return nil
}

// runTurns measures cases a and b on one cluster in turns: after a
// warm-up each, they produce alternately for o.Duration/turns at a time
// (a first, then b first), each turn ended with everything acknowledged
// and committed. The load of this shared machine swings over seconds, by
// half and more; in turns it falls on both cases alike, so that b's rate
// over a's, which is what is compared, holds still where two runs one
// after the other do not. pairs are b's rate over a's in each pair of
// adjacent turns: a median over them shrugs off a pair that a burst of
// load split unevenly.
//
// Both get the same records in flight, at most b's transaction: a
// transaction never has more, and with 4096 kgo's idempotent producer ran
// at half its rate with 1000 on this machine while the broker sat idle
// (8% of a core), which would compare the client's pipelines, not the
// cost of transactions.
func runTurns(ctx context.Context, seeds []string, a, b workload, topic string, o runOpts, turns int) (ra, rb result, pairs []float64, err error) {
	o.Inflight = b.turnDepth(o.Inflight)
	pa, err := a.start(ctx, seeds, topic+"-a", o)
	if err != nil {
		return ra, rb, nil, err
	}
	defer pa.close()
	pb, err := b.start(ctx, seeds, topic+"-b", o)
	if err != nil {
		return ra, rb, nil, err
	}
	defer pb.close()
	ps := []*producer{pa, pb}
	tallies := make([]tally, 2)
	if o.Warmup > 0 {
		for _, p := range ps {
			var warm tally
			if err := p.produce(ctx, 0, o.Warmup, false, &warm); err != nil {
				return ra, rb, nil, err
			}
		}
	}
	turn := o.Duration / time.Duration(turns)
	var rates [2]float64 // of the two turns of a pair
	for i := range 2 * turns {
		k := (i + i/2) % 2 // a b, b a, a b, ...
		t := &tallies[k]
		records, elapsed := t.records, t.elapsed
		if err := ps[k].produce(ctx, 0, turn, true, t); err != nil {
			return ra, rb, nil, err
		}
		rates[k] = float64(t.records-records) / (t.elapsed - elapsed).Seconds()
		if i%2 == 1 && rates[0] > 0 {
			pairs = append(pairs, rates[1]/rates[0])
		}
	}
	if ra, err = tallies[0].result(a.RecordSize); err == nil {
		rb, err = tallies[1].result(b.RecordSize)
	}
	return ra, rb, pairs, err
}

// turnDepth is the records in flight of a case and its baseline in
// turns: at most the case's transaction, as runTurns says why.
func (w workload) turnDepth(inflight int) int {
	if w.TxnRecords > 0 {
		return min(inflight, w.TxnRecords)
	}
	return inflight
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
	p.open = 0
	return p.cl.BeginTransaction()
}

// prime commits one transaction of one record before anything is
// measured: the first transaction of a producer waits for its
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
	return p.end(ctx)
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
