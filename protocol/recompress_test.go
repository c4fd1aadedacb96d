package protocol

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRecompressEachCodec turns a batch into each codec and from each into
// each other: every result passes ValidateBatch (so its CRC and record
// count are right), says the codec in its attributes, keeps the header
// fields, and its records, read by kmsg, are the ones written.
func TestRecompressEachCodec(t *testing.T) {
	var kvs []KV
	for i := range 50 {
		kvs = append(kvs, KV{Key: fmt.Appendf(nil, "key-%d", i), Value: bytes.Repeat([]byte{byte(i)}, 100)})
	}
	kvs[7].Value = nil // a tombstone
	plain := BuildBatch(1700000000000, kvs)
	codecs := []int{CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd}
	for _, from := range codecs {
		src, err := Recompress(plain, from, -1)
		if err != nil {
			t.Fatalf("to codec %d: %v", from, err)
		}
		for _, to := range codecs {
			out, err := Recompress(src, to, 0)
			if err != nil {
				t.Fatalf("%d to %d: %v", from, to, err)
			}
			if from == to && &out[0] != &src[0] {
				t.Errorf("codec %d to itself: copied", from)
			}
			checkRecompressed(t, out, to, kvs)
		}
	}
}

func checkRecompressed(t *testing.T, b []byte, codec int, kvs []KV) {
	t.Helper()
	if err := ValidateBatch(b, &ValidateOptions{TopicPartition: "t-0"}); err != nil {
		t.Fatalf("codec %d: %v", codec, err)
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	if int(rb.Attributes&AttrCompressionMask) != codec || rb.FirstTimestamp != 1700000000000 || rb.ProducerID != -1 || int(rb.NumRecords) != len(kvs) {
		t.Fatalf("codec %d: header %+v", codec, rb)
	}
	body, err := decompress(nil, codec, rb.Records, DefaultMaxDecompressed)
	if err != nil {
		t.Fatal(err)
	}
	for i, kv := range kvs {
		var r kmsg.Record
		if err := r.ReadFrom(body); err != nil {
			t.Fatalf("codec %d record %d: %v", codec, i, err)
		}
		body = body[len(r.AppendTo(nil)):]
		if !bytes.Equal(r.Key, kv.Key) || !bytes.Equal(r.Value, kv.Value) || (r.Value == nil) != (kv.Value == nil) || r.OffsetDelta != int32(i) {
			t.Fatalf("codec %d record %d: %q=%q", codec, i, r.Key, r.Value)
		}
	}
}

// TestRecompressLevels checks that each codec takes each level Kafka's
// compression.<codec>.level allows, its bounds included.
func TestRecompressLevels(t *testing.T) {
	plain := BuildBatch(1700000000000, []KV{{Key: []byte("k"), Value: []byte("v")}})
	for codec, levels := range map[int][]int{CompressionGzip: {-1, 1, 9}, CompressionLZ4: {1, 9, 17}, CompressionZstd: {-131072, 1, 3, 22}} {
		for _, l := range levels {
			out, err := Recompress(plain, codec, l)
			if err != nil {
				t.Fatalf("codec %d level %d: %v", codec, l, err)
			}
			checkRecompressed(t, out, codec, []KV{{Key: []byte("k"), Value: []byte("v")}})
		}
	}
}

// TestRecompressHostile: a batch whose compressed records are not what
// they claim is CORRUPT_MESSAGE, never a panic.
func TestRecompressHostile(t *testing.T) {
	b := BuildBatch(1, []KV{{Value: []byte("v")}})
	b[22] |= CompressionGzip // attributes: gzip over plain records
	if _, err := Recompress(b, CompressionZstd, 3); Code(err) != CorruptMessage {
		t.Fatalf("got %v, want CORRUPT_MESSAGE", err)
	}
	if _, err := Recompress(b[:20], CompressionZstd, 3); err == nil {
		t.Fatal("a cut batch was recompressed")
	}
}

func BenchmarkRecompressProducer(b *testing.B) {
	batch := BuildBatch(1, []KV{{Value: bytes.Repeat([]byte("x"), 1000)}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Recompress(batch, CompressionNone, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzRecompress: whatever batch passes ValidateBatch recompresses into
// each codec as a batch that passes it too; nothing panics.
func FuzzRecompress(f *testing.F) {
	plain := BuildBatch(1, []KV{{Key: []byte("k"), Value: []byte("v")}})
	f.Add(plain, uint8(CompressionZstd))
	if gz, err := Recompress(plain, CompressionGzip, -1); err == nil {
		f.Add(gz, uint8(CompressionLZ4))
	}
	f.Fuzz(func(t *testing.T, b []byte, codec uint8) {
		to := int(codec % 5)
		if ValidateBatch(b, &ValidateOptions{TopicPartition: "t-0"}) != nil {
			return
		}
		out, err := Recompress(b, to, 0)
		if err != nil {
			return // inflating past the bound
		}
		if err := ValidateBatch(out, &ValidateOptions{TopicPartition: "t-0"}); err != nil {
			t.Fatalf("recompressed batch refused: %v", err)
		}
	})
}
