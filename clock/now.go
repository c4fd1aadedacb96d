//go:build !faultfs

package clock

import "time"

// Now is the wall time.
func Now() time.Time { return time.Now() }
