// Package timing keeps figures of repeated operations for /metrics, such
// as the partition loads of the group and transaction coordinators, in
// plain atomics that any goroutine may update.
package timing

import (
	"sync/atomic"
	"time"
)

// Durations is the count, mean and maximum of durations observed since
// start, in milliseconds, as Kafka's -avg and -max metrics report them
// (over the process's life rather than a window).
type Durations struct {
	count, totalMs, maxMs atomic.Int64
}

// Observe counts one operation that took d.
func (s *Durations) Observe(d time.Duration) {
	ms := d.Milliseconds()
	s.count.Add(1)
	s.totalMs.Add(ms)
	for cur := s.maxMs.Load(); ms > cur && !s.maxMs.CompareAndSwap(cur, ms); cur = s.maxMs.Load() {
	}
}

// MaxMs is the longest duration observed, 0 before the first.
func (s *Durations) MaxMs() float64 { return float64(s.maxMs.Load()) }

// AvgMs is the mean duration observed, 0 before the first.
func (s *Durations) AvgMs() float64 {
	n := s.count.Load()
	if n == 0 {
		return 0
	}
	return float64(s.totalMs.Load()) / float64(n)
}
