package broker

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	klog "github.com/gokafka/gokafka/log"
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
			lc := klog.DefaultManagerConfig()
			lc.Dirs = []string{b.TempDir()}
			br := newTestBroker(b, 1, lc)
			p := &partition{}
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
					br.park([]*partition{p}, tc.timeout, &br.counters.parkedProduce, ready.Load, func() {}, wg.Done)
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

// testPurgatory is a broker with no coordinator and one partition to
// watch.
func testPurgatory(t *testing.T) (*Broker, *partition) {
	lc := klog.DefaultManagerConfig()
	lc.Dirs = []string{t.TempDir()}
	return newTestBroker(t, 1, lc), &partition{}
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
	b, p := testPurgatory(t)
	var ready atomic.Bool
	woken, expired := make(chan struct{}), make(chan struct{})
	var expiredRan atomic.Bool
	b.park([]*partition{p}, time.Minute, &b.counters.parkedProduce, ready.Load, func() { t.Error("expired before its deadline") }, func() { close(woken) })
	b.park([]*partition{p}, 50*time.Millisecond, &b.counters.parkedProduce, func() bool { return false }, func() { expiredRan.Store(true) }, func() { close(expired) })
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
	eventually(t, func() bool { return b.counters.parkedProduce.Load() == 0 && len(p.waiters.set) == 0 })
}

// A condition that holds by the time the request is parked (an append
// came between the handler's check and the watch) answers without a kick.
func TestPurgatoryChecksOnceWhenParked(t *testing.T) {
	b, p := testPurgatory(t)
	done := make(chan struct{})
	b.park([]*partition{p}, time.Minute, &b.counters.parkedProduce, func() bool { return true }, func() {}, func() { close(done) })
	if !closedWithin(done, 5*time.Second) {
		t.Fatal("a request ready when parked waits for a kick")
	}
}

// A fetch whose connection closed is dropped unanswered on its next kick,
// and a broker that stops drops what waits.
func TestPurgatoryDropsAbandonedRequests(t *testing.T) {
	b, p := testPurgatory(t)
	gone := make(chan struct{})
	op := &delayedOp{parts: []*partition{p}, deadline: time.Now().Add(time.Minute), parked: &b.counters.parkedFetch,
		done: func() bool { return true }, expire: func() {}, finish: func() { t.Error("answered a closed connection") }, gone: gone}
	close(gone)
	b.purgatory.add(op)
	eventually(t, func() bool { return b.counters.parkedFetch.Load() == 0 })
	b.park([]*partition{p}, time.Minute, &b.counters.parkedProduce, func() bool { return false }, func() {}, func() { t.Error("answered after the broker stopped") })
	b.cancel()
	b.wg.Wait()
	if n := b.counters.parkedProduce.Load(); n != 0 {
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
