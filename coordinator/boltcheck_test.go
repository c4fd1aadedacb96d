package coordinator

import (
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

// FuzzBoltMeta feeds the first pages of a bbolt file and its claimed size
// to the check that runs before bbolt maps it.
func FuzzBoltMeta(f *testing.F) {
	good := writeBoltStore(f, f.TempDir())
	f.Add(good[:8192], int64(len(good)))
	f.Add(good[:8192], int64(4096))
	f.Add([]byte("garbage"), int64(7))
	f.Fuzz(func(t *testing.T, head []byte, size int64) {
		if size < int64(len(head)) {
			size = int64(len(head))
		}
		checkBoltBytes(head, size)
	})
}
