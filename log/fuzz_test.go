package log

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// FuzzRecover writes arbitrary bytes after five good batches in the active
// segment, as a crash mid-write might, and checks that recovery neither
// panics nor loses the good batches, that what survives reads back with
// dense offsets, and that appends carry on after it.
func FuzzRecover(f *testing.F) {
	good := prototest.Plain(7, "a", "b").Encode()
	f.Add([]byte("garbage"))
	f.Add(good[:len(good)-3])
	f.Add(good)
	f.Add(append(good[:20:20], 0xff, 0xff, 0xff, 0xff))

	// The five good batches are written once; each run copies the files
	// without fsync and ends like a crash, so that the fuzzer spends its
	// time in recovery rather than in the disk.
	tmpl := f.TempDir()
	l := openTest(f, tmpl, DefaultConfig(), true)
	for range 5 {
		mustAppend(f, l, prototest.Plain(1, "v1", "v2").Encode())
	}
	name := filepath.Base(l.active().logPath())
	l.closeSegments()
	files := map[string][]byte{}
	for _, n := range []string{name} {
		b, err := os.ReadFile(filepath.Join(tmpl, n))
		if err != nil {
			f.Fatal(err)
		}
		files[n] = b
	}

	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := t.TempDir()
		for n, b := range files {
			if n == name {
				b = append(b[:len(b):len(b)], tail...)
			}
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		l := openTest(t, dir, DefaultConfig(), false)
		defer l.closeSegments()
		leo := l.LogEndOffset()
		if leo < 10 {
			t.Fatalf("recovery lost good batches: log end %d, want at least 10", leo)
		}
		r, err := l.Read(0, 1<<20, leo, true)
		if err != nil {
			t.Fatal(err)
		}
		next := int64(0)
		for _, o := range offsetsIn(t, r.Records) {
			if o[0] != next {
				t.Fatalf("batch at %d after recovery, want %d", o[0], next)
			}
			next = o[1] + 1
		}
		if next != leo {
			t.Fatalf("batches end at %d, log end is %d", next, leo)
		}
		if res := mustAppend(t, l, prototest.Plain(1, "after").Encode()); res.FirstOffset != leo {
			t.Fatalf("append after recovery at %d, want %d", res.FirstOffset, leo)
		}
	})
}
