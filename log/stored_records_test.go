package log

import (
	"bytes"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

// storeHostile writes every hostile batch that a follower's append lets
// through (a whole batch, a valid CRC, a count matching its last offset
// delta) into l, the way a batch stored before validation on append sits
// on disk, followed by well-formed keyed batches. It returns the stored
// hostile batches whose records cannot be read, by base offset.
func storeHostile(t *testing.T, l *Log) map[int64][]byte {
	t.Helper()
	stored := map[int64][]byte{}
	for _, c := range prototest.HostileBatches() {
		h, err := protocol.ParseBatchHeader(c.Batch)
		if err != nil || h.LastOffsetDelta > 10 {
			continue // refused by any append, or a gap the test does not need
		}
		b := append([]byte(nil), c.Batch...)
		base := l.LogEndOffset()
		protocol.SetBaseOffset(b, base)
		if _, err := l.Append(b, AppendOptions{LeaderEpoch: 1}); err != nil {
			continue
		}
		if _, err := protocol.Records(b); err != nil {
			stored[base] = b
		}
	}
	if len(stored) < 8 {
		t.Fatalf("only %d hostile batches stored", len(stored))
	}
	// The transactional one opened a transaction, which the cleaner must
	// not pass while it is open: a commit closes it.
	marker := protocol.EndTxnMarker(1, 0, true, 0, 1)
	protocol.SetBaseOffset(marker, l.LogEndOffset())
	if _, err := l.Append(marker, AppendOptions{LeaderEpoch: 1}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "b", "c"} {
		b := protocol.BuildBatch(time.Now().UnixMilli(), []protocol.KV{{Key: []byte("g"), Value: []byte(v)}})
		protocol.SetBaseOffset(b, l.LogEndOffset())
		if _, err := l.Append(b, AppendOptions{LeaderEpoch: 1}); err != nil {
			t.Fatal(err)
		}
	}
	return stored
}

// The readers of stored batches (cleaner, timestamp lookups) skip what
// they cannot read, bounded by the bytes present: no error, no allocation
// by a claimed count, and the cleaner keeps an unreadable batch as it is.
func TestStoredHostileBatchesSkipped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CleanupPolicy, cfg.SegmentBytes, cfg.MinCleanableDirtyRatio = "compact", 100, 0
	l := openTest(t, t.TempDir(), cfg, true)
	defer l.Close()
	stored := storeHostile(t, l)
	st, err := l.Compact(time.Now())
	if err != nil || st.RecordsAfter >= st.RecordsBefore {
		t.Fatalf("compacting past hostile batches: %+v, %v; want the older g records gone", st, err)
	}
	for base, want := range stored {
		res, err := l.Read(base, 1<<20, l.LogEndOffset(), true)
		if err != nil || len(res.Records) < len(want) || !bytes.Equal(res.Records[:len(want)], want) {
			t.Errorf("batch at %d changed by the cleaner (err %v)", base, err)
		}
	}
	for _, ts := range []int64{1_700_000_000_000, time.Now().Add(-time.Minute).UnixMilli()} {
		if off, _, _, err := l.FindOffsetByTimestamp(ts); err != nil || off >= l.LogEndOffset() {
			t.Errorf("timestamp %d: offset %d, %v", ts, off, err)
		}
	}
	if off, _, err := l.MaxTimestamp(); err != nil || off < 0 || off >= l.LogEndOffset() {
		t.Errorf("max timestamp: offset %d, %v", off, err)
	}
}
