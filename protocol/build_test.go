package protocol

import (
	"bytes"
	"strings"
	"testing"
)

// TestBuildBatchRoundTrip builds a batch the way the group coordinator
// writes offsets and reads it back through the same checks a produced
// batch passes.
func TestBuildBatchRoundTrip(t *testing.T) {
	in := []KV{{Key: []byte("k1"), Value: []byte(strings.Repeat("v", 300))}, {Key: []byte("k2")}}
	b := BuildBatch(1234, in)
	h, err := ParseBatchHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyCRC(b, &h); err != nil {
		t.Fatal(err)
	}
	if h.NumRecords != 2 || h.LastOffsetDelta != 1 || h.MaxTimestamp != 1234 || int(h.Size()) != len(b) {
		t.Fatalf("header %+v for %d bytes", h, len(b))
	}
	out, err := Records(b)
	if err != nil || len(out) != 2 {
		t.Fatalf("records: %d, %v", len(out), err)
	}
	for i, r := range out {
		if !bytes.Equal(r.Key, in[i].Key) || !bytes.Equal(r.Value, in[i].Value) || r.OffsetDelta != int32(i) {
			t.Fatalf("record %d: key %q value %d bytes", i, r.Key, len(r.Value))
		}
	}
	if out[1].Value != nil {
		t.Fatal("a tombstone came back with a value")
	}
}
