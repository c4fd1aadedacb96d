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

// The ratio columns must say n/a rather than print Inf or NaN when an
// anchor has no figure, and keep two significant digits for the small
// start and RSS ratios the targets are about.
func TestFmtRatio(t *testing.T) {
	for _, tt := range []struct {
		a, b float64
		want string
	}{
		{a: 2, b: 1, want: "2.00"},
		{a: 1, b: 3, want: "0.33"},
		{a: 12, b: 400, want: "0.03"},
		{a: 11.8, b: 412, want: "0.029"},
		{a: 0, b: 5, want: "0.00"},
		{a: 5, b: 0, want: "n/a"},
		{a: -1, b: 5, want: "n/a"},
	} {
		if got := fmtRatio(tt.a, tt.b); got != tt.want {
			t.Errorf("fmtRatio(%v, %v) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSelectCasesSkip3n(t *testing.T) {
	all, err := selectCases("", false)
	if err != nil {
		t.Fatal(err)
	}
	one, err := selectCases("", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(one) == 0 || len(one) >= len(all) {
		t.Fatalf("-skip-3n kept %d of %d default cases", len(one), len(all))
	}
	for _, c := range one {
		if c.Nodes > 1 {
			t.Errorf("-skip-3n kept %s", c.Name)
		}
	}
	named, err := selectCases("1KiB-acksall-3n,100B-acks1", true)
	if err != nil || len(named) != 1 || named[0].Name != "100B-acks1" {
		t.Errorf("named cases with -skip-3n: %v, %v", named, err)
	}
	if _, err := selectCases("nope", false); err == nil {
		t.Error("an unknown case was accepted")
	}
}
