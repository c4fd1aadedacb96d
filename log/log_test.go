package log

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var tp0 = TopicPartition{Topic: "t", Partition: 0}

func openTest(t testing.TB, dir string, cfg Config, clean bool) *Log {
	t.Helper()
	l, err := openLog(osFS{}, newFileCache(2), dir, tp0, [16]byte{1}, cfg, openState{clean: clean}, quiet)
	if err != nil {
		t.Fatalf("openLog: %v", err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, b []byte) AppendResult {
	t.Helper()
	res, err := l.Append(b, AppendOptions{LeaderEpoch: 3, AssignOffsets: true})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// offsetsIn lists the base and last offsets of the batches in b.
func offsetsIn(t testing.TB, b []byte) [][2]int64 {
	t.Helper()
	var out [][2]int64
	for len(b) > 0 {
		h, _, rest, err := protocol.NextBatch(b)
		if err != nil {
			t.Fatalf("reading back batches: %v", err)
		}
		out = append(out, [2]int64{h.BaseOffset, h.LastOffset()})
		b = rest
	}
	return out
}

func TestAppendAssignsDenseOffsetsAndReadsBack(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	for i, want := range []int64{0, 3, 5} {
		in := prototest.Plain(1000, "a", "b")
		if i == 0 {
			in.Values = append(in.Values, "c")
		}
		res := mustAppend(t, l, in.Encode())
		if res.FirstOffset != want {
			t.Fatalf("batch %d: first offset %d, want %d", i, res.FirstOffset, want)
		}
	}
	if leo := l.LogEndOffset(); leo != 7 {
		t.Fatalf("log end offset %d, want 7", leo)
	}
	all, err := l.Read(0, 1<<20, 7, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := offsetsIn(t, all.Records); len(got) != 3 || got[2] != [2]int64{5, 6} {
		t.Fatalf("read back batches %v", got)
	}
	// A read in the middle of a batch starts with that batch, as in Kafka.
	mid, _ := l.Read(4, 1<<20, 7, false)
	if got := offsetsIn(t, mid.Records); got[0] != [2]int64{3, 4} {
		t.Fatalf("read from 4 starts with %v, want batch 3-4", got[0])
	}
	// The high watermark bound keeps the last batch out.
	hw, _ := l.Read(0, 1<<20, 5, false)
	if got := offsetsIn(t, hw.Records); len(got) != 2 {
		t.Fatalf("read below offset 5 returned %v", got)
	}
	// A limit smaller than one batch returns nothing, unless minOneBatch.
	if r, _ := l.Read(0, 10, 7, false); len(r.Records) != 0 {
		t.Fatalf("10-byte read returned %d bytes", len(r.Records))
	}
	if r, _ := l.Read(0, 10, 7, true); len(offsetsIn(t, r.Records)) != 1 {
		t.Fatal("minOneBatch read did not return the first batch whole")
	}
	if r, err := l.Read(7, 100, 7, true); err != nil || len(r.Records) != 0 {
		t.Fatalf("read at the log end: %d bytes, %v", len(r.Records), err)
	}
	if _, err := l.Read(8, 100, 8, true); protocol.Code(err) != protocol.OffsetOutOfRange {
		t.Fatalf("read past the end: %v, want OFFSET_OUT_OF_RANGE", err)
	}
	// Batches are stored as received: only the offset and epoch differ.
	in := prototest.Plain(2000, "x").Encode()
	res := mustAppend(t, l, append([]byte(nil), in...))
	out, _ := l.Read(res.FirstOffset, 1<<20, res.LastOffset+1, false)
	if !bytes.Equal(out.Records[21:], in[21:]) || out.Records[16] != in[16] {
		t.Fatal("the stored batch differs from the one appended beyond offset and epoch")
	}
}

func TestAppendRejectsBadBatchesWholesale(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	good := prototest.Plain(1, "ok").Encode()
	bad := prototest.Plain(1, "bad").Encode()
	bad[len(bad)-1] ^= 0xff
	if _, err := l.Append(append(append([]byte(nil), good...), bad...), AppendOptions{AssignOffsets: true}); protocol.Code(err) != protocol.CorruptMessage {
		t.Fatalf("corrupt CRC: %v, want CORRUPT_MESSAGE", err)
	}
	cfg := DefaultConfig()
	cfg.MaxMessageBytes = 70
	l.SetConfig(cfg)
	if _, err := l.Append(prototest.Plain(1, "far too large for seventy bytes").Encode(), AppendOptions{AssignOffsets: true}); protocol.Code(err) != protocol.MessageTooLarge {
		t.Fatalf("oversized batch: %v, want MESSAGE_TOO_LARGE", err)
	}
	if _, err := l.Append(good[:40], AppendOptions{AssignOffsets: true}); protocol.Code(err) != protocol.CorruptMessage {
		t.Fatalf("truncated batch: %v, want CORRUPT_MESSAGE", err)
	}
	if leo := l.LogEndOffset(); leo != 0 {
		t.Fatalf("rejected appends moved the log end to %d", leo)
	}
}

func TestRollWritesKafkaIndexFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.SegmentBytes = 300
	cfg.IndexIntervalBytes = 1
	l := openTest(t, dir, cfg, true)
	for i := 0; i < 20; i++ {
		mustAppend(t, l, prototest.Plain(int64(1000+i), "value-value-value").Encode())
	}
	if n := l.NumSegments(); n < 5 {
		t.Fatalf("%d segments after 20 batches with segment.bytes=300", n)
	}
	first := l.segments[1]
	if filepath.Base(first.logPath()) != segmentName(first.base)+".log" || len(segmentName(first.base)) != 20 {
		t.Fatalf("segment file %s is not named by a 20-digit base offset", first.logPath())
	}
	ix, err := os.ReadFile(l.segments[0].indexPath())
	if err != nil || len(ix) == 0 || len(ix)%8 != 0 {
		t.Fatalf("sealed segment's .index: %d bytes, %v", len(ix), err)
	}
	tix, err := os.ReadFile(l.segments[0].timeIndexPath())
	if err != nil || len(tix) == 0 || len(tix)%12 != 0 {
		t.Fatalf("sealed segment's .timeindex: %d bytes, %v", len(tix), err)
	}
	// Every offset is readable across segment boundaries.
	for off := int64(0); off < 20; off++ {
		r, err := l.Read(off, 1<<20, 20, true)
		if err != nil || offsetsIn(t, r.Records)[0][0] != off {
			t.Fatalf("read at %d: %v", off, err)
		}
	}
	l.Close()
	// After a clean close the indexes are trusted and the log is the same.
	l = openTest(t, dir, cfg, true)
	defer l.Close()
	if leo := l.LogEndOffset(); leo != 20 {
		t.Fatalf("log end after reopen %d, want 20", leo)
	}
	if r, _ := l.Read(13, 1<<20, 20, true); offsetsIn(t, r.Records)[0][0] != 13 {
		t.Fatal("read at 13 after reopen")
	}
}

func TestRecoveryTruncatesTornTail(t *testing.T) {
	for name, damage := range map[string]func(path string, batch []byte){
		"garbage": func(path string, _ []byte) { appendFile(t, path, []byte("thirty-seven bytes of garbage!!!!!!!!")) },
		"partial batch": func(path string, batch []byte) {
			appendFile(t, path, batch[:len(batch)-5])
		},
		"crc mismatch": func(path string, batch []byte) {
			batch[len(batch)-1] ^= 1
			appendFile(t, path, batch)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir, DefaultConfig(), true)
			for i := 0; i < 10; i++ {
				mustAppend(t, l, prototest.Plain(int64(i), "v1", "v2").Encode())
			}
			path := l.active().logPath()
			l.closeSegments() // a crash: no seal, no snapshot, no marker
			batch := prototest.Plain(99, "torn").Encode()
			protocol.SetBaseOffset(batch, 20)
			damage(path, batch)

			l = openTest(t, dir, DefaultConfig(), false)
			defer l.Close()
			if leo := l.LogEndOffset(); leo != 20 {
				t.Fatalf("log end after recovery %d, want 20", leo)
			}
			if res := mustAppend(t, l, prototest.Plain(1, "after").Encode()); res.FirstOffset != 20 {
				t.Fatalf("append after recovery at %d, want 20", res.FirstOffset)
			}
			r, err := l.Read(0, 1<<20, 21, false)
			if err != nil || len(offsetsIn(t, r.Records)) != 11 {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

func appendFile(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestIdempotentProducerRules(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, DefaultConfig(), true)
	batch := func(epoch int16, seq int32, n int) []byte {
		b := prototest.Plain(1, make([]string, n)...)
		b.ProducerID, b.ProducerEpoch, b.BaseSequence = 7, epoch, seq
		return b.Encode()
	}
	appendErr := func(b []byte) (AppendResult, protocol.ErrorCode) {
		res, err := l.Append(b, AppendOptions{AssignOffsets: true})
		return res, protocol.Code(err)
	}
	for seq := int32(0); seq < 12; seq += 2 {
		if _, code := appendErr(batch(0, seq, 2)); code != protocol.None {
			t.Fatalf("in-sequence batch %d: %v", seq, code)
		}
	}
	// The last five batches are remembered: a retry gets its first offset.
	res, code := appendErr(batch(0, 4, 2))
	if code != protocol.None || !res.Duplicate || res.FirstOffset != 4 {
		t.Fatalf("retry of seq 4: %+v %v, want duplicate at offset 4", res, code)
	}
	if _, code := appendErr(batch(0, 0, 2)); code != protocol.OutOfOrderSequenceNumber {
		t.Fatalf("retry older than five batches: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", code)
	}
	if _, code := appendErr(batch(0, 15, 1)); code != protocol.OutOfOrderSequenceNumber {
		t.Fatalf("gap: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", code)
	}
	if _, code := appendErr(batch(1, 3, 1)); code != protocol.OutOfOrderSequenceNumber {
		t.Fatalf("new epoch not at 0: %v", code)
	}
	if _, code := appendErr(batch(1, 0, 1)); code != protocol.None {
		t.Fatalf("new epoch at 0: %v", code)
	}
	if _, code := appendErr(batch(0, 12, 1)); code != protocol.InvalidProducerEpoch {
		t.Fatalf("old epoch: %v, want INVALID_PRODUCER_EPOCH", code)
	}
	if leo := l.LogEndOffset(); leo != 13 {
		t.Fatalf("log end %d, want 13: a rejected or duplicate batch was written", leo)
	}
	// Deduplication survives a restart, clean or not.
	l.Close()
	l = openTest(t, dir, DefaultConfig(), true)
	if res, code := appendErr(batch(1, 0, 1)); !res.Duplicate || code != protocol.None {
		t.Fatalf("retry after clean restart: %+v %v", res, code)
	}
	l.closeSegments()
	l = openTest(t, dir, DefaultConfig(), false)
	defer l.Close()
	if res, code := appendErr(batch(1, 0, 1)); !res.Duplicate || code != protocol.None {
		t.Fatalf("retry after crash: %+v %v", res, code)
	}
}

// A coordinator's batches for a producer carry no sequence: each one is
// written (none is taken for a retry of the one before), and an older
// epoch is still fenced.
func TestBatchesWithoutSequenceAreNeverDuplicates(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	batch := func(epoch int16) []byte {
		b := prototest.Plain(1, "offset")
		b.ProducerID, b.ProducerEpoch, b.BaseSequence = 7, epoch, -1
		return b.Encode()
	}
	for i := range 3 {
		res, err := l.Append(batch(1), AppendOptions{AssignOffsets: true})
		if err != nil || res.Duplicate || res.FirstOffset != int64(i) {
			t.Fatalf("batch %d: %+v %v, want it written at %d", i, res, err, i)
		}
	}
	if _, err := l.Append(batch(0), AppendOptions{AssignOffsets: true}); protocol.Code(err) != protocol.InvalidProducerEpoch {
		t.Fatalf("older epoch: %v, want INVALID_PRODUCER_EPOCH", err)
	}
}

func TestRetentionNeverDeletesTheActiveSegment(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 200
	cfg.RetentionBytes = 400
	l := openTest(t, t.TempDir(), cfg, true)
	defer l.Close()
	for i := 0; i < 30; i++ {
		mustAppend(t, l, prototest.Plain(time.Now().UnixMilli(), "0123456789012345678901234567890123456789").Encode())
	}
	before := l.NumSegments()
	n, err := l.DeleteOldSegments(time.Now())
	if err != nil || n == 0 || l.Size() > 400+200 {
		t.Fatalf("size retention deleted %d of %d segments (%v), %d bytes left", n, before, err, l.Size())
	}
	start := l.LogStartOffset()
	if start == 0 || start != l.segments[0].base {
		t.Fatalf("log start offset %d after retention, first segment %d", start, l.segments[0].base)
	}
	if _, err := l.Read(0, 100, 30, true); protocol.Code(err) != protocol.OffsetOutOfRange {
		t.Fatalf("read below the log start: %v", err)
	}
	cfg.RetentionBytes, cfg.RetentionMs = -1, 1000
	l.SetConfig(cfg)
	if _, err := l.DeleteOldSegments(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 1 || l.LogEndOffset() != 30 {
		t.Fatalf("time retention left %d segments, log end %d; want only the active one", l.NumSegments(), l.LogEndOffset())
	}
}

func TestTimestampLookups(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	mustAppend(t, l, prototest.Plain(100, "a", "b", "c").Encode()) // 100,101,102 at 0-2
	b := prototest.Plain(200, "d", "e")
	b.TimestampStep = 50 // 200, 250 at 3-4
	mustAppend(t, l, b.Encode())
	mustAppend(t, l, prototest.Plain(150, "f").Encode()) // 150 at 5
	for _, c := range []struct{ ts, off, gotTs int64 }{{0, 0, 100}, {101, 1, 101}, {201, 4, 250}, {250, 4, 250}} {
		off, ts, found, err := l.FindOffsetByTimestamp(c.ts)
		if err != nil || !found || off != c.off || ts != c.gotTs {
			t.Errorf("timestamp %d: offset %d ts %d found %v err %v, want %d/%d", c.ts, off, ts, found, err, c.off, c.gotTs)
		}
	}
	if _, _, found, _ := l.FindOffsetByTimestamp(251); found {
		t.Error("a timestamp after every record was found")
	}
	if off, ts, err := l.MaxTimestamp(); err != nil || off != 4 || ts != 250 {
		t.Errorf("max timestamp: offset %d ts %d %v, want 4/250", off, ts, err)
	}
	cfg := DefaultConfig()
	cfg.LogAppendTime = true
	l.SetConfig(cfg)
	res := mustAppend(t, l, prototest.Plain(1, "g").Encode())
	if res.LogAppendTime < time.Now().Add(-time.Minute).UnixMilli() {
		t.Errorf("LogAppendTime %d is not the broker's clock", res.LogAppendTime)
	}
}

func TestManagerPlacementLockAndTopicIDs(t *testing.T) {
	cfg := DefaultManagerConfig()
	cfg.Dirs = []string{t.TempDir(), t.TempDir()}
	m, err := OpenManager(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenManager(cfg, quiet); err == nil || !bytes.Contains([]byte(err.Error()), []byte("in use")) {
		t.Fatalf("second manager on the same dirs: %v, want an in-use error", err)
	}
	for p := int32(0); p < 4; p++ {
		if _, err := m.GetOrCreate(TopicPartition{"a", p}, [16]byte{9}, cfg.Defaults); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range cfg.Dirs {
		if entries, _ := filepath.Glob(filepath.Join(d, "a-*")); len(entries) != 2 {
			t.Fatalf("%s holds %d partitions, want 2 of 4", d, len(entries))
		}
	}
	if _, err := m.GetOrCreate(TopicPartition{"a", 0}, [16]byte{8}, cfg.Defaults); !errors.Is(err, ErrTopicIDMismatch) {
		t.Fatalf("other topic id: %v", err)
	}
	mustAppend(t, m.Get(TopicPartition{"a", 1}), prototest.Plain(1, "x").Encode())
	if err := m.Delete(TopicPartition{"a", 0}); err != nil || m.Get(TopicPartition{"a", 0}) != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range cfg.Dirs {
		for _, f := range []string{cleanShutdownFile, recoveryPointFile, logStartOffsetFile} {
			if _, err := os.Stat(filepath.Join(d, f)); err != nil {
				t.Fatalf("after close: %v", err)
			}
		}
	}
	m, err = OpenManager(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n := len(m.All()); n != 3 {
		t.Fatalf("reopened %d partitions, want 3", n)
	}
	if l := m.Get(TopicPartition{"a", 1}); l == nil || l.LogEndOffset() != 1 || l.TopicID() != [16]byte{9} {
		t.Fatal("partition a-1 did not come back with its record and topic id")
	}
}

// TestTruncateToAcrossSegments cuts a log back into an earlier segment, as a
// follower does on finding where it diverges from its leader, and checks
// offsets, epochs and that follower appends continue from the cut.
func TestTruncateToAcrossSegments(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 300
	l := openTest(t, t.TempDir(), cfg, true)
	defer l.Close()
	for i := range 10 {
		if _, err := l.Append(prototest.Plain(int64(i), "v1", "v2").Encode(), AppendOptions{LeaderEpoch: int32(i / 5), AssignOffsets: true}); err != nil {
			t.Fatal(err)
		}
	}
	if l.NumSegments() < 3 {
		t.Fatalf("want several segments, got %d", l.NumSegments())
	}
	if err := l.TruncateTo(7); err != nil { // inside the batch [6, 7]
		t.Fatal(err)
	}
	if leo := l.LogEndOffset(); leo != 6 {
		t.Fatalf("log end after truncating to 7: %d, want 6 (the whole batch holding 7 goes)", leo)
	}
	if got := l.LatestEpoch(); got != 0 {
		t.Fatalf("latest epoch after truncation %d, want 0", got)
	}
	b := prototest.Plain(1, "f1", "f2")
	b.BaseOffset = 6
	enc := b.Encode()
	if _, err := l.Append(enc, AppendOptions{}); err != nil {
		t.Fatalf("follower append at the cut: %v", err)
	}
	r, err := l.Read(6, 1<<20, 8, false)
	if got := offsetsIn(t, r.Records); err != nil || len(got) != 1 || got[0] != [2]int64{6, 7} {
		t.Fatalf("read after truncation: %v, %v", err, got)
	}
}

// TestTruncateFullyAndStartAt restarts a log at an offset past its end, as
// a follower whose leader deleted everything it had.
func TestTruncateFullyAndStartAt(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, DefaultConfig(), true)
	for range 3 {
		mustAppend(t, l, prototest.Plain(1, "a").Encode())
	}
	if err := l.TruncateFullyAndStartAt(100); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 100 || l.LogEndOffset() != 100 || l.NumSegments() != 1 {
		t.Fatalf("start %d end %d segments %d", l.LogStartOffset(), l.LogEndOffset(), l.NumSegments())
	}
	b := prototest.Plain(1, "f")
	b.BaseOffset = 100
	if _, err := l.Append(b.Encode(), AppendOptions{}); err != nil || l.LogEndOffset() != 101 {
		t.Fatalf("follower append after reset: %v, end %d", err, l.LogEndOffset())
	}
	l.Close()
	l = openTest(t, dir, DefaultConfig(), true)
	defer l.Close()
	if l.LogEndOffset() != 101 {
		t.Fatalf("after reopen: end %d", l.LogEndOffset())
	}
}

// readAll returns every record of the log from its start, as offset ->
// key=value (value "<nil>" for a tombstone).
func readAll(t *testing.T, l *Log) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	for offset := l.LogStartOffset(); offset < l.LogEndOffset(); {
		res, err := l.Read(offset, 1<<20, l.LogEndOffset(), true)
		if err != nil {
			t.Fatalf("read at %d: %v", offset, err)
		}
		if len(res.Records) == 0 {
			break
		}
		for b := res.Records; len(b) > 0; {
			h, batch, rest, err := protocol.NextBatch(b)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := protocol.Records(batch)
			if err != nil {
				t.Fatal(err)
			}
			if h.IsControl() {
				rs = nil // markers are no data
			}
			for _, r := range rs {
				v := string(r.Value)
				if r.Value == nil {
					v = "<nil>"
				}
				out[h.BaseOffset+int64(r.OffsetDelta)] = string(r.Key) + "=" + v
			}
			offset, b = h.LastOffset()+1, rest
		}
	}
	return out
}

// TestCompactKeepsNewestPerKey writes three rounds of the same keys and a
// tombstone into several segments, compacts, and checks that the inactive
// segments keep only each key's newest record, at its original offset; the
// gaps survive a reopen (recovery) and tombstones go once
// delete.retention.ms has passed.
func TestCompactKeepsNewestPerKey(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.CleanupPolicy, cfg.SegmentBytes, cfg.MinCleanableDirtyRatio = "compact", 300, 0
	l := openTest(t, dir, cfg, true)
	put := func(kvs ...protocol.KV) {
		t.Helper()
		if _, err := l.Append(protocol.BuildBatch(time.Now().UnixMilli(), kvs), AppendOptions{LeaderEpoch: 1, AssignOffsets: true}); err != nil {
			t.Fatal(err)
		}
	}
	kv := func(k, v string) protocol.KV { return protocol.KV{Key: []byte(k), Value: []byte(v)} }
	for round := range 3 {
		for _, k := range []string{"a", "b", "c"} {
			put(kv(k, fmt.Sprintf("%s%d", k, round)))
		}
	}
	put(protocol.KV{Key: []byte("c")}) // offset 9: delete c
	for i := range 6 {                 // offsets 10-15, pushing 9 out of the active segment
		put(kv("e", fmt.Sprint(i)))
	}
	before := readAll(t, l)
	st, err := l.Compact(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	after := readAll(t, l)
	if st.Segments == 0 || st.RecordsAfter >= st.RecordsBefore || len(after) >= len(before) {
		t.Fatalf("nothing compacted: %+v, %d records before, %d after", st, len(before), len(after))
	}
	activeBase := l.segments[len(l.segments)-1].base
	if activeBase <= 9 {
		t.Fatalf("the active segment starts at %d; the test needs the tombstone at 9 before it", activeBase)
	}
	for off, rec := range before {
		if off >= activeBase {
			if after[off] != rec {
				t.Fatalf("active segment changed at %d: %q -> %q", off, rec, after[off])
			}
			continue
		}
		newest := true
		for o2, r2 := range before {
			if o2 > off && o2 < activeBase && rec[:1] == r2[:1] {
				newest = false
			}
		}
		if _, kept := after[off]; kept != newest {
			t.Fatalf("offset %d (%s): kept %v, newest of its key %v", off, rec, kept, newest)
		}
	}
	l.Close()
	// A broker recovers its logs before it knows their topics' configs:
	// recovery under the default (delete) policy must keep the gaps.
	l = openTest(t, dir, DefaultConfig(), false)
	if got := readAll(t, l); len(got) != len(after) {
		t.Fatalf("after reopening: %v, want %v", got, after)
	}
	l.SetConfig(cfg)
	// The tombstone at 9 is the newest c in the inactive part: it is kept
	// until delete.retention.ms has passed.
	if after[9] != "c=<nil>" {
		t.Fatalf("tombstone dropped early: %v", after)
	}
	l.cfg.DeleteRetentionMs = 0
	l.firstDirty = 0
	if _, err := l.Compact(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l); got[9] != "" || len(got) != len(after)-1 {
		t.Fatalf("tombstone kept past delete.retention.ms: %v", got)
	}
	// Appends go on at the log end after compaction.
	res := mustAppend(t, l, prototest.Plain(1000, "x").Encode())
	if res.FirstOffset != 16 {
		t.Fatalf("append after compaction at %d, want 16", res.FirstOffset)
	}
	l.Close()
}

// TestIncrementLogStartOffset moves the log start as DeleteRecords does:
// reads below it are out of range, it never moves back nor past the end,
// and the segments wholly below it go at the next retention check.
func TestIncrementLogStartOffset(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 200
	l := openTest(t, t.TempDir(), cfg, true)
	defer l.Close()
	for range 10 {
		mustAppend(t, l, prototest.Plain(time.Now().UnixMilli(), "value-value").Encode())
	}
	segments := l.NumSegments()
	if start, err := l.IncrementLogStartOffset(6); err != nil || start != 6 {
		t.Fatalf("to 6: %d %v", start, err)
	}
	if start, _ := l.IncrementLogStartOffset(3); start != 6 {
		t.Fatalf("moved back to %d", start)
	}
	if _, err := l.IncrementLogStartOffset(11); protocol.Code(err) != protocol.OffsetOutOfRange {
		t.Fatalf("past the end: %v", err)
	}
	if _, err := l.Read(5, 1<<20, 10, true); protocol.Code(err) != protocol.OffsetOutOfRange {
		t.Fatalf("read below the log start: %v", err)
	}
	if n, err := l.DeleteOldSegments(time.Now()); err != nil || n == 0 || l.NumSegments() >= segments {
		t.Fatalf("retention deleted %d of %d segments: %v", n, segments, err)
	}
	if r, err := l.Read(6, 1<<20, 10, true); err != nil || len(offsetsIn(t, r.Records)) == 0 || offsetsIn(t, r.Records)[0][0] > 6 {
		t.Fatalf("read at the log start: %v %v", r, err)
	}
}

// flush.ms is Long.MAX_VALUE by default: Kafka never fsyncs on a timer and
// leaves durability to replication. A day later nothing is flushed yet;
// with flush.ms=1000, a second later it is.
func TestFlushIntervalDefaultNeverFlushes(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	mustAppend(t, l, prototest.Plain(1000, "a").Encode())
	if err := l.flushIfDue(time.Now().Add(24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if l.unflushed == 0 {
		t.Error("the default flush.ms flushed the log")
	}
	l.cfg.FlushIntervalMs = 1000
	if err := l.flushIfDue(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if l.unflushed != 0 {
		t.Error("flush.ms=1000 did not flush a second later")
	}
}
