package coordinator

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

// A size prefix alone must not book memory: a peer claiming 100 MiB and
// sending 10 bytes costs about one read chunk.
func TestReadGrowingAllocatesAsBytesArrive(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 20 {
		_, err := readGrowing(bytes.NewReader(make([]byte, 10)), rpcMaxFrame)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("short body: %v, want unexpected EOF", err)
		}
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 20*2*rpcReadChunk {
		t.Fatalf("20 frames claiming %d bytes allocated %d bytes", rpcMaxFrame, got)
	}
	for _, n := range []int{0, 1, rpcReadChunk - 1, rpcReadChunk, rpcReadChunk + 1, 5*rpcReadChunk + 7} {
		want := bytes.Repeat([]byte{7}, n)
		got, err := readGrowing(bytes.NewReader(append(want, 1, 2, 3)), n)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("n=%d: %d bytes, %v", n, len(got), err)
		}
	}
}
