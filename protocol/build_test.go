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

// A coordinator's transactional batch names its producer, is marked
// transactional and carries no sequence; the CRC covers the header fields.
func TestBuildTransactionalBatch(t *testing.T) {
	b := BuildTransactionalBatch(7, 42, 3, []KV{{Key: []byte("k"), Value: []byte("v")}})
	h, err := ParseBatchHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyCRC(b, &h); err != nil {
		t.Fatal(err)
	}
	if !h.IsTransactional() || h.IsControl() || h.ProducerID != 42 || h.ProducerEpoch != 3 || h.BaseSequence != -1 {
		t.Fatalf("header %+v", h)
	}
	if h, _ := ParseBatchHeader(BuildBatch(7, []KV{{Key: []byte("k")}})); h.IsTransactional() || h.HasProducerID() {
		t.Fatalf("a plain batch came out as %+v", h)
	}
}

// TestFilterBatch keeps some records of a batch: the result is a valid
// batch with the original base offset, last offset delta and timestamps,
// and the kept records at their original offsets.
func TestFilterBatch(t *testing.T) {
	b := BuildBatch(99, []KV{{Key: []byte("a")}, {Key: []byte("b")}, {Key: []byte("c")}})
	SetBaseOffset(b, 100)
	keepB := func(r *RecordView, offset int64) bool { return string(r.Key) == "b" && offset == 101 }
	out, err := FilterBatch(b, keepB)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseBatchHeader(out)
	if err != nil || VerifyCRC(out, &h) != nil {
		t.Fatalf("filtered batch invalid: %v %+v", err, h)
	}
	if h.BaseOffset != 100 || h.LastOffset() != 102 || h.NumRecords != 1 || h.MaxTimestamp != 99 {
		t.Fatalf("header %+v", h)
	}
	rs, err := Records(out)
	if err != nil || len(rs) != 1 || string(rs[0].Key) != "b" || rs[0].OffsetDelta != 1 {
		t.Fatalf("records %+v, %v", rs, err)
	}
	if all, _ := FilterBatch(b, func(*RecordView, int64) bool { return true }); !bytes.Equal(all, b) {
		t.Fatal("keeping every record must return the batch itself")
	}
	if none, _ := FilterBatch(b, func(*RecordView, int64) bool { return false }); none != nil {
		t.Fatal("keeping no record must return nil")
	}
}
