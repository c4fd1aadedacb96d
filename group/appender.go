package group

import (
	"sync"

	"github.com/gokafka/gokafka/protocol"
)

// appenders write the coordinator's batches to its offsets partitions, one
// queue per partition, so that no lock of the coordinator is held across
// an append, which writes to disk. A group's batches are queued under the
// group's lock, in the order its state changed, and each queue is written
// in order by one goroutine at a time, so that the group's records are
// stored in that order, as a replay must find them.
type appenders struct {
	mu     sync.Mutex
	queues map[int32]*appendQueue
}

type appendQueue struct {
	pending  []queuedAppend
	draining bool // a goroutine is writing the queue
}

type queuedAppend struct {
	batch []byte
	guard uint64
	done  func(code protocol.ErrorCode, first int64)
}

// enqueue queues batch for partition p (guard as PartitionWriter.Append
// takes it). done is called once, with no lock held: with the outcome and
// the offset of the batch's first record once the batch is committed, or
// with the error (first -1) if it cannot be appended.
func (a *appenders) enqueue(w PartitionWriter, p int32, batch []byte, guard uint64, done func(code protocol.ErrorCode, first int64)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.queues == nil {
		a.queues = map[int32]*appendQueue{}
	}
	q := a.queues[p]
	if q == nil {
		q = &appendQueue{}
		a.queues[p] = q
	}
	q.pending = append(q.pending, queuedAppend{batch, guard, done})
	if !q.draining {
		q.draining = true
		go a.drain(w, p, q)
	}
}

// drain appends q's batches in order until it is empty. It ends with the
// queue: appends are quick (acks=all completes later, in acked), so one
// goroutine per busy partition is the most there is.
func (a *appenders) drain(w PartitionWriter, p int32, q *appendQueue) {
	for {
		a.mu.Lock()
		if len(q.pending) == 0 {
			q.draining = false
			a.mu.Unlock()
			return
		}
		next := q.pending[0]
		q.pending[0] = queuedAppend{}
		q.pending = q.pending[1:]
		a.mu.Unlock()
		appendOne(w, p, next)
	}
}

// appendOne appends one batch; acked may run before Append returns, so
// it waits for the batch's offset.
func appendOne(w PartitionWriter, p int32, qa queuedAppend) {
	var first int64
	known := make(chan struct{})
	first, err := w.Append(p, qa.batch, qa.guard, func(err error) {
		<-known
		qa.done(commitError(err), first)
	})
	if err != nil {
		qa.done(commitError(err), -1)
	}
	close(known)
}
