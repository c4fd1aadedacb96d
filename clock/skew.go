//go:build faultfs

package clock

import (
	"sync/atomic"
	"time"
)

var skew atomic.Int64 // nanoseconds added to the wall time

// Now is the wall time, skewed. A skewed time carries no monotonic
// reading, so that a duration measured across a jump sees the jump, as
// Kafka's wall-clock arithmetic would.
func Now() time.Time {
	if d := skew.Load(); d != 0 {
		return time.Now().Round(0).Add(time.Duration(d))
	}
	return time.Now()
}

// SetSkew makes Now run d ahead of the machine's clock (behind when d is
// negative); 0 puts it back.
func SetSkew(d time.Duration) { skew.Store(int64(d)) }

// Skew is the skew SetSkew set.
func Skew() time.Duration { return time.Duration(skew.Load()) }
