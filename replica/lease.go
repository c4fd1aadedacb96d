package replica

import (
	"sync/atomic"
	"time"
)

// Lease is this broker's right to act as a partition leader or a group
// coordinator, held through its heartbeats to the controller.
//
// The controller fences a broker it has not heard from for
// broker.session.timeout.ms and moves its leaderships; a broker cut off
// from the controller (or paused) learns of that only once it hears from
// the quorum again, and meanwhile it would go on answering from its old
// state: high watermarks, committed offsets, even writes with acks=1. So
// the broker counts its session itself, from when it sent the last
// heartbeat that was answered. The controller received that heartbeat
// later, so the lease runs out before the controller can fence the broker,
// and no new leader is elected while the old one still serves.
//
// A lease that ran out is taken up again only once the broker has applied
// the metadata the controller had then (see the broker's catchUp): that names whoever
// leads now.
type Lease struct {
	base    time.Time    // the monotonic origin of until
	expires atomic.Int64 // nanoseconds after base; 0 until first held
}

// NewLease returns a lease not held until extended.
func NewLease() *Lease { return &Lease{base: time.Now()} }

// Held reports whether the lease is in force. A partition built without
// one (unit tests of the replication logic) always holds it.
func (l *Lease) Held() bool {
	return l == nil || time.Since(l.base) < time.Duration(l.expires.Load())
}

// Extend moves the end of the lease to until. register and then the
// heartbeat loop call it, one after the other, so ends arrive in order.
func (l *Lease) Extend(until time.Time) { l.expires.Store(int64(until.Sub(l.base))) }
