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
	rs := make([]kmsg.Record, len(records))
	for i, kv := range records {
		rs[i] = kmsg.Record{OffsetDelta: int32(i), Key: kv.Key, Value: kv.Value}
		rs[i].Length = int32(len(rs[i].AppendTo(nil)) - 1) // the length varint itself is 1 byte while 0
	}
	return encodeBatch(kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		LastOffsetDelta:      int32(len(records)) - 1,
		FirstTimestamp:       ts,
		MaxTimestamp:         ts,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
	}, rs)
}

// FilterBatch returns the batch with only the records keep accepts: batch
// itself when it keeps them all, nil when it keeps none. A filtered batch
// keeps its header (base offset, last offset delta, producer, timestamps),
// so the records kept keep their offsets, as in Kafka's log cleaner; it is
// written uncompressed.
func FilterBatch(batch []byte, keep func(r *kmsg.Record, offset int64) bool) ([]byte, error) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return nil, err
	}
	records, err := Records(batch)
	if err != nil {
		return nil, err
	}
	kept := records[:0:0]
	for i := range records {
		if keep(&records[i], h.BaseOffset+int64(records[i].OffsetDelta)) {
			kept = append(kept, records[i])
		}
	}
	switch len(kept) {
	case len(records):
		return batch, nil
	case 0:
		return nil, nil
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil {
		return nil, err
	}
	rb.Attributes &^= AttrCompressionMask
	return encodeBatch(rb, kept), nil
}

// encodeBatch fills in a v2 batch's length, record count, body and CRC.
func encodeBatch(rb kmsg.RecordBatch, records []kmsg.Record) []byte {
	var body []byte
	for i := range records {
		body = records[i].AppendTo(body)
	}
	rb.Magic, rb.NumRecords, rb.Records = 2, int32(len(records)), body
	rb.Length = int32(BatchHeaderSize - LogOverhead + len(body))
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}
