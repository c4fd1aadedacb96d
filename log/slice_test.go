package log

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// ReadSlice finds the batches Read returns without reading them: a
// prefix of Read's answer made of whole batches, never empty where Read's
// is not, and short of it by less than the index interval.
func TestReadSliceAgreesWithRead(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 64 << 10 // several segments, the older ones sealed
	l := openTest(t, t.TempDir(), cfg, true)
	defer l.Close()
	rng := rand.New(rand.NewSource(1))
	for i := range 300 {
		mustAppend(t, l, prototest.Plain(int64(i), strings.Repeat("r", rng.Intn(3000)), "x").Encode())
	}
	leo := l.LogEndOffset()
	for range 2000 {
		offset := rng.Int63n(leo + 1)
		maxOffset := offset + rng.Int63n(leo-offset+1)
		maxBytes := int32(rng.Intn(40 << 10))
		minOne := rng.Intn(2) == 0
		want, err := l.Read(offset, maxBytes, maxOffset, minOne)
		if err != nil {
			t.Fatal(err)
		}
		sl, err := l.ReadSlice(offset, maxBytes, maxOffset, minOne)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sl.ReadBytes()
		sl.Close()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !bytes.HasPrefix(want.Records, got):
			t.Fatalf("Read(%d, %d, %d, %v): slice is not a prefix of what Read returns", offset, maxBytes, maxOffset, minOne)
		case len(want.Records)-len(got) >= int(cfg.IndexIntervalBytes),
			len(got) == 0 && len(want.Records) > 0:
			t.Fatalf("Read(%d, %d, %d, %v): slice of %d bytes where Read returns %d", offset, maxBytes, maxOffset, minOne, len(got), len(want.Records))
		}
		offsetsIn(t, got) // whole batches
	}
}

// A slice keeps its bytes when the segment is removed under it, as a
// follower's truncation or retention removes it while a response waits.
func TestSliceOutlivesItsSegment(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	b := prototest.Plain(0, "a", "b", "c").Encode()
	mustAppend(t, l, b)
	sl, err := l.ReadSlice(0, 1<<20, l.LogEndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	if err := l.TruncateFullyAndStartAt(100); err != nil {
		t.Fatal(err)
	}
	got, err := sl.ReadBytes()
	if err != nil || len(got) != len(b) {
		t.Fatalf("slice after its segment was removed: %d bytes, %v; want %d", len(got), err, len(b))
	}
}

// noOpenFS refuses every open, so that a handle it gives must be a
// duplicate of one already open.
type noOpenFS struct{ FS }

func (noOpenFS) OpenFile(string, int, os.FileMode) (File, error) { return nil, os.ErrPermission }

// A fetch sent from a file duplicates the descriptor of a file that a
// watching wrapper (a directory's failure watch) holds, rather than
// opening the file again.
func TestOwnHandleSeesThroughWatchers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte("records"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	own, err := ownHandle(noOpenFS{}, path, watchFile{File: f, name: path})
	if err != nil {
		t.Fatalf("ownHandle under a watcher: %v, want a duplicate descriptor", err)
	}
	defer own.Close()
	b := make([]byte, 7)
	if _, err := own.ReadAt(b, 0); err != nil || string(b) != "records" {
		t.Fatalf("read %q, %v through the duplicate", b, err)
	}
}
