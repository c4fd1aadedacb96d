package replica

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Purgatory holds the requests that wait on partitions (Kafka's
// DelayedOperationPurgatory): acks=all produces for the high watermark,
// fetches for min bytes. A parked request is a DelayedOp watching its
// partitions; appends and high-watermark moves kick it, and one goroutine
// re-checks what was kicked and expires what timed out, from one heap of
// deadlines. A parked request costs no goroutine and no timer.
//
// Checks run on that goroutine and must not block: they look at
// watermarks and positions, never read records. A fetch's completion
// reads, so it runs on a goroutine of its own once it completes.
type Purgatory struct {
	ctx  context.Context // its goroutine ends when ctx is done
	wg   *sync.WaitGroup // the owner's: it waits for the purgatory's goroutines
	once sync.Once

	mu       sync.Mutex
	incoming []*DelayedOp // parked since the loop last looked
	kicked   []*DelayedOp // to re-check
	signal   chan struct{}

	deadlines opHeap // the loop's own
}

// NewPurgatory returns an empty purgatory whose goroutines run until ctx
// is done, counted in wg.
func NewPurgatory(ctx context.Context, wg *sync.WaitGroup) *Purgatory {
	return &Purgatory{ctx: ctx, wg: wg}
}

// DelayedOp is one parked request.
type DelayedOp struct {
	Parts    []*Partition
	Deadline time.Time
	Done     func() bool // the request can complete; cheap, never blocks
	Expire   func()      // runs at the deadline, before Finish
	Finish   func()      // answers
	Async    bool        // Finish reads: run it off the loop
	Gone     <-chan struct{}
	Parked   *atomic.Int64 // counts the parked requests of its kind

	pg     *Purgatory
	queued atomic.Bool // in kicked
	index  int         // in deadlines; -1 once out (the loop's own)
}

// Kick asks the loop to re-check op; kicks coalesce until it does.
func (op *DelayedOp) Kick() {
	if op.queued.CompareAndSwap(false, true) {
		op.pg.push(&op.pg.kicked, op)
	}
}

func (pg *Purgatory) push(list *[]*DelayedOp, op *DelayedOp) {
	pg.mu.Lock()
	*list = append(*list, op)
	pg.mu.Unlock()
	select {
	case pg.signal <- struct{}{}:
	default:
	}
}

// Add parks op: it watches its partitions and is checked once at once,
// since an append may have come between the caller's check and the watch.
func (pg *Purgatory) Add(op *DelayedOp) {
	pg.once.Do(func() {
		pg.signal = make(chan struct{}, 1)
		pg.wg.Add(1)
		go pg.run()
	})
	op.pg, op.index = pg, -1
	op.Parked.Add(1)
	for _, p := range op.Parts {
		p.waiters.add(op)
	}
	op.queued.Store(true)
	pg.push(&pg.incoming, op)
}

// run is the loop: it takes in new requests, re-checks kicked ones and
// expires those past their deadline, then sleeps until the next deadline
// or kick. When ctx is done the waiting requests are dropped
// unanswered; their connections close with it.
func (pg *Purgatory) run() {
	defer pg.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var incoming, kicked []*DelayedOp
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
		for len(pg.deadlines) > 0 && !pg.deadlines[0].Deadline.After(now) {
			op := pg.deadlines[0]
			pg.remove(op)
			if !op.abandoned() {
				op.Expire()
				pg.complete(op)
			}
		}
		if len(pg.deadlines) > 0 {
			timer.Reset(pg.deadlines[0].Deadline.Sub(now))
		}
		select {
		case <-pg.signal:
		case <-timer.C:
		case <-pg.ctx.Done():
			for len(pg.deadlines) > 0 {
				pg.remove(pg.deadlines[0])
			}
			return
		}
	}
}

// check completes op if it can, and drops it if its connection closed.
func (pg *Purgatory) check(op *DelayedOp) {
	switch {
	case op.abandoned():
		pg.remove(op)
	case op.Done():
		pg.remove(op)
		pg.complete(op)
	}
}

func (op *DelayedOp) abandoned() bool {
	select {
	case <-op.Gone:
		return true
	default:
		return false
	}
}

// remove takes op out of the heap and its partitions' watch lists.
func (pg *Purgatory) remove(op *DelayedOp) {
	heap.Remove(&pg.deadlines, op.index)
	for _, p := range op.Parts {
		p.waiters.remove(op)
	}
	op.Parked.Add(-1)
}

func (pg *Purgatory) complete(op *DelayedOp) {
	if !op.Async {
		op.Finish()
		return
	}
	pg.wg.Add(1)
	go func() {
		defer pg.wg.Done()
		op.Finish()
	}()
}

// Park puts a request in the purgatory until done holds (checked on every
// kick: appends and high-watermark moves, never polling), or timeout
// passes (expire runs), then answers with finish. If the broker stops
// first nothing is sent: the connection closes with it. parked counts the
// waiting requests.
func (pg *Purgatory) Park(parts []*Partition, timeout time.Duration, parked *atomic.Int64, done func() bool, expire, finish func()) {
	pg.Add(&DelayedOp{Parts: parts, Deadline: time.Now().Add(timeout), Parked: parked,
		Done: done, Expire: expire, Finish: finish})
}

// opHeap orders parked requests by deadline.
type opHeap []*DelayedOp

func (h opHeap) Len() int           { return len(h) }
func (h opHeap) Less(i, j int) bool { return h[i].Deadline.Before(h[j].Deadline) }
func (h opHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *opHeap) Push(x any) {
	op := x.(*DelayedOp)
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
