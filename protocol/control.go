package protocol

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transaction markers are control batches (attributes control and
// transactional) holding one record, laid out as Kafka's
// EndTransactionMarker:
//
//	key   version int16 (0), type int16 (0 = abort, 1 = commit)
//	value version int16 (0), coordinatorEpoch int32
//
// The batch carries the producer's id and epoch and no sequence (-1).
// Clients receive marker batches with the data and skip them; the broker
// reads them to end a producer's transaction.

// Control record types (the key's second field).
const (
	ControlAbort  = 0
	ControlCommit = 1
)

// EndTxnMarker builds the whole control batch that ends producerID's
// transaction (base offset 0: the log assigns it).
func EndTxnMarker(producerID int64, epoch int16, commit bool, coordinatorEpoch int32, timestampMs int64) []byte {
	typ := int16(ControlAbort)
	if commit {
		typ = ControlCommit
	}
	key := binary.BigEndian.AppendUint16(make([]byte, 2, 4), uint16(typ))
	value := binary.BigEndian.AppendUint32(make([]byte, 2, 6), uint32(coordinatorEpoch))
	r := kmsg.Record{Key: key, Value: value}
	r.Length = int32(len(r.AppendTo(nil)) - 1) // the length varint is 1 byte while 0
	return encodeBatch(kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Attributes:           AttrControl | AttrTransactional,
		FirstTimestamp:       timestampMs,
		MaxTimestamp:         timestampMs,
		ProducerID:           producerID,
		ProducerEpoch:        epoch,
		FirstSequence:        -1,
	}, 1, r.AppendTo(nil))
}

// ParseEndTxnMarker reads the outcome and coordinator epoch of a
// transaction marker batch (b holds the whole batch). Anything else (a
// data batch, another control type, short or malformed fields) is an
// error, as Kafka's ControlRecordType and EndTransactionMarker readers
// refuse them.
func ParseEndTxnMarker(b []byte) (commit bool, coordinatorEpoch int32, err error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return false, 0, err
	}
	if !h.IsControl() {
		return false, 0, fmt.Errorf("batch at offset %d is not a control batch", h.BaseOffset)
	}
	if h.NumRecords != 1 {
		return false, 0, fmt.Errorf("control batch at offset %d holds %d records, not one", h.BaseOffset, h.NumRecords)
	}
	var key, value []byte
	if err := EachRecord(b, func(r RecordView) { key, value = r.Key, r.Value }); err != nil {
		return false, 0, err
	}
	if len(key) < 4 || int16(binary.BigEndian.Uint16(key)) < 0 {
		return false, 0, fmt.Errorf("control record key of %d bytes is not a versioned type", len(key))
	}
	typ := int16(binary.BigEndian.Uint16(key[2:]))
	if typ != ControlAbort && typ != ControlCommit {
		return false, 0, fmt.Errorf("control record type %d is not a transaction marker", typ)
	}
	if len(value) < 6 || int16(binary.BigEndian.Uint16(value)) < 0 {
		return false, 0, fmt.Errorf("transaction marker value of %d bytes is not a versioned marker", len(value))
	}
	return typ == ControlCommit, int32(binary.BigEndian.Uint32(value[2:])), nil
}
