package log

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

// kafkaSnapshot lays out Kafka's producer snapshot of entries, each
// given as its eight fields, with a correct CRC.
func kafkaSnapshot(entries ...[8]int64) []byte {
	b := binary.BigEndian.AppendUint16(nil, kafkaSnapshotVersion)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(entries)))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e[0]))
		b = binary.BigEndian.AppendUint16(b, uint16(e[1]))
		b = binary.BigEndian.AppendUint32(b, uint32(e[2]))
		b = binary.BigEndian.AppendUint64(b, uint64(e[3]))
		b = binary.BigEndian.AppendUint32(b, uint32(e[4]))
		b = binary.BigEndian.AppendUint64(b, uint64(e[5]))
		b = binary.BigEndian.AppendUint32(b, uint32(e[6]))
		b = binary.BigEndian.AppendUint64(b, uint64(e[7]))
	}
	binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[6:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestKafkaProducerSnapshot decodes a snapshot field by field and refuses
// a wrong version, a count that does not match the bytes, and a flipped
// bit, with Kafka's words.
func TestKafkaProducerSnapshot(t *testing.T) {
	good := kafkaSnapshot([8]int64{7, 2, 5, 40, 3, 1234, 9, -1})
	got, err := DecodeKafkaProducerSnapshot(good)
	want := SnapshotProducer{ProducerID: 7, Epoch: 2, LastSequence: 5, LastOffset: 40, OffsetDelta: 3, Timestamp: 1234, CoordinatorEpoch: 9, CurrentTxnFirstOffset: -1}
	if err != nil || len(got) != 1 || got[0] != want || got[0].FirstSequence() != 2 {
		t.Fatalf("decoded %+v %v, want %+v", got, err, want)
	}
	if wrapped := (SnapshotProducer{LastSequence: 1, OffsetDelta: 3}); wrapped.FirstSequence() != 1<<31-2 {
		t.Errorf("first sequence across the wrap: %d", wrapped.FirstSequence())
	}
	flipped := append([]byte{}, good...)
	flipped[20] ^= 1
	short := kafkaSnapshot([8]int64{1}, [8]int64{2})[:kafkaSnapshotHeader+kafkaSnapshotEntrySize]
	version := append([]byte{0, 2}, good[2:]...)
	for name, tt := range map[string]struct {
		b    []byte
		want string
	}{
		"flipped bit": {flipped, "Snapshot is corrupt (CRC is no longer valid)"},
		"short":       {short, "Snapshot failed schema validation"},
		"version":     {version, "Snapshot contained an unknown file version 2"},
		"empty":       {nil, "Snapshot failed schema validation"},
	} {
		if _, err := DecodeKafkaProducerSnapshot(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", name, err, tt.want)
		}
	}
}

// FuzzKafkaProducerSnapshot feeds Kafka producer snapshots: an error, or
// as many producers as the bytes hold.
func FuzzKafkaProducerSnapshot(f *testing.F) {
	f.Add(kafkaSnapshot([8]int64{7, 2, 5, 40, 3, 1234, 9, -1}))
	f.Add(kafkaSnapshot())
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeKafkaProducerSnapshot(b)
		if err == nil && len(got)*kafkaSnapshotEntrySize+kafkaSnapshotHeader != len(b) {
			t.Fatalf("%d producers from %d bytes", len(got), len(b))
		}
	})
}
