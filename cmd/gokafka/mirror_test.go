package main

import "testing"

// TestOffsetMapTranslate maps committed offsets across a partition whose
// source has a log start above 0, an aborted transaction (records and
// marker not copied) and a compacted hole.
func TestOffsetMapTranslate(t *testing.T) {
	var o offsetMap
	if got := o.translate(7); got != 0 {
		t.Errorf("nothing copied: translate(7) = %d, want 0", got)
	}
	// Source 30..99 → target 0..69; 100..105 aborted and its marker;
	// 106..119 → 70..83; 120 compacted away; 121 → 84.
	for src := int64(30); src < 100; src++ {
		o.add(src, src-30)
	}
	for src := int64(106); src < 120; src++ {
		o.add(src, src-36)
	}
	o.add(121, 84)
	if len(o.runs) != 3 {
		t.Errorf("%d runs, want 3: %+v", len(o.runs), o.runs)
	}
	for committed, want := range map[int64]int64{
		0:   0,  // below the log start: the first record
		30:  0,  // the first record
		50:  20, // within the first run
		100: 70, // an aborted record: the next committed one
		105: 70, // the abort marker
		106: 70,
		119: 83,
		120: 84, // the compacted hole
		121: 84,
		122: 85, // the end
		500: 85,
	} {
		if got := o.translate(committed); got != want {
			t.Errorf("translate(%d) = %d, want %d", committed, got, want)
		}
	}
}
