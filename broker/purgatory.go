package broker

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// purgatory holds the requests that wait on partitions (Kafka's
// DelayedOperationPurgatory): acks=all produces for the high watermark,
// fetches for min bytes. A parked request is a delayedOp watching its
// partitions; appends and high-watermark moves kick it, and one goroutine
// re-checks what was kicked and expires what timed out, from one heap of
// deadlines. A parked request costs no goroutine and no timer.
//
// Checks run on that goroutine and must not block: they look at
// watermarks and positions, never read records. A fetch's completion
// reads, so it runs on a goroutine of its own once it completes.
type purgatory struct {
	b    *Broker
	once sync.Once

	mu       sync.Mutex
	incoming []*delayedOp // parked since the loop last looked
	kicked   []*delayedOp // to re-check
	signal   chan struct{}

	deadlines opHeap // the loop's own
}

// delayedOp is one parked request.
type delayedOp struct {
	pg       *purgatory
	parts    []*partition
	deadline time.Time
	done     func() bool // the request can complete; cheap, never blocks
	expire   func()      // runs at the deadline, before finish
	finish   func()      // answers
	async    bool        // finish reads: run it off the loop
	gone     <-chan struct{}
	parked   *atomic.Int64

	queued atomic.Bool // in kicked
	index  int         // in deadlines; -1 once out (the loop's own)
}

// kick asks the loop to re-check op; kicks coalesce until it does.
func (op *delayedOp) kick() {
	if op.queued.CompareAndSwap(false, true) {
		op.pg.push(&op.pg.kicked, op)
	}
}

func (pg *purgatory) push(list *[]*delayedOp, op *delayedOp) {
	pg.mu.Lock()
	*list = append(*list, op)
	pg.mu.Unlock()
	select {
	case pg.signal <- struct{}{}:
	default:
	}
}

// add parks op: it watches its partitions and is checked once at once,
// since an append may have come between the caller's check and the watch.
func (pg *purgatory) add(op *delayedOp) {
	pg.once.Do(func() {
		pg.signal = make(chan struct{}, 1)
		pg.b.wg.Add(1)
		go pg.run()
	})
	op.pg, op.index = pg, -1
	op.parked.Add(1)
	for _, p := range op.parts {
		p.waiters.add(op)
	}
	op.queued.Store(true)
	pg.push(&pg.incoming, op)
}

// run is the loop: it takes in new requests, re-checks kicked ones and
// expires those past their deadline, then sleeps until the next deadline
// or kick. When the broker stops the waiting requests are dropped
// unanswered; their connections close with it.
func (pg *purgatory) run() {
	defer pg.b.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var incoming, kicked []*delayedOp
	for {
		pg.mu.Lock()
		incoming, pg.incoming = pg.incoming, incoming[:0]
		kicked, pg.kicked = pg.kicked, kicked[:0]
		pg.mu.Unlock()
		for _, op := range incoming {
			heap.Push(&pg.deadlines, op)
		}
		for _, op := range append(incoming, kicked...) {
			op.queued.Store(false) // a kick from here on queues it again
			if op.index >= 0 {
				pg.check(op)
			}
		}
		clear(incoming)
		clear(kicked)
		now := time.Now()
		for len(pg.deadlines) > 0 && !pg.deadlines[0].deadline.After(now) {
			op := pg.deadlines[0]
			pg.remove(op)
			if !op.abandoned() {
				op.expire()
				pg.complete(op)
			}
		}
		if len(pg.deadlines) > 0 {
			timer.Reset(pg.deadlines[0].deadline.Sub(now))
		}
		select {
		case <-pg.signal:
		case <-timer.C:
		case <-pg.b.ctx.Done():
			for len(pg.deadlines) > 0 {
				pg.remove(pg.deadlines[0])
			}
			return
		}
	}
}

// check completes op if it can, and drops it if its connection closed.
func (pg *purgatory) check(op *delayedOp) {
	switch {
	case op.abandoned():
		pg.remove(op)
	case op.done():
		pg.remove(op)
		pg.complete(op)
	}
}

func (op *delayedOp) abandoned() bool {
	select {
	case <-op.gone:
		return true
	default:
		return false
	}
}

// remove takes op out of the heap and its partitions' watch lists.
func (pg *purgatory) remove(op *delayedOp) {
	heap.Remove(&pg.deadlines, op.index)
	for _, p := range op.parts {
		p.waiters.remove(op)
	}
	op.parked.Add(-1)
}

func (pg *purgatory) complete(op *delayedOp) {
	if !op.async {
		op.finish()
		return
	}
	pg.b.wg.Add(1)
	go func() {
		defer pg.b.wg.Done()
		op.finish()
	}()
}

// opHeap orders parked requests by deadline.
type opHeap []*delayedOp

func (h opHeap) Len() int           { return len(h) }
func (h opHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h opHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *opHeap) Push(x any) {
	op := x.(*delayedOp)
	op.index = len(*h)
	*h = append(*h, op)
}
func (h *opHeap) Pop() any {
	old := *h
	op := old[len(old)-1]
	old[len(old)-1], op.index = nil, -1
	*h = old[:len(old)-1]
	return op
}
