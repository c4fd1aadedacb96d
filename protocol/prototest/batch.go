// Package prototest builds record batches for tests, independently of the
// code under test: kmsg encodes the fields and the CRC is computed here from
// the specification.
package prototest

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Batch describes a v2 record batch. Record i gets timestamp
// FirstTimestamp+TimestampStep*i and the i-th value.
type Batch struct {
	BaseOffset     int64
	FirstTimestamp int64
	TimestampStep  int64
	ProducerID     int64 // -1 for a plain producer
	ProducerEpoch  int16
	BaseSequence   int32
	Transactional  bool
	Values         []string
}

// Plain is a batch from a non-idempotent producer.
func Plain(ts int64, values ...string) Batch {
	return Batch{FirstTimestamp: ts, TimestampStep: 1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Values: values}
}

// Encode returns the batch's wire bytes.
func (b Batch) Encode() []byte {
	var records []byte
	for i, v := range b.Values {
		r := kmsg.Record{
			TimestampDelta64: b.TimestampStep * int64(i),
			OffsetDelta:      int32(i),
			Key:              []byte{'k', byte('0' + i%10)},
			Value:            []byte(v),
		}
		body := r.AppendTo(nil)[1:] // drop the placeholder length varint
		r.Length = int32(len(body))
		records = r.AppendTo(records)
	}
	n := int32(len(b.Values))
	var attrs int16
	if b.Transactional {
		attrs = 0x10
	}
	rb := kmsg.RecordBatch{
		Attributes:           attrs,
		FirstOffset:          b.BaseOffset,
		Length:               int32(61 - 12 + len(records)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      n - 1,
		FirstTimestamp:       b.FirstTimestamp,
		MaxTimestamp:         b.FirstTimestamp + b.TimestampStep*int64(n-1),
		ProducerID:           b.ProducerID,
		ProducerEpoch:        b.ProducerEpoch,
		FirstSequence:        b.BaseSequence,
		NumRecords:           n,
		Records:              records,
	}
	enc := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(enc[17:], crc32.Checksum(enc[21:], crc32.MakeTable(crc32.Castagnoli)))
	return enc
}
