package log

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// A close rewrites the active segment's index files only when entries
// came since they were read: a reopened, untouched log keeps the very
// files (same inodes), and one appended to gets files holding the new
// entries, which the next open trusts and reads from.
func TestCloseRewritesIndexesOnlyWhenChanged(t *testing.T) {
	cfg := DefaultManagerConfig()
	cfg.Dirs = []string{t.TempDir()}
	cfg.Defaults.IndexIntervalBytes = 1 // an entry every batch
	tp := TopicPartition{Topic: "t", Partition: 0}
	open := func() (*Manager, *Log) {
		t.Helper()
		m, err := OpenManager(cfg, quiet)
		if err != nil {
			t.Fatal(err)
		}
		l, err := m.GetOrCreate(tp, [16]byte{1}, cfg.Defaults)
		if err != nil {
			t.Fatal(err)
		}
		return m, l
	}
	closeManager := func(m *Manager) {
		t.Helper()
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	base := filepath.Join(cfg.Dirs[0], "t-0", segmentName(0))
	inodes := func() [2]uint64 { return indexInodes(t, base) }
	batch := func(ts int64) []byte { return prototest.Plain(ts, "v").Encode() }

	m, l := open()
	mustAppend(t, l, batch(1_700_000_000_000))
	closeManager(m)
	written := inodes()

	m, _ = open()
	closeManager(m)
	if got := inodes(); got != written {
		t.Fatalf("an untouched log's close rewrote its index files: inodes %v, were %v", got, written)
	}

	m, l = open()
	mustAppend(t, l, batch(1_700_000_000_001))
	closeManager(m)
	if got := inodes(); got[0] == written[0] || got[1] == written[1] {
		t.Fatalf("a close after an append kept the old index files: inodes %v, were %v", got, written)
	}
	ix, err := readIndex(OSFS(), base+".index", base+".timeindex", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.offsets) != 2 || len(ix.times) != 2 || ix.offsets[1].rel != 1 {
		t.Fatalf("index after the second close: %+v, want two entries each, the second at offset 1", ix)
	}
}

// indexInodes returns the inodes of the segment's .index and .timeindex:
// a file rewritten (temp file, rename) gets a new one.
func indexInodes(t *testing.T, base string) [2]uint64 {
	t.Helper()
	var ino [2]uint64
	for i, p := range []string{base + ".index", base + ".timeindex"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		ino[i] = st.Sys().(*syscall.Stat_t).Ino
	}
	return ino
}

// A segment recovered after a crash whose index files hold what its
// batches give, as they do when no entry came since they were written,
// keeps them at the next close, as after a clean open: the first close
// after a kill -9 of a broker of many partitions wrote two files and two
// syncs for each (issue 16). One that took entries since gets them
// written, and an empty one keeps its empty files unread.
func TestCloseAfterRecoveryRewritesOnlyChangedIndexes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IndexIntervalBytes = 1 // an entry every batch
	for _, batches := range []int{0, 1} {
		dir := t.TempDir()
		base := filepath.Join(dir, segmentName(0))
		open := func(clean bool) *Log {
			t.Helper()
			l, err := openLog(osFS{}, newFileCache(2), dir, tp0, [16]byte{1}, cfg, openState{clean: clean}, quiet)
			if err != nil {
				t.Fatal(err)
			}
			if !clean && l.recoveredFrom != 0 {
				t.Fatalf("%d batches: the open after a crash recovered from %d, want segment 0", batches, l.recoveredFrom)
			}
			return l
		}
		closeLog := func(l *Log) {
			t.Helper()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}
		l := open(true)
		for i := range batches {
			mustAppend(t, l, prototest.Plain(1_700_000_000_000+int64(i), "v").Encode())
		}
		closeLog(l)
		written := indexInodes(t, base)

		closeLog(open(false))
		if got := indexInodes(t, base); got != written {
			t.Fatalf("%d batches: the close after recovery rewrote index files that held its indexes: inodes %v, were %v", batches, got, written)
		}

		l = open(false)
		mustAppend(t, l, prototest.Plain(1_700_000_000_100, "v").Encode())
		abandon(l) // killed: the entry is in the log, not in the index files
		closeLog(open(false))
		if got := indexInodes(t, base); got[0] == written[0] || got[1] == written[1] {
			t.Fatalf("%d batches: the close after recovering an appended batch kept the old index files", batches)
		}
		ix, err := readIndex(OSFS(), base+".index", base+".timeindex", 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(ix.offsets) != batches+1 || len(ix.times) != batches+1 {
			t.Fatalf("%d batches: index after the close: %+v, want an entry a batch", batches, ix)
		}
	}
}

// The open learns from the directory's listing what it used to look up
// file by file: the gaps marker (compaction's offset-gaps) and which
// segments have a .txnindex; an empty segment's indexes are not read.
func TestOpenReadsTheListing(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	l, err := openLog(osFS{}, newFileCache(2), dir, tp0, [16]byte{1}, cfg, openState{clean: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if l.gaps {
		t.Fatal("a new log has gaps")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, gapsMarkerFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Garbage in the empty segment's index: never read, never trusted.
	if err := os.WriteFile(filepath.Join(dir, segmentName(0)+".index"), []byte("garbage!"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err = openLog(osFS{}, newFileCache(2), dir, tp0, [16]byte{1}, cfg, openState{clean: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.gaps {
		t.Error("the offset-gaps marker was not seen at open")
	}
	if n := len(l.active().ix.offsets); n != 0 || l.LogEndOffset() != 0 {
		t.Errorf("an empty segment opened with %d index entries, end %d", n, l.LogEndOffset())
	}
	mustAppend(t, l, prototest.Plain(1_700_000_000_000, "v").Encode())
	if got := l.LogEndOffset(); got != 1 {
		t.Errorf("end offset after an append: %d, want 1", got)
	}
}

// A close writes the producer snapshot only where the next open would
// replay something: not for an empty log that knows no producer, and
// for a log with batches, which its next open reads instead of them.
func TestCloseSavesProducersOfLogsWithData(t *testing.T) {
	dir := t.TempDir()
	open := func() *Log {
		t.Helper()
		l, err := openLog(osFS{}, newFileCache(2), dir, tp0, [16]byte{1}, DefaultConfig(), openState{clean: true}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	snapshot := filepath.Join(dir, producerSnapshotFile)
	if err := open().Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(snapshot); !os.IsNotExist(err) {
		t.Fatalf("an empty log's close wrote %s (stat: %v)", producerSnapshotFile, err)
	}
	l := open()
	pb := prototest.Plain(1_700_000_000_000, "v")
	pb.ProducerID, pb.ProducerEpoch, pb.BaseSequence = 7, 0, 0
	mustAppend(t, l, pb.Encode())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(snapshot); err != nil {
		t.Fatalf("a close after an idempotent batch wrote no snapshot: %v", err)
	}
	l = open()
	defer l.Close()
	if _, ok := l.producers.producers[7]; !ok {
		t.Error("the reopened log does not know producer 7")
	}
}
