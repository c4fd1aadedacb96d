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
	return encodeRecords(ts, records, 0, -1, -1)
}

// BuildTransactionalBatch is BuildBatch for records a coordinator writes
// into a producer's transaction (TxnOffsetCommit): the batch carries the
// producer's id and epoch and the transactional attribute, and no
// sequence, as Kafka's coordinators write them, so that the producer's
// commit or abort marker settles it.
func BuildTransactionalBatch(ts int64, producerID int64, epoch int16, records []KV) []byte {
	return encodeRecords(ts, records, AttrTransactional, producerID, epoch)
}

func encodeRecords(ts int64, records []KV, attributes int16, producerID int64, epoch int16) []byte {
	var body []byte
	for i, kv := range records {
		r := kmsg.Record{OffsetDelta: int32(i), Key: kv.Key, Value: kv.Value}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // the length varint itself is 1 byte while 0
		body = r.AppendTo(body)
	}
	return encodeBatch(kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Attributes:           attributes,
		LastOffsetDelta:      int32(len(records)) - 1,
		FirstTimestamp:       ts,
		MaxTimestamp:         ts,
		ProducerID:           producerID,
		ProducerEpoch:        epoch,
		FirstSequence:        -1,
	}, len(records), body)
}

// FilterBatch returns the batch with only the records keep accepts: batch
// itself when it keeps them all, nil when it keeps none. A filtered batch
// keeps its header (base offset, last offset delta, producer, timestamps),
// so the records kept keep their offsets and their bytes, as in Kafka's
// log cleaner; it is written uncompressed.
func FilterBatch(batch []byte, keep func(r *RecordView, offset int64) bool) ([]byte, error) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return nil, err
	}
	var body []byte
	kept, total := 0, 0
	err = EachRecord(batch, func(r RecordView) {
		total++
		if keep(&r, h.BaseOffset+int64(r.OffsetDelta)) {
			body = append(body, r.Raw...)
			kept++
		}
	})
	switch {
	case err != nil:
		return nil, err
	case kept == total:
		return batch, nil
	case kept == 0:
		return nil, nil
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil {
		return nil, err
	}
	rb.Attributes &^= AttrCompressionMask
	return encodeBatch(rb, kept, body), nil
}

// encodeBatch fills in a v2 batch's length, record count, body and CRC.
func encodeBatch(rb kmsg.RecordBatch, count int, body []byte) []byte {
	rb.Magic, rb.NumRecords, rb.Records = 2, int32(count), body
	rb.Length = int32(BatchHeaderSize - LogOverhead + len(body))
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}
