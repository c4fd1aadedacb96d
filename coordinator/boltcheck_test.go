package coordinator

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// writeBoltStore makes a real raft.db with enough log entries to span
// several pages and returns its bytes.
func writeBoltStore(t testing.TB, dir string) []byte {
	t.Helper()
	path := filepath.Join(dir, raftStoreFile)
	s, err := openBoltStore(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs []*raft.Log
	for i := uint64(1); i <= 200; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Data: []byte(strings.Repeat("x", 500))})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCorruptRaftStoreIsAnError cuts raft.db short at several points and
// fills it with garbage: each open must be an error naming the file, never
// a SIGBUS (which would kill this test binary).
func TestCorruptRaftStoreIsAnError(t *testing.T) {
	good := writeBoltStore(t, t.TempDir())
	if err := checkBoltBytes(good, int64(len(good))); err != nil {
		t.Fatalf("a good store refused: %v", err)
	}
	m, err := parseBoltMeta(good)
	if err != nil {
		t.Fatal(err)
	}
	used := int(m.pgid) * int(m.pageSize) // bbolt grows the file past its pages
	cases := map[string][]byte{
		"empty":             {},
		"garbage":           []byte(strings.Repeat("\xde\xad", 20000)),
		"4 KiB":             good[:4096],
		"half":              good[:len(good)/2],
		"last page missing": good[:used-int(m.pageSize)],
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), raftStoreFile)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := openBoltStore(path)
			if err == nil {
				s.Close()
				t.Fatalf("%d bytes of %d opened without an error", len(b), len(good))
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name %s", err, path)
			}
		})
	}
}

// boltMetaPage builds a meta page by the layout in boltcheck.go, so that
// the check is pinned to bytes and not only to what bbolt writes today.
func boltMetaPage(pageSize uint32, root, freelist, pgid, tx uint64) []byte {
	b := make([]byte, pageSize)
	le := binary.LittleEndian
	m := b[boltMetaOffset:]
	le.PutUint32(m, boltMagic)
	le.PutUint32(m[4:], boltVersion)
	le.PutUint32(m[8:], pageSize)
	le.PutUint64(m[16:], root)
	le.PutUint64(m[32:], freelist)
	le.PutUint64(m[40:], pgid)
	le.PutUint64(m[48:], tx)
	h := fnv.New64a()
	h.Write(m[:boltMetaSize])
	le.PutUint64(m[boltMetaSize:], h.Sum64())
	return b
}

// TestBoltMetaGoldenBytes checks the hand-built layout against bbolt's own
// file and the size rule on it.
func TestBoltMetaGoldenBytes(t *testing.T) {
	good := writeBoltStore(t, t.TempDir())
	m, err := parseBoltMeta(good)
	if err != nil {
		t.Fatal(err)
	}
	if built := boltMetaPage(m.pageSize, m.root, m.freelist, m.pgid, m.tx); !bytes.Equal(built[boltMetaOffset:boltMetaOffset+boltMetaSize+8], good[boltMetaOffset:boltMetaOffset+boltMetaSize+8]) {
		t.Fatalf("meta layout differs from bbolt's:\n%x\n%x", built[16:88], good[16:88])
	}
	head := append(boltMetaPage(4096, 3, 2, 4, 1), boltMetaPage(4096, 3, 2, 8, 2)...)
	if err := checkBoltBytes(head, 8*4096); err != nil {
		t.Fatalf("8 pages present: %v", err)
	}
	if err := checkBoltBytes(head, 8*4096-1); err == nil {
		t.Fatal("newest meta claims 8 pages, file holds less, yet accepted")
	}
}

// FuzzBoltMeta feeds the first pages of a bbolt file and its claimed size
// to the check that runs before bbolt maps it.
func FuzzBoltMeta(f *testing.F) {
	f.Add(append(boltMetaPage(4096, 3, 2, 4, 1), boltMetaPage(4096, 3, 2, 8, 2)...), int64(8*4096))
	f.Add(boltMetaPage(512, 1, 0, 2, 0), int64(512))
	f.Add([]byte("garbage"), int64(7))
	f.Fuzz(func(t *testing.T, head []byte, size int64) {
		size = max(size, int64(len(head)))
		if checkBoltBytes(head, size) != nil {
			return
		}
		if _, err := parseBoltMeta(head); err != nil && len(head) < 2*boltMinPageSize {
			t.Fatal("accepted a file with no valid meta page")
		}
	})
}
