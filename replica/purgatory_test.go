package replica

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPurgatory parks 1,000 requests on one partition, as acks=all
// produces or fetches waiting for min bytes do, then completes them: all
// woken by one append, or all by their timeout. It reports what a parked
// request costs while it waits (goroutines) and in all (ns, allocations,
// per request).
func BenchmarkPurgatory(b *testing.B) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{{"woken", time.Minute}, {"expired", time.Millisecond}} {
		b.Run(tc.name, func(b *testing.B) {
			pg, _ := testPurgatory(b)
			p := &Partition{}
			var counter atomic.Int64
			const parked = 1000
			var ready atomic.Bool
			waiting := -1 // goroutines while the first round waits
			b.ReportAllocs()
			for b.Loop() {
				ready.Store(false)
				var wg sync.WaitGroup
				wg.Add(parked)
				before := runtime.NumGoroutine()
				for range parked {
					pg.Park([]*Partition{p}, tc.timeout, &counter, ready.Load, func() {}, wg.Done)
				}
				if waiting < 0 {
					waiting = runtime.NumGoroutine() - before
				}
				if tc.timeout == time.Minute {
					ready.Store(true)
					p.waiters.wake()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(waiting)/parked, "goroutines/parked")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*parked), "ns/request")
		})
	}
}

// testPurgatory is a purgatory that stops at the end of the test, and
// the function that stops it earlier and waits for its goroutines.
func testPurgatory(t testing.TB) (*Purgatory, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stop := func() {
		cancel()
		wg.Wait()
	}
	t.Cleanup(stop)
	return NewPurgatory(ctx, &wg), stop
}

// closedWithin reports whether ch closes within d.
func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// A parked request answers on the kick after its condition holds, or at
// its deadline after expire; either way it leaves its partitions' watch
// lists and the parked count.
func TestPurgatoryCompletesOnKickOrDeadline(t *testing.T) {
	pg, _ := testPurgatory(t)
	p := &Partition{}
	var parked atomic.Int64
	var ready atomic.Bool
	woken, expired := make(chan struct{}), make(chan struct{})
	var expiredRan atomic.Bool
	pg.Park([]*Partition{p}, time.Minute, &parked, ready.Load, func() { t.Error("expired before its deadline") }, func() { close(woken) })
	pg.Park([]*Partition{p}, 50*time.Millisecond, &parked, func() bool { return false }, func() { expiredRan.Store(true) }, func() { close(expired) })
	p.waiters.wake()
	if closedWithin(woken, 20*time.Millisecond) {
		t.Fatal("answered before its condition held")
	}
	ready.Store(true)
	p.waiters.wake()
	if !closedWithin(woken, 5*time.Second) {
		t.Fatal("not answered after the kick")
	}
	if !closedWithin(expired, 5*time.Second) || !expiredRan.Load() {
		t.Fatal("not expired at its deadline")
	}
	eventually(t, func() bool {
		p.waiters.mu.Lock()
		defer p.waiters.mu.Unlock()
		return parked.Load() == 0 && len(p.waiters.set) == 0
	})
}

// A condition that holds by the time the request is parked (an append
// came between the handler's check and the watch) answers without a kick.
func TestPurgatoryChecksOnceWhenParked(t *testing.T) {
	pg, _ := testPurgatory(t)
	p := &Partition{}
	var parked atomic.Int64
	done := make(chan struct{})
	pg.Park([]*Partition{p}, time.Minute, &parked, func() bool { return true }, func() {}, func() { close(done) })
	if !closedWithin(done, 5*time.Second) {
		t.Fatal("a request ready when parked waits for a kick")
	}
}

// A fetch whose connection closed is dropped unanswered on its next kick,
// and a broker that stops drops what waits.
func TestPurgatoryDropsAbandonedRequests(t *testing.T) {
	pg, stop := testPurgatory(t)
	p := &Partition{}
	var fetches, produces atomic.Int64
	gone := make(chan struct{})
	op := &DelayedOp{Parts: []*Partition{p}, Deadline: time.Now().Add(time.Minute), Parked: &fetches,
		Done: func() bool { return true }, Expire: func() {}, Finish: func() { t.Error("answered a closed connection") }, Gone: gone}
	close(gone)
	pg.Add(op)
	eventually(t, func() bool { return fetches.Load() == 0 })
	pg.Park([]*Partition{p}, time.Minute, &produces, func() bool { return false }, func() {}, func() { t.Error("answered after the broker stopped") })
	stop()
	if n := produces.Load(); n != 0 {
		t.Errorf("%d requests still counted as parked", n)
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}
