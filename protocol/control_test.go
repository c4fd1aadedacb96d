package protocol

import (
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestEndTxnMarkerLayout checks the marker against Kafka's layout field by
// field, decoded by kmsg rather than by our own parser.
func TestEndTxnMarkerLayout(t *testing.T) {
	b := EndTxnMarker(42, 3, true, 7, 1700000000000)
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	if rb.Attributes != 0x30 || rb.ProducerID != 42 || rb.ProducerEpoch != 3 || rb.FirstSequence != -1 ||
		rb.NumRecords != 1 || rb.LastOffsetDelta != 0 || rb.FirstTimestamp != 1700000000000 || rb.MaxTimestamp != 1700000000000 {
		t.Fatalf("header %+v", rb)
	}
	if crc := crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)); uint32(rb.CRC) != crc {
		t.Fatalf("crc %x, want %x", uint32(rb.CRC), crc)
	}
	var r kmsg.Record
	if err := r.ReadFrom(rb.Records); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(r.Key); got != "00000001" {
		t.Fatalf("key %s, want version 0 type 1 (commit)", got)
	}
	if got := hex.EncodeToString(r.Value); got != "000000000007" {
		t.Fatalf("value %s, want version 0 coordinator epoch 7", got)
	}
	var key kmsg.ControlRecordKey
	if err := key.ReadFrom(r.Key); err != nil || key.Type != kmsg.ControlRecordKeyTypeCommit {
		t.Fatalf("kmsg reads the key as %+v, %v", key, err)
	}
}

func TestParseEndTxnMarker(t *testing.T) {
	for _, commit := range []bool{true, false} {
		gotCommit, epoch, err := ParseEndTxnMarker(EndTxnMarker(1, 0, commit, 9, 5))
		if err != nil || gotCommit != commit || epoch != 9 {
			t.Fatalf("commit=%v: got %v %d %v", commit, gotCommit, epoch, err)
		}
	}
	// A data batch, a control batch of another type, short key and value
	// are all refused.
	data := BuildBatch(1, []KV{{Key: []byte("k"), Value: []byte("v")}})
	if _, _, err := ParseEndTxnMarker(data); err == nil {
		t.Fatal("a data batch parsed as a marker")
	}
	for name, kv := range map[string]KV{
		"leader change type": {Key: []byte{0, 0, 0, 2}, Value: []byte{0, 0, 0, 0, 0, 0}},
		"short key":          {Key: []byte{0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}},
		"short value":        {Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0}},
		"null value":         {Key: []byte{0, 0, 0, 1}},
		"negative version":   {Key: []byte{0xff, 0xff, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}},
	} {
		if _, _, err := ParseEndTxnMarker(controlBatch(kv)); err == nil {
			t.Errorf("%s: parsed as a marker", name)
		}
	}
	if _, _, err := ParseEndTxnMarker(EndTxnMarker(1, 0, true, 0, 0)[:40]); err == nil {
		t.Fatal("a cut batch parsed")
	}
}

// controlBatch is BuildBatch with the control bit set.
func controlBatch(kv KV) []byte {
	b := BuildBatch(1, []KV{kv})
	binary.BigEndian.PutUint16(b[21:], AttrControl|AttrTransactional)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// FuzzParseEndTxnMarker feeds hostile batches to the marker reader: it
// must return an error or a marker, never panic, and a marker it accepts
// must be one EndTxnMarker would write the same way.
func FuzzParseEndTxnMarker(f *testing.F) {
	f.Add(EndTxnMarker(1, 2, true, 3, 4))
	f.Add(EndTxnMarker(-1, -1, false, -1, -1))
	f.Add(controlBatch(KV{Key: []byte{0, 0, 0, 2}}))
	f.Add(BuildBatch(1, []KV{{Key: []byte("k")}}))
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		commit, epoch, err := ParseEndTxnMarker(b)
		if err != nil {
			return
		}
		h, _ := ParseBatchHeader(b)
		again, epoch2, err := ParseEndTxnMarker(EndTxnMarker(h.ProducerID, h.ProducerEpoch, commit, epoch, h.BaseTimestamp))
		if err != nil || again != commit || epoch2 != epoch {
			t.Fatalf("round trip: %v %d %v, want %v %d", again, epoch2, err, commit, epoch)
		}
	})
}
