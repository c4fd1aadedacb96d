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
	inodes := func() [2]uint64 {
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
