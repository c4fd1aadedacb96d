package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const goldenBatch = "testdata/batch_v2.hex"

// Field values of the golden batch. They are chosen so that every header
// field is distinguishable from its neighbours in a hex dump.
const (
	gFirstTimestamp = 1_700_000_000_000
	gProducerID     = 1000
	gProducerEpoch  = 3
	gBaseSequence   = 41
)

// buildBatch encodes a v2 batch with kmsg, independently of the code under
// test: kmsg leaves Length and CRC to the caller, so they are computed here
// from the specification.
func buildBatch(baseOffset int64, values ...string) []byte {
	var records []byte
	for i, v := range values {
		r := kmsg.Record{
			TimestampDelta64: int64(i),
			OffsetDelta:      int32(i),
			Key:              []byte{byte('k'), byte('0' + i)},
			Value:            []byte(v),
		}
		if i == 0 {
			r.Headers = []kmsg.Header{{Key: "h", Value: []byte("v")}}
		}
		body := r.AppendTo(nil)[1:] // drop the placeholder length varint (0)
		r.Length = int32(len(body))
		records = r.AppendTo(records)
	}
	b := kmsg.RecordBatch{
		FirstOffset:          baseOffset,
		Length:               int32(BatchHeaderSize - LogOverhead + len(records)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(values) - 1),
		FirstTimestamp:       gFirstTimestamp,
		MaxTimestamp:         gFirstTimestamp + int64(len(values)-1),
		ProducerID:           gProducerID,
		ProducerEpoch:        gProducerEpoch,
		FirstSequence:        gBaseSequence,
		NumRecords:           int32(len(values)),
		Records:              records,
	}
	enc := b.AppendTo(nil)
	crc := crc32.Checksum(enc[21:], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(enc[17:], crc)
	return enc
}

// goldenBytes returns the checked-in batch, rewriting it first with -update.
// The file is hex, 16 bytes a line, so that a diff shows which field moved.
func goldenBytes(t testing.TB) []byte {
	t.Helper()
	built := buildBatch(0, "first", "second", "third")
	if *update {
		var sb strings.Builder
		for i := 0; i < len(built); i += 16 {
			sb.WriteString(hex.EncodeToString(built[i:min(i+16, len(built))]))
			sb.WriteByte('\n')
		}
		if err := os.MkdirAll(filepath.Dir(goldenBatch), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenBatch, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text, err := os.ReadFile(goldenBatch)
	if err != nil {
		t.Fatalf("%v (run go test ./protocol -run TestBatchGolden -update)", err)
	}
	golden, err := hex.DecodeString(strings.ReplaceAll(string(text), "\n", ""))
	if err != nil {
		t.Fatalf("%s: %v", goldenBatch, err)
	}
	if !bytes.Equal(golden, built) {
		t.Fatalf("kmsg encodes the batch as\n%x\nbut %s holds\n%x", built, goldenBatch, golden)
	}
	return golden
}

func TestBatchGolden(t *testing.T) {
	b := goldenBytes(t)
	h, err := ParseBatchHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := BatchHeader{
		BaseOffset:           0,
		Length:               int32(len(b) - LogOverhead),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		CRC:                  binary.BigEndian.Uint32(b[17:]),
		Attributes:           0,
		LastOffsetDelta:      2,
		BaseTimestamp:        gFirstTimestamp,
		MaxTimestamp:         gFirstTimestamp + 2,
		ProducerID:           gProducerID,
		ProducerEpoch:        gProducerEpoch,
		BaseSequence:         gBaseSequence,
		NumRecords:           3,
	}
	if h != want {
		t.Fatalf("header = %+v\nwant %+v", h, want)
	}
	if h.Size() != len(b) || h.LastOffset() != 2 || h.LastSequence() != gBaseSequence+2 {
		t.Errorf("Size %d LastOffset %d LastSequence %d", h.Size(), h.LastOffset(), h.LastSequence())
	}
	if h.Compression() != CompressionNone || h.IsTransactional() || h.IsControl() || !h.HasProducerID() {
		t.Errorf("attribute accessors disagree with attributes %#x", h.Attributes)
	}
	if err := VerifyCRC(b, &h); err != nil {
		t.Fatal(err)
	}
}

// Every byte from the attributes to the end is covered by the CRC; the base
// offset, length, leader epoch and magic are not, which is what lets the
// broker assign offsets and epochs without rehashing.
func TestVerifyCRCFlippedByte(t *testing.T) {
	golden := goldenBytes(t)
	tests := []struct {
		name    string
		at      int
		crcGood bool
	}{
		{name: "base offset", at: 7, crcGood: true},
		{name: "leader epoch", at: 15, crcGood: true},
		{name: "crc itself", at: 20},
		{name: "attributes", at: 22},
		{name: "last offset delta", at: 26},
		{name: "max timestamp", at: 42},
		{name: "producer id", at: 50},
		{name: "base sequence", at: 56},
		{name: "record count", at: 60},
		{name: "first record", at: BatchHeaderSize},
		{name: "last byte", at: len(golden) - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(golden)
			b[tt.at] ^= 0x01
			h, err := ParseBatchHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			err = VerifyCRC(b, &h)
			if tt.crcGood && err != nil {
				t.Fatalf("byte %d is outside the CRC but VerifyCRC failed: %v", tt.at, err)
			}
			if !tt.crcGood && !errors.Is(err, ErrCorruptBatch) {
				t.Fatalf("flipped byte %d: err = %v, want ErrCorruptBatch", tt.at, err)
			}
		})
	}
}

func TestSetBaseOffsetAndEpochKeepCRC(t *testing.T) {
	b := goldenBytes(t)
	before := binary.BigEndian.Uint32(b[17:])
	SetBaseOffset(b, 1<<40+7)
	SetPartitionLeaderEpoch(b, 12)
	h, err := ParseBatchHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 1<<40+7 || h.PartitionLeaderEpoch != 12 || h.LastOffset() != 1<<40+9 {
		t.Fatalf("base offset %d epoch %d last offset %d", h.BaseOffset, h.PartitionLeaderEpoch, h.LastOffset())
	}
	if h.CRC != before {
		t.Errorf("CRC field changed from %08x to %08x", before, h.CRC)
	}
	if err := VerifyCRC(b, &h); err != nil {
		t.Fatal(err)
	}
}

func TestSetLogAppendTime(t *testing.T) {
	b := goldenBytes(t)
	before := binary.BigEndian.Uint32(b[17:])
	const ts = 1_800_000_000_123
	SetLogAppendTime(b, ts)
	h, err := ParseBatchHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Attributes&AttrTimestampType == 0 || h.MaxTimestamp != ts {
		t.Fatalf("attributes %#x max timestamp %d, want LogAppendTime %d", h.Attributes, h.MaxTimestamp, ts)
	}
	if h.BaseTimestamp != gFirstTimestamp {
		t.Errorf("base timestamp rewritten to %d", h.BaseTimestamp)
	}
	if h.CRC == before {
		t.Error("CRC not recomputed")
	}
	if err := VerifyCRC(b, &h); err != nil {
		t.Fatal(err)
	}
	// A client must agree: kmsg decodes the stamped batch and its CRC.
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	if kb.MaxTimestamp != ts || uint32(kb.CRC) != crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)) {
		t.Errorf("kmsg reads max timestamp %d crc %08x", kb.MaxTimestamp, uint32(kb.CRC))
	}
}

func TestLastSequence(t *testing.T) {
	tests := []struct {
		base, delta, want int32
	}{
		{base: -1, delta: 0, want: -1}, // no producer id: no sequence
		{base: -1, delta: 4, want: -1},
		{base: 0, delta: 0, want: 0},
		{base: 41, delta: 2, want: 43},
		{base: math.MaxInt32, delta: 0, want: math.MaxInt32},
		{base: math.MaxInt32, delta: 1, want: 0}, // Kafka wraps to 0, not to MinInt32
		{base: math.MaxInt32 - 1, delta: 3, want: 1},
		{base: math.MaxInt32, delta: math.MaxInt32, want: math.MaxInt32 - 1},
	}
	for _, tt := range tests {
		h := BatchHeader{BaseSequence: tt.base, LastOffsetDelta: tt.delta}
		if got := h.LastSequence(); got != tt.want {
			t.Errorf("base %d + delta %d: LastSequence = %d, want %d", tt.base, tt.delta, got, tt.want)
		}
	}
}

func TestNextBatchConcatenated(t *testing.T) {
	var all []byte
	bases := []int64{0, 3, 100}
	for i, base := range bases {
		all = append(all, buildBatch(base, strings.Repeat("x", i*50), "y")...)
	}
	rest := all
	for i, base := range bases {
		h, batch, next, err := NextBatch(rest)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if h.BaseOffset != base || len(batch) != h.Size() || &batch[0] != &rest[0] {
			t.Fatalf("batch %d: base %d size %d/%d", i, h.BaseOffset, len(batch), h.Size())
		}
		if err := VerifyCRC(batch, &h); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		rest = next
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left over", len(rest))
	}
}

// A batch cut by the end of the buffer is reported as incomplete, never as
// corrupt, wherever the cut falls: a fetch response ends that way by design.
func TestNextBatchIncomplete(t *testing.T) {
	whole := append(buildBatch(0, "a"), buildBatch(1, "b", "c")...)
	second := len(buildBatch(0, "a"))
	for _, cut := range []int{second + 1, second + LogOverhead - 1, second + LogOverhead, second + BatchHeaderSize, len(whole) - 1} {
		b := whole[:cut]
		_, _, rest, err := NextBatch(b)
		if err != nil {
			t.Fatalf("cut %d: first batch: %v", cut, err)
		}
		_, batch, rest2, err := NextBatch(rest)
		if !errors.Is(err, ErrIncompleteBatch) {
			t.Fatalf("cut at %d: err = %v, want ErrIncompleteBatch", cut, err)
		}
		if batch != nil || len(rest2) != len(rest) {
			t.Errorf("cut at %d: incomplete batch consumed %d bytes", cut, len(rest)-len(rest2))
		}
	}
	if _, _, _, err := NextBatch(nil); !errors.Is(err, ErrIncompleteBatch) {
		t.Errorf("empty input: err = %v, want ErrIncompleteBatch", err)
	}
}

func TestNextBatchCorrupt(t *testing.T) {
	golden := goldenBytes(t)
	withLength := func(n int32) []byte {
		b := bytes.Clone(golden)
		binary.BigEndian.PutUint32(b[8:], uint32(n))
		return b
	}
	with := func(at int, v ...byte) []byte {
		b := bytes.Clone(golden)
		copy(b[at:], v)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{name: "negative length", in: withLength(-1), want: ErrCorruptBatch},
		{name: "min int32 length", in: withLength(math.MinInt32), want: ErrCorruptBatch},
		{name: "zero length", in: withLength(0), want: ErrCorruptBatch},
		{name: "length one short of a header", in: withLength(BatchHeaderSize - LogOverhead - 1), want: ErrCorruptBatch},
		// Kafka rejects a too-small length before waiting for more bytes.
		{name: "zero length, only the length present", in: withLength(0)[:LogOverhead], want: ErrCorruptBatch},
		{name: "short length, half a header present", in: withLength(20)[:30], want: ErrCorruptBatch},
		{name: "magic 1", in: with(16, 1), want: ErrBadMagic},
		{name: "magic 3", in: with(16, 3), want: ErrBadMagic},
		{name: "negative last offset delta", in: with(23, 0xff, 0xff, 0xff, 0xff), want: ErrCorruptBatch},
		{name: "negative record count", in: with(57, 0x80, 0, 0, 0), want: ErrCorruptBatch},
		// A length past the end of the buffer is an incomplete batch to
		// NextBatch (a fetch response may end mid-batch) …
		{name: "oversized length", in: withLength(math.MaxInt32), want: ErrIncompleteBatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, batch, rest, err := NextBatch(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if batch != nil || len(rest) != len(tt.in) {
				t.Errorf("rejected batch consumed %d bytes", len(tt.in)-len(rest))
			}
			var kerr *Error
			if tt.want != ErrIncompleteBatch && !errors.As(err, &kerr) {
				t.Errorf("%v carries no Kafka error code", err)
			}
		})
	}
	// … but corrupt to ParseBatchHeader, whose caller holds one whole batch.
	if _, err := ParseBatchHeader(withLength(math.MaxInt32)); !errors.Is(err, ErrCorruptBatch) {
		t.Errorf("ParseBatchHeader with oversized length: err = %v, want ErrCorruptBatch", err)
	}
	if _, err := ParseBatchHeader(golden[:BatchHeaderSize-1]); !errors.Is(err, ErrCorruptBatch) {
		t.Errorf("ParseBatchHeader of 60 bytes: err = %v, want ErrCorruptBatch", err)
	}
}

func FuzzNextBatch(f *testing.F) {
	one := buildBatch(0, "first", "second", "third")
	two := append(bytes.Clone(one), buildBatch(3, "more")...)
	f.Add(one)
	f.Add(two)
	f.Add(two[:len(two)-1])
	f.Add(one[:BatchHeaderSize])
	f.Add(one[:LogOverhead])
	neg := bytes.Clone(one)
	binary.BigEndian.PutUint32(neg[8:], 0xffffffff)
	f.Add(neg)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		rest := in
		for len(rest) > 0 {
			h, batch, next, err := NextBatch(rest)
			if err != nil {
				if len(next) != len(rest) {
					t.Fatalf("error %v consumed %d bytes", err, len(rest)-len(next))
				}
				return
			}
			if len(batch) != h.Size() || len(batch) < BatchHeaderSize || len(batch)+len(next) != len(rest) {
				t.Fatalf("batch of %d bytes (size %d) from %d, %d left", len(batch), h.Size(), len(rest), len(next))
			}
			_ = VerifyCRC(batch, &h)
			c := bytes.Clone(batch)
			SetLogAppendTime(c, 1)
			hc, err := ParseBatchHeader(c)
			if err != nil {
				t.Fatalf("after SetLogAppendTime: %v", err)
			}
			if err := VerifyCRC(c, &hc); err != nil {
				t.Fatalf("after SetLogAppendTime: %v", err)
			}
			rest = next
		}
	})
}
