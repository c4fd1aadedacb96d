package prototest

import (
	"encoding/binary"
	"hash/crc32"
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Raw is a v2 batch with hand-made records and header fields, so that a
// probe can lie in any of them; Encode still computes a correct CRC.
type Raw struct {
	Attributes      int16
	LastOffsetDelta int32
	NumRecords      int32
	FirstTimestamp  int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	Records         []byte
}

// Encode returns the batch's wire bytes.
func (r Raw) Encode() []byte {
	rb := kmsg.RecordBatch{
		Length:               int32(61 - 12 + len(r.Records)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           r.Attributes,
		LastOffsetDelta:      r.LastOffsetDelta,
		FirstTimestamp:       r.FirstTimestamp,
		MaxTimestamp:         r.FirstTimestamp,
		ProducerID:           r.ProducerID,
		ProducerEpoch:        r.ProducerEpoch,
		FirstSequence:        r.BaseSequence,
		NumRecords:           r.NumRecords,
		Records:              r.Records,
	}
	enc := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(enc[17:], crc32.Checksum(enc[21:], crc32.MakeTable(crc32.Castagnoli)))
	return enc
}

// Record encodes one record with its length prefix, as a producer does.
func Record(offsetDelta int32, key, value []byte) []byte {
	r := kmsg.Record{OffsetDelta: offsetDelta, Key: key, Value: value}
	r.Length = int32(len(r.AppendTo(nil)) - 1)
	return r.AppendTo(nil)
}

// RecordWithHeaderCount encodes a record whose header count is n while no
// header follows.
func RecordWithHeaderCount(n int32) []byte {
	body := []byte{0, 0, 0, 2, 'k', 2, 'v'} // attributes, ts delta, offset delta, key, value
	body = binary.AppendVarint(body, int64(n))
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

// Hostile is a batch a producer must not be able to store, with the error
// code Kafka answers for it on a plain (non-compacted, CreateTime) topic
// from a produce request without a transactional id.
type Hostile struct {
	Name  string
	Batch []byte
	Code  int16
}

const (
	corruptMessage            = 2
	invalidRecord             = 87
	transactionalIDAuthFailed = 53
)

// plain is a batch of a non-idempotent producer holding records.
func plain(count, lastOffsetDelta int32, records ...[]byte) Raw {
	var b []byte
	for _, r := range records {
		b = append(b, r...)
	}
	return Raw{LastOffsetDelta: lastOffsetDelta, NumRecords: count, FirstTimestamp: 1_700_000_000_000,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Records: b}
}

// HostileBatches lists the batches of issue 13: each passes its CRC and
// lies about its records in one way.
func HostileBatches() []Hostile {
	r0, r1, r2 := Record(0, []byte("k"), []byte("v")), Record(1, []byte("k"), []byte("v")), Record(2, []byte("k"), []byte("v"))
	compressedRaw := plain(2, 1, r0, r1)
	compressedRaw.Attributes = 1 // gzip flag on raw records
	snappyRaw := plain(2, 1, r0, r1)
	snappyRaw.Attributes = 2
	// A snappy block declaring 4 GiB decoded, padded to 1.3 KB.
	bomb := plain(1, 0, binary.AppendUvarint(nil, 4<<30-1), make([]byte, 1300))
	bomb.Attributes = 2
	// A zstd frame header declaring 1 TiB of content.
	zbomb := plain(1, 0, []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe0}, binary.LittleEndian.AppendUint64(nil, 1<<40), make([]byte, 64))
	zbomb.Attributes = 4
	control := plain(1, 0, r0)
	control.Attributes = 0x20
	txn := plain(1, 0, r0)
	txn.Attributes, txn.ProducerID, txn.ProducerEpoch, txn.BaseSequence = 0x10, 1, 0, 0
	noSeq := plain(1, 0, r0)
	noSeq.ProducerID, noSeq.ProducerEpoch = 1, 0
	magic1 := plain(1, 0, r0).Encode()
	magic1[16] = 1 // outside the CRC's range
	return []Hostile{
		{"count lies high", plain(3, 2, r0, r1).Encode(), invalidRecord},
		{"count lies low", plain(2, 1, r0, r1, r2).Encode(), invalidRecord},
		{"last offset delta 2^31-2 with one record", plain(math.MaxInt32, math.MaxInt32-1, r0).Encode(), invalidRecord},
		{"last offset delta 2^31-1", plain(1, math.MaxInt32, r0).Encode(), invalidRecord},
		{"negative offset delta", plain(2, 1, r0, Record(-1, []byte("k"), []byte("v"))).Encode(), invalidRecord},
		{"offset deltas out of order", plain(2, 1, r1, r0).Encode(), invalidRecord},
		{"negative header count", plain(1, 0, RecordWithHeaderCount(-1)).Encode(), invalidRecord},
		{"huge header count", plain(1, 0, RecordWithHeaderCount(1<<30)).Encode(), invalidRecord},
		{"garbage records", plain(2, 1, []byte("\x7f\xff\xff\xff\x0fgarbage that is no record at all")).Encode(), invalidRecord},
		{"record length past the batch", plain(1, 0, []byte{0xfe, 0xff, 0xff, 0xff, 0x07, 0, 0, 0}).Encode(), invalidRecord},
		{"gzip flag on raw records", compressedRaw.Encode(), corruptMessage},
		{"snappy flag on raw records", snappyRaw.Encode(), corruptMessage},
		{"snappy block claiming 4 GiB", bomb.Encode(), corruptMessage},
		{"zstd frame claiming 1 TiB", zbomb.Encode(), corruptMessage},
		{"control bit", control.Encode(), invalidRecord},
		{"transactional bit", txn.Encode(), transactionalIDAuthFailed},
		{"producer id without sequence", noSeq.Encode(), invalidRecord},
		{"magic 1", magic1, invalidRecord},
	}
}

// Keyless is a well-formed batch of two records without keys, which a
// compacted topic refuses record by record.
func Keyless() []byte {
	return plain(2, 1, Record(0, nil, []byte("v0")), Record(1, nil, []byte("v1"))).Encode()
}
