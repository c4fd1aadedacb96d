package protocol

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// KV is one record the broker writes itself (offset commits and group
// metadata); a nil Value is a tombstone.
type KV struct {
	Key, Value []byte
}

// BuildBatch encodes records as one uncompressed v2 batch with base offset
// 0 (the log assigns offsets), no producer id and every record stamped ts.
func BuildBatch(ts int64, records []KV) []byte {
	var body []byte
	for i, kv := range records {
		r := kmsg.Record{OffsetDelta: int32(i), Key: kv.Key, Value: kv.Value}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // the length varint itself is 1 byte while 0
		body = r.AppendTo(body)
	}
	n := int32(len(records))
	rb := kmsg.RecordBatch{
		Length:               int32(BatchHeaderSize - LogOverhead + len(body)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      n - 1,
		FirstTimestamp:       ts,
		MaxTimestamp:         ts,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           n,
		Records:              body,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// Records decodes the records of an uncompressed or compressed v2 batch.
func Records(batch []byte) ([]kmsg.Record, error) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return nil, err
	}
	body, err := Decompress(h.Compression(), batch[BatchHeaderSize:])
	if err != nil {
		return nil, err
	}
	out := make([]kmsg.Record, 0, h.NumRecords)
	for len(body) > 0 && len(out) < int(h.NumRecords) {
		length, n := binary.Varint(body)
		if n <= 0 || length < 0 || int64(len(body)-n) < length {
			return nil, Errorf(CorruptMessage, "record %d of the batch is cut short", len(out))
		}
		var r kmsg.Record
		if err := r.ReadFrom(body[:n+int(length)]); err != nil {
			return nil, Errorf(CorruptMessage, "record %d: %v", len(out), err)
		}
		out = append(out, r)
		body = body[n+int(length):]
	}
	return out, nil
}
