package log

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// countedLog is a log whose reads are counted, as the Manager's are.
func countedLog(t *testing.T) (*Log, *atomic.Int64) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	t.Cleanup(func() { l.Close() })
	l.readBytes = new(atomic.Int64)
	return l, l.readBytes
}

// Positions of the log end and of the last batches' ends come from memory;
// older boundaries from the index and batch headers, counted as reads.
// Bytes between positions are the batches' sizes.
func TestPositionOfBatchBoundaries(t *testing.T) {
	l, reads := countedLog(t)
	var ends []int64 // position after each batch
	var size int64
	for i := range 3 * recentEnds {
		b := prototest.Plain(int64(i), strings.Repeat("v", 100+i)).Encode()
		mustAppend(t, l, b)
		size += int64(len(b))
		ends = append(ends, size)
	}
	leo := l.LogEndOffset()
	for _, tc := range []struct {
		offset    int64
		want      int64
		readsDisk bool
	}{
		{offset: leo, want: size},
		{offset: leo + 5, want: size},
		{offset: leo - 1, want: ends[len(ends)-2]},
		{offset: leo - recentEnds + 1, want: ends[len(ends)-recentEnds]},
		{offset: 1, want: ends[0], readsDisk: true},
		{offset: 0, want: 0},
	} {
		before := reads.Load()
		pos, err := l.PositionOf(tc.offset)
		if err != nil {
			t.Fatal(err)
		}
		if pos != (Position{Segment: 0, Bytes: tc.want}) {
			t.Errorf("PositionOf(%d) = %+v, want bytes %d", tc.offset, pos, tc.want)
		}
		if read := reads.Load() - before; (read > 0) != tc.readsDisk {
			t.Errorf("PositionOf(%d) read %d bytes", tc.offset, read)
		}
	}
	from, _ := l.PositionOf(2)
	to, _ := l.PositionOf(leo)
	if n, ok := from.BytesTo(to); !ok || n != size-ends[1] {
		t.Errorf("bytes from offset 2 to the end = %d, %v; want %d", n, ok, size-ends[1])
	}
	if _, ok := from.BytesTo(Position{Segment: leo, Bytes: 0}); ok {
		t.Error("bytes counted across segments")
	}
}

// A read below a high watermark a few batches behind the log end reads no
// byte past it, and a truncation forgets the ends it cut off.
func TestReadStopsAtARememberedEnd(t *testing.T) {
	l, reads := countedLog(t)
	for i := range 6 {
		mustAppend(t, l, prototest.Plain(int64(i), strings.Repeat("x", 1000)).Encode())
	}
	hw := l.LogEndOffset() - 2
	before := reads.Load()
	res, err := l.Read(0, 1<<20, hw, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := offsetsIn(t, res.Records); len(got) != 4 || got[3][1] != hw-1 {
		t.Fatalf("read %v below %d", got, hw)
	}
	if read := reads.Load() - before; read != int64(len(res.Records)) {
		t.Errorf("read %d bytes from disk to return %d", read, len(res.Records))
	}
	if err := l.TruncateTo(hw - 1); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, prototest.Plain(9, "y", "y").Encode()) // offsets hw-1 and hw
	if pos, ok := l.segments[0].recent.lookup(hw); ok {
		t.Errorf("the end at %d survived the truncation at position %d", hw, pos)
	}
}

// A first batch larger than maxBytes is returned whole, reading its start
// once.
func TestReadOversizedFirstBatchReadsItOnce(t *testing.T) {
	l, reads := countedLog(t)
	b := prototest.Plain(0, strings.Repeat("z", 5000)).Encode()
	mustAppend(t, l, b)
	before := reads.Load()
	res, err := l.Read(0, 100, l.LogEndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != len(b) {
		t.Fatalf("read %d bytes, want the whole batch of %d", len(res.Records), len(b))
	}
	if read := reads.Load() - before; read != int64(len(b)) {
		t.Errorf("read %d bytes from disk for a batch of %d", read, len(b))
	}
}
