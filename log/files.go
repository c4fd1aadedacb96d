package log

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The readers below decode one file of a partition directory as it lies on
// disk, without opening the log, for tools that inspect a data directory
// offline (gokafka dump-log). They read Kafka's files as well as ours, so
// they check only the layout, never the log's invariants: a file the
// broker would refuse is still shown as it is. Every count is checked
// against the bytes present before anything is allocated.

// OffsetIndexEntry is one entry of a .index file, made absolute: the batch
// holding Offset starts at byte Position of the segment's .log file.
type OffsetIndexEntry struct {
	Offset   int64
	Position uint32
}

// TimeIndexEntry is one entry of a .timeindex file, made absolute.
type TimeIndexEntry struct {
	Timestamp int64
	Offset    int64
}

// EpochEntry is a line of leader-epoch-checkpoint: leader epoch Epoch
// wrote its first record at StartOffset.
type EpochEntry = epochEntry

// SegmentBase is the base offset a segment file's name carries
// (00000000000000000042.log is 42).
func SegmentBase(path string) (int64, error) {
	name := filepath.Base(path)
	digits, _, _ := strings.Cut(name, ".")
	base, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || base < 0 {
		return 0, fmt.Errorf("%s: the name is not a segment's base offset", name)
	}
	return base, nil
}

// DecodeOffsetIndex decodes the entries of a .index file of the segment
// based at base.
func DecodeOffsetIndex(b []byte, base int64) ([]OffsetIndexEntry, error) {
	rel, err := decodeOffsetEntries(b)
	if err != nil {
		return nil, err
	}
	out := make([]OffsetIndexEntry, len(rel))
	for i, e := range rel {
		out[i] = OffsetIndexEntry{Offset: base + int64(e.rel), Position: e.pos}
	}
	return out, nil
}

// DecodeTimeIndex decodes the entries of a .timeindex file of the segment
// based at base.
func DecodeTimeIndex(b []byte, base int64) ([]TimeIndexEntry, error) {
	rel, err := decodeTimeEntries(b)
	if err != nil {
		return nil, err
	}
	out := make([]TimeIndexEntry, len(rel))
	for i, e := range rel {
		out[i] = TimeIndexEntry{Timestamp: e.ts, Offset: base + int64(e.rel)}
	}
	return out, nil
}

func decodeOffsetEntries(b []byte) ([]offsetEntry, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("offset index of %d bytes is not whole 8-byte entries", len(b))
	}
	out := make([]offsetEntry, len(b)/8)
	for i := range out {
		out[i] = offsetEntry{rel: binary.BigEndian.Uint32(b[8*i:]), pos: binary.BigEndian.Uint32(b[8*i+4:])}
	}
	return out, nil
}

func decodeTimeEntries(b []byte) ([]timeEntry, error) {
	if len(b)%12 != 0 {
		return nil, fmt.Errorf("time index of %d bytes is not whole 12-byte entries", len(b))
	}
	out := make([]timeEntry, len(b)/12)
	for i := range out {
		out[i] = timeEntry{ts: int64(binary.BigEndian.Uint64(b[12*i:])), rel: binary.BigEndian.Uint32(b[12*i+8:])}
	}
	return out, nil
}

// DecodeLeaderEpochs decodes a leader-epoch-checkpoint file, with the
// checks the log applies when it loads one.
func DecodeLeaderEpochs(b []byte) ([]EpochEntry, error) {
	rows, err := parseCheckpoint(b, 2)
	if err != nil {
		return nil, err
	}
	c, err := epochsFromRows(rows)
	if err != nil {
		return nil, err
	}
	return c.entries, nil
}

// SnapshotProducer is one producer of a producer-state snapshot, in the
// terms Kafka's .snapshot files use: its last batch, and the first offset
// of its open transaction (-1 when none).
type SnapshotProducer struct {
	ProducerID            int64
	Epoch                 int16
	CoordinatorEpoch      int32
	CurrentTxnFirstOffset int64
	LastSequence          int32
	LastOffset            int64 // -1 when the snapshot holds no batch of it
	OffsetDelta           int32
	Timestamp             int64
}

// FirstSequence is the sequence of the last batch's first record, which
// wraps past MaxInt32 to 0 as Kafka's sequences do.
func (p SnapshotProducer) FirstSequence() int32 {
	if p.LastSequence < p.OffsetDelta {
		return int32(int64(1<<31-1) - int64(p.OffsetDelta-p.LastSequence) + 1)
	}
	return p.LastSequence - p.OffsetDelta
}

// DecodeProducerSnapshot decodes gokafka's producer-state.json with the
// checks the log applies on load, and returns the producers by id and the
// offset the snapshot covers.
func DecodeProducerSnapshot(b []byte) ([]SnapshotProducer, int64, error) {
	ps, offset, err := parseProducerSnapshot(b)
	if err != nil {
		return nil, 0, err
	}
	out := make([]SnapshotProducer, 0, len(ps.producers))
	for id, e := range ps.producers {
		p := SnapshotProducer{ProducerID: id, Epoch: e.Epoch, CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1, LastSequence: -1, LastOffset: -1, Timestamp: -1}
		if n := len(e.Batches); n > 0 {
			last := e.Batches[n-1]
			p.LastSequence, p.LastOffset, p.Timestamp = last.LastSeq, last.LastOffset, last.Timestamp
			p.OffsetDelta = int32(last.LastOffset - last.FirstOffset)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b SnapshotProducer) int { return cmp.Compare(a.ProducerID, b.ProducerID) })
	return out, offset, nil
}

// Kafka's producer snapshot (<offset>.snapshot): version int16 (1), a
// CRC32C of everything after the CRC, then an int32 count of 46-byte
// entries: producer id int64, epoch int16, last sequence int32, last
// offset int64, offset delta int32, timestamp int64, coordinator epoch
// int32, current transaction's first offset int64.
const (
	kafkaSnapshotVersion   = 1
	kafkaSnapshotHeader    = 2 + 4 + 4
	kafkaSnapshotEntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8
)

// DecodeKafkaProducerSnapshot decodes a producer snapshot written by Apache
// Kafka, in the order it lists the producers; its errors read as Kafka's.
func DecodeKafkaProducerSnapshot(b []byte) ([]SnapshotProducer, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("Snapshot failed schema validation: %d bytes, too short for a version", len(b))
	}
	if v := int16(binary.BigEndian.Uint16(b)); v != kafkaSnapshotVersion {
		return nil, fmt.Errorf("Snapshot contained an unknown file version %d", v)
	}
	if len(b) < kafkaSnapshotHeader {
		return nil, fmt.Errorf("Snapshot failed schema validation: %d bytes, too short for a header", len(b))
	}
	n := int32(binary.BigEndian.Uint32(b[6:]))
	if n < 0 || int64(n)*kafkaSnapshotEntrySize != int64(len(b)-kafkaSnapshotHeader) {
		return nil, fmt.Errorf("Snapshot failed schema validation: %d entries in %d bytes", n, len(b)-kafkaSnapshotHeader)
	}
	stored, computed := binary.BigEndian.Uint32(b[2:]), crc32.Checksum(b[6:], crc32.MakeTable(crc32.Castagnoli))
	if stored != computed {
		return nil, fmt.Errorf("Snapshot is corrupt (CRC is no longer valid). Stored crc: %d. Computed crc: %d", stored, computed)
	}
	out := make([]SnapshotProducer, n)
	for i := range out {
		e := b[kafkaSnapshotHeader+i*kafkaSnapshotEntrySize:]
		out[i] = SnapshotProducer{
			ProducerID:            int64(binary.BigEndian.Uint64(e)),
			Epoch:                 int16(binary.BigEndian.Uint16(e[8:])),
			LastSequence:          int32(binary.BigEndian.Uint32(e[10:])),
			LastOffset:            int64(binary.BigEndian.Uint64(e[14:])),
			OffsetDelta:           int32(binary.BigEndian.Uint32(e[22:])),
			Timestamp:             int64(binary.BigEndian.Uint64(e[26:])),
			CoordinatorEpoch:      int32(binary.BigEndian.Uint32(e[34:])),
			CurrentTxnFirstOffset: int64(binary.BigEndian.Uint64(e[38:])),
		}
	}
	return out, nil
}

// DecodeTxnIndex decodes the .txnindex of the segment based at base, with
// the checks the log applies when it loads one.
func DecodeTxnIndex(b []byte, base int64) ([]AbortedTxn, error) { return parseTxnIndex(b, base) }
