package main

import (
	"math"
	"testing"
	"time"
)

// Every value must land in a bucket whose middle is within 1/32 of it, or
// the p50/p99 the bench prints would be off by more than its stated ~3%.
func TestHistogramBuckets(t *testing.T) {
	for _, ns := range []uint64{0, 1, 31, 32, 33, 63, 64, 100, 1000, 999_999, 1_000_000, 12_345_678, 1 << 40, math.MaxInt64} {
		mid := bucketMid(bucketOf(ns))
		if diff := math.Abs(float64(mid) - float64(ns)); diff > float64(ns)/32+1 {
			t.Errorf("%d ns lands in a bucket centred on %d", ns, mid)
		}
	}
	prev := -1
	for ns := uint64(0); ns < 1<<16; ns++ {
		b := bucketOf(ns)
		if b < prev || b > prev+1 {
			t.Fatalf("bucket of %d is %d after %d: buckets must be dense and ordered", ns, b, prev)
		}
		prev = b
	}
}

func TestHistogramQuantile(t *testing.T) {
	var h histogram
	if h.quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(tt.q)
		if math.Abs(float64(got-tt.want)) > float64(tt.want)/32 {
			t.Errorf("q%.2f = %v, want %v ±3%%", tt.q, got, tt.want)
		}
	}
}

func TestMedianSpread(t *testing.T) {
	tests := []struct {
		xs             []float64
		median, spread float64
	}{
		{xs: nil, median: 0, spread: 0},
		{xs: []float64{7}, median: 7, spread: 0},
		{xs: []float64{3, 1, 2}, median: 2, spread: 100},
		{xs: []float64{4, 1, 3, 2}, median: 2.5, spread: 120},
	}
	for _, tt := range tests {
		if m, s := median(tt.xs), spread(tt.xs); m != tt.median || s != tt.spread {
			t.Errorf("%v: median %v spread %v, want %v %v", tt.xs, m, s, tt.median, tt.spread)
		}
	}
}
