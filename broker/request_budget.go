package broker

import (
	"context"
	"sync"
)

// requestBudget is queued.max.request.bytes: the bytes of requests read
// but not yet answered, across every connection. As Kafka's
// SimpleMemoryPool in its non-strict mode, a request is admitted while any
// budget is left and may overshoot it, so a request as large as
// socket.request.max.bytes always gets through and at most
// queued.max.request.bytes + socket.request.max.bytes are booked at once.
type requestBudget struct {
	mu    sync.Mutex
	avail int64
	freed chan struct{} // closed and replaced whenever bytes come back
}

// newRequestBudget returns nil, an unbounded budget, for max <= 0 (Kafka's
// default -1).
func newRequestBudget(max int64) *requestBudget {
	if max <= 0 {
		return nil
	}
	return &requestBudget{avail: max, freed: make(chan struct{})}
}

// book takes n bytes, waiting while none are left. It returns false if
// ctx ends first.
func (rb *requestBudget) book(ctx context.Context, n int64) bool {
	if rb == nil {
		return true
	}
	for {
		rb.mu.Lock()
		if rb.avail > 0 {
			rb.avail -= n
			rb.mu.Unlock()
			return true
		}
		freed := rb.freed
		rb.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return false
		}
	}
}

// release gives back n booked bytes and wakes the readers waiting for them.
func (rb *requestBudget) release(n int64) {
	if rb == nil || n == 0 {
		return
	}
	rb.mu.Lock()
	rb.avail += n
	close(rb.freed)
	rb.freed = make(chan struct{})
	rb.mu.Unlock()
}
