package protocol

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol/prototest"
)

var plainTopic = &ValidateOptions{TopicPartition: "t-0"}

// compressBatch rewrites an uncompressed batch with its records compressed
// by codec, as a producer builds it.
func compressBatch(t testing.TB, batch []byte, codec int) []byte {
	t.Helper()
	records := batch[BatchHeaderSize:]
	var out []byte
	var buf bytes.Buffer
	stream := func(w io.WriteCloser) []byte {
		w.Write(records)
		w.Close()
		return buf.Bytes()
	}
	switch codec {
	case CompressionGzip:
		out = stream(gzip.NewWriter(&buf))
	case CompressionSnappy:
		out = s2.EncodeSnappy(nil, records)
	case CompressionLZ4:
		out = stream(lz4.NewWriter(&buf))
	case CompressionZstd:
		enc, _ := zstd.NewWriter(nil)
		out = enc.EncodeAll(records, nil)
	}
	b := append(append([]byte(nil), batch[:BatchHeaderSize]...), out...)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-LogOverhead))
	binary.BigEndian.PutUint16(b[21:], binary.BigEndian.Uint16(b[21:])|uint16(codec))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[crcStart:], castagnoli))
	return b
}

func TestValidateBatchAcceptsProducerBatches(t *testing.T) {
	batch := prototest.Plain(1_700_000_000_000, "a", "b", "c").Encode()
	idem := prototest.Batch{FirstTimestamp: 1, ProducerID: 7, BaseSequence: 0, Values: []string{"x"}}.Encode()
	for _, b := range [][]byte{batch, idem, BuildBatch(5, []KV{{Key: []byte("k")}})} {
		if err := ValidateBatch(b, &ValidateOptions{Compacted: true}); err != nil {
			t.Errorf("valid batch refused: %v", err)
		}
	}
	for codec := CompressionGzip; codec <= CompressionZstd; codec++ {
		if err := ValidateBatch(compressBatch(t, batch, codec), plainTopic); err != nil {
			t.Errorf("codec %d: valid batch refused: %v", codec, err)
		}
	}
}

// The Java client frames snappy the xerial way: a 16-byte header, then
// length-prefixed blocks.
func TestValidateBatchXerialSnappy(t *testing.T) {
	batch := benchBatch(4, 100)
	records := batch[BatchHeaderSize:]
	xerial := append([]byte(nil), xerialMagic...)
	xerial = append(xerial, 0, 0, 0, 1, 0, 0, 0, 1)
	for _, part := range [][]byte{records[:150], records[150:]} {
		block := s2.EncodeSnappy(nil, part)
		xerial = binary.BigEndian.AppendUint32(xerial, uint32(len(block)))
		xerial = append(xerial, block...)
	}
	b := append(append([]byte(nil), batch[:BatchHeaderSize]...), xerial...)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-LogOverhead))
	binary.BigEndian.PutUint16(b[21:], CompressionSnappy)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[crcStart:], castagnoli))
	if err := ValidateBatch(b, plainTopic); err != nil {
		t.Errorf("xerial snappy batch refused: %v", err)
	}
	if rs, err := Records(b); err != nil || len(rs) != 4 {
		t.Errorf("xerial snappy batch: %d records, %v", len(rs), err)
	}
}

func TestValidateBatchRefusesHostileBatches(t *testing.T) {
	for _, c := range prototest.HostileBatches() {
		err := ValidateBatch(c.Batch, plainTopic)
		if got := Code(err); int16(got) != c.Code {
			t.Errorf("%s: code %d (%v), want %d", c.Name, got, err, c.Code)
		}
	}
}

func TestValidateBatchKeylessInCompactedTopic(t *testing.T) {
	err := ValidateBatch(prototest.Keyless(), &ValidateOptions{TopicPartition: "c-0", Compacted: true})
	var re *RecordErrors
	if !errors.As(err, &re) || Code(err) != InvalidRecord {
		t.Fatalf("got %v, want record errors with INVALID_RECORD", err)
	}
	if len(re.Records) != 2 || re.Records[1].Index != 1 ||
		!strings.HasPrefix(re.Records[0].Message, "Compacted topic cannot accept message without key in topic partition c-0") {
		t.Errorf("record errors %+v", re.Records)
	}
	if !strings.Contains(re.Err.Msg, "due to 2 record errors") {
		t.Errorf("message %q", re.Err.Msg)
	}
	if err := ValidateBatch(prototest.Keyless(), plainTopic); err != nil {
		t.Errorf("keyless records refused on a non-compacted topic: %v", err)
	}
}

func TestValidateBatchLogAppendTimeBit(t *testing.T) {
	b := prototest.Plain(1, "a").Encode()
	SetLogAppendTime(b, 2)
	if err := ValidateBatch(b, &ValidateOptions{LogAppendTime: true}); Code(err) != InvalidTimestamp {
		t.Errorf("LogAppendTime bit on a LogAppendTime topic: %v, want INVALID_TIMESTAMP", err)
	}
}

func TestValidateBatchTransactionalWithTransactionalID(t *testing.T) {
	txn := prototest.HostileBatches()[15]
	if !strings.Contains(txn.Name, "transactional") {
		t.Fatalf("case list changed: %s", txn.Name)
	}
	// Whether the batch belongs to an ongoing transaction is the
	// partition's and the coordinator's to say, not the batch's.
	if err := ValidateBatch(txn.Batch, &ValidateOptions{TransactionalID: "tx"}); err != nil {
		t.Errorf("transactional batch with a transactional id: %v", err)
	}
}

func TestValidateBatchDecompressionBounded(t *testing.T) {
	big := prototest.Plain(1, strings.Repeat("x", 1<<20)).Encode()
	for codec := CompressionGzip; codec <= CompressionZstd; codec++ {
		b := compressBatch(t, big, codec)
		if err := ValidateBatch(b, &ValidateOptions{MaxDecompressed: 1 << 19}); Code(err) != CorruptMessage {
			t.Errorf("codec %d: inflating past the bound gave %v, want CORRUPT_MESSAGE", codec, err)
		}
		if err := ValidateBatch(b, plainTopic); err != nil {
			t.Errorf("codec %d: %v", codec, err)
		}
	}
}

func TestValidateBatchUncompressedAllocatesNothing(t *testing.T) {
	b := benchBatch(16, 1024)
	if n := testing.AllocsPerRun(100, func() {
		if err := ValidateBatch(b, plainTopic); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per uncompressed batch", n)
	}
}

func TestStoredRecordReadersBounded(t *testing.T) {
	for _, c := range prototest.HostileBatches() {
		h, err := ParseBatchHeader(c.Batch)
		if err != nil {
			continue
		}
		if rs, err := Records(c.Batch); err == nil && int32(len(rs)) != h.NumRecords {
			t.Errorf("%s: Records gave %d records for a count of %d", c.Name, len(rs), h.NumRecords)
		}
		n := int32(0)
		RecordTimestamps(c.Batch, &h, func(int32, int64) bool { n++; return true })
		if n > 3 {
			t.Errorf("%s: %d timestamps from a batch holding at most 3 records", c.Name, n)
		}
	}
}

func TestVarint32(t *testing.T) {
	for _, v := range []int32{0, -1, 1, 63, -64, 64, 1 << 20, -(1 << 30), 1<<31 - 1, -1 << 31} {
		b := binary.AppendVarint(nil, int64(v))
		got, n := varint32(b)
		if got != v || n != len(b) {
			t.Errorf("varint32(%x) = %d, %d; want %d, %d", b, got, n, v, len(b))
		}
	}
	for _, b := range [][]byte{nil, {0x80}, {0xff, 0xff, 0xff, 0xff, 0x1f}, {0x80, 0x80, 0x80, 0x80, 0x80, 0x01}} {
		if _, n := varint32(b); n > 0 {
			t.Errorf("varint32(%x) accepted", b)
		}
	}
}

// fixLengthAndCRC makes b's batch length and CRC match its bytes, so that
// mutations reach the records instead of dying at the checksum.
func fixLengthAndCRC(b []byte) {
	if len(b) >= BatchHeaderSize {
		binary.BigEndian.PutUint32(b[8:], uint32(len(b)-LogOverhead))
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[crcStart:], castagnoli))
	}
}

// FuzzValidateBatch: no input panics, and whatever ValidateBatch accepts
// decodes without error, holding the records its header claims. With
// compacted set, the fuzzer's bytes also get a matching length and CRC.
func FuzzValidateBatch(f *testing.F) {
	for _, c := range prototest.HostileBatches() {
		f.Add(c.Batch, false)
	}
	f.Add(prototest.Keyless(), true)
	plain := prototest.Plain(1, "a", "b").Encode()
	f.Add(plain, true)
	for codec := CompressionGzip; codec <= CompressionZstd; codec++ {
		f.Add(compressBatch(f, plain, codec), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, compacted bool) {
		if compacted {
			fixLengthAndCRC(b)
		}
		if ValidateBatch(b, &ValidateOptions{Compacted: compacted, MaxDecompressed: 1 << 20}) != nil {
			return
		}
		h, _ := ParseBatchHeader(b)
		rs, err := Records(b)
		if err != nil || int32(len(rs)) != h.NumRecords {
			t.Fatalf("accepted batch: %d records for count %d, err %v", len(rs), h.NumRecords, err)
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatalf("accepted batch does not decode: %v", err)
		}
		for i := range rs {
			if rs[i].OffsetDelta != int32(i) || compacted && rs[i].Key == nil {
				t.Fatalf("accepted record %d: delta %d, key %q", i, rs[i].OffsetDelta, rs[i].Key)
			}
		}
	})
}

// FuzzStoredRecords: the readers of stored batches never panic, never
// yield more records than the bytes hold, and read what the cleaner writes.
func FuzzStoredRecords(f *testing.F) {
	for _, c := range prototest.HostileBatches() {
		f.Add(c.Batch)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseBatchHeader(b)
		if err != nil {
			return
		}
		if rs, err := Records(b); err == nil && int32(len(rs)) != h.NumRecords {
			t.Fatalf("%d records for a count of %d", len(rs), h.NumRecords)
		}
		RecordTimestamps(b, &h, func(int32, int64) bool { return true })
		odd := func(_ *RecordView, offset int64) bool { return offset%2 == 1 }
		if out, err := FilterBatch(b, odd); err == nil && out != nil {
			if err := EachRecord(out, func(RecordView) {}); err != nil {
				t.Fatalf("the cleaner's output is unreadable: %v", err)
			}
		}
	})
}
