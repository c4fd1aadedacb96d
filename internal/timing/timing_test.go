package timing

import (
	"sync"
	"testing"
	"time"
)

func TestDurations(t *testing.T) {
	var s Durations
	if s.MaxMs() != 0 || s.AvgMs() != 0 {
		t.Fatalf("empty: max %v avg %v", s.MaxMs(), s.AvgMs())
	}
	var wg sync.WaitGroup
	for _, ms := range []int{30, 10, 20} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Observe(time.Duration(ms) * time.Millisecond)
		}()
	}
	wg.Wait()
	if s.MaxMs() != 30 || s.AvgMs() != 20 {
		t.Fatalf("max %v avg %v, want 30 and 20", s.MaxMs(), s.AvgMs())
	}
}
