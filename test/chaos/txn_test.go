package chaos

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The transactional workload: one transactional producer writing
// txnRecords records per transaction across the transactional partitions,
// every fourth transaction aborted on purpose, and a read_committed
// consumer of those partitions.
const (
	txnProducer = 900 // the producer id in its values (see Value)
	txnRecords  = 10
	txnID       = "chaos-txn"
)

// transact runs the transactional producer until the workload stops. A
// commit that returns nil acknowledges its records; an abort that returns
// nil makes their values aborted; a transaction whose end failed has an
// unknown outcome and is recorded as neither, and the producer starts
// over with a new client, which fences the old one.
func (w *workload) transact() {
	defer w.wg.Done()
	var seq int64
	var cl *kgo.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	for n := 0; ; n++ {
		select {
		case <-w.stop:
			return
		default:
		}
		if cl == nil {
			var err error
			if cl, err = kgo.NewClient(w.txnOpts()...); err != nil {
				w.c.t.Error(err)
				return
			}
		}
		acks, values, ok := w.transaction(cl, &seq, n%4 != 3)
		switch {
		case ok && acks != nil:
			w.record(func(h *History) { h.Acks = append(h.Acks, acks...) })
		case ok:
			w.record(func(h *History) { h.Aborted = append(h.Aborted, values...) })
		default:
			cl.Close()
			cl = nil
			time.Sleep(500 * time.Millisecond)
		}
	}
}

func (w *workload) txnOpts() []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(w.c.seeds...), kgo.TransactionalID(txnID), kgo.TransactionTimeout(10 * time.Second),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProduceRequestTimeout(2 * time.Second),
		kgo.RequestTimeoutOverhead(time.Second), kgo.DialTimeout(time.Second)}
}

// transaction writes one transaction and ends it, committing if commit
// and every record was written. It returns the acknowledgements of a
// commit, or nil and the values of an abort; ok is false when the end
// failed.
func (w *workload) transaction(cl *kgo.Client, seq *int64, commit bool) (acks []Ack, values []string, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		return nil, nil, false
	}
	var mu sync.Mutex
	failed := false
	for k := range txnRecords {
		tp, v := w.txnTPs[k%len(w.txnTPs)], Value(txnProducer, *seq)
		*seq++
		values = append(values, v)
		cl.Produce(ctx, &kgo.Record{Topic: tp.Topic, Partition: tp.Partition, Value: []byte(v)}, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			failed = failed || err != nil
			if err == nil {
				acks = append(acks, Ack{TP: tp, Offset: r.Offset, Value: v})
			}
		})
	}
	flushErr := cl.Flush(ctx)
	mu.Lock()
	commit = commit && !failed && flushErr == nil
	mu.Unlock()
	if !commit {
		if err := cl.AbortBufferedRecords(ctx); err != nil {
			return nil, nil, false
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		return nil, nil, false
	}
	if !commit {
		return nil, values, true
	}
	mu.Lock() // every promise has run: the records are flushed or aborted
	defer mu.Unlock()
	at := time.Now()
	for i := range acks {
		acks[i].At = at
	}
	return acks, values, true
}

// consumeCommitted reads the transactional partitions from the start with
// read_committed and records what it is given.
func (w *workload) consumeCommitted(cl *kgo.Client) {
	defer w.wg.Done()
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-w.stop; cancel() }()
	for ctx.Err() == nil {
		var reads []Read
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			reads = append(reads, Read{TP: TP{r.Topic, r.Partition}, Offset: r.Offset, Value: string(r.Value)})
		})
		w.record(func(h *History) { h.CommittedReads = append(h.CommittedReads, reads...) })
	}
}
