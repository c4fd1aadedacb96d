//go:build faultfs

package clock

import (
	"testing"
	"time"
)

// A skew moves Now by that much, and a duration measured across the jump
// sees it; 0 puts the clock back.
func TestSkew(t *testing.T) {
	before := Now()
	SetSkew(-time.Hour)
	t.Cleanup(func() { SetSkew(0) })
	if d := Now().Sub(before); d > -59*time.Minute || d < -61*time.Minute {
		t.Fatalf("an hour back measured %v", d)
	}
	SetSkew(0)
	if d := Now().Sub(before); d < 0 || d > time.Minute {
		t.Fatalf("back to the machine's clock measured %v", d)
	}
}
