package group

import (
	"io"
	"log/slog"
	"testing"

	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

// memLog is a PartitionWriter over one partition in memory, which reads
// back at most one batch per Read, as a small fetch size would.
type memLog struct {
	start   int64
	batches [][]byte
}

func (m *memLog) Append(_ int32, batch []byte, _ uint64, acked func(error)) (int64, error) {
	first := m.end()
	protocol.SetBaseOffset(batch, first)
	m.batches = append(m.batches, batch)
	go acked(nil)
	return first, nil
}

func (m *memLog) end() int64 {
	if len(m.batches) == 0 {
		return m.start
	}
	h, _ := protocol.ParseBatchHeader(m.batches[len(m.batches)-1])
	return h.LastOffset() + 1
}

func (m *memLog) VerifyTxn(int32, string, int64, int16, bool) (uint64, error) { return 0, nil }

func (m *memLog) Leading(int32) (int32, bool) { return 0, true }

// Bounds and AwaitCommitted: every batch of a memLog is committed.
func (m *memLog) Bounds(int32) (int64, int64, error) { return m.start, m.end(), nil }

func (m *memLog) AwaitCommitted(int32, int32) error { return nil }

func (m *memLog) Read(_ int32, offset, _ int64) ([]byte, error) {
	for _, b := range m.batches {
		if h, _ := protocol.ParseBatchHeader(b); h.LastOffset() >= offset {
			return b, nil
		}
	}
	return nil, nil
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// Load reads every batch from the log start to the end, and returns where
// a later load resumes.
func TestLoadReadsToTheEnd(t *testing.T) {
	m := &memLog{}
	for i := range 3 {
		co := Offset{Offset: int64(i)}
		if _, err := m.Append(0, protocol.BuildBatch(1, []protocol.KV{Record("g", tp0, &co)}), 0, func(error) {}); err != nil {
			t.Fatal(err)
		}
	}
	s := NewOffsets()
	apply := func(batch []byte, h *protocol.BatchHeader) {
		protocol.EachRecord(batch, func(r protocol.RecordView) {
			s.Replay(r.Key, r.Value, h.BaseOffset+int64(r.OffsetDelta), -1)
		})
	}
	next, err := Load(m, 0, 0, apply, discard)
	if err != nil || next != 3 || s.Committed["g"][tp0].Offset != 2 {
		t.Fatalf("load: next %d, %v, committed %+v", next, err, s.Committed["g"][tp0])
	}
	if again, err := Load(m, 0, next, apply, discard); err != nil || again != 3 {
		t.Fatalf("a load from the end: %d, %v", again, err)
	}
}

// A corrupt batch ends the load at the partition's end, with what was
// read before it, rather than loading forever.
func TestLoadStopsAtACorruptBatch(t *testing.T) {
	for _, c := range prototest.HostileBatches() {
		m := &memLog{}
		co := Offset{Offset: 4}
		m.Append(0, protocol.BuildBatch(1, []protocol.KV{Record("g", tp0, &co)}), 0, func(error) {})
		m.batches = append(m.batches, c.Batch)
		n := 0
		next, err := Load(m, 0, 0, func([]byte, *protocol.BatchHeader) { n++ }, discard)
		if err != nil || n < 1 || next < 1 {
			t.Fatalf("%s: next %d, %d batches, %v", c.Name, next, n, err)
		}
	}
}
