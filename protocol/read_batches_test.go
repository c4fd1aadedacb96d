package protocol

import (
	"errors"
	"testing"
)

// storedLog serves whole batches of three records from an offset, at most
// two batches per read, as a log's Read does.
type storedLog [][]byte

func (l storedLog) read(offset int64) ([]byte, error) {
	var out []byte
	for i := int(offset / 3); i < len(l) && i < int(offset/3)+2; i++ {
		out = append(out, l[i]...)
	}
	return out, nil
}

func threeRecordBatches(n int) storedLog {
	var l storedLog
	for i := range n {
		b := BuildBatch(0, []KV{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}})
		SetBaseOffset(b, int64(i*3))
		l = append(l, b)
	}
	return l
}

func TestReadBatchesWalksToTheEnd(t *testing.T) {
	l := threeRecordBatches(5)
	var bases []int64
	next, err := ReadBatches(l.read, 4, 12, func(h *BatchHeader, _ []byte) { bases = append(bases, h.BaseOffset) })
	if err != nil || next != 15 {
		t.Fatalf("next %d err %v, want 15 nil", next, err)
	}
	if len(bases) != 4 || bases[0] != 3 || bases[3] != 12 {
		t.Fatalf("batches at %v, want 3 6 9 12", bases)
	}
}

func TestReadBatchesStopsAtAStoredCorruptBatch(t *testing.T) {
	l := threeRecordBatches(3)
	l[1] = append([]byte(nil), l[1]...)
	copy(l[1][8:12], []byte{0, 0, 0, 1}) // a length too small for any batch
	var n int
	next, err := ReadBatches(l.read, 0, 9, func(*BatchHeader, []byte) { n++ })
	var bad *StoredBatchError
	if !errors.As(err, &bad) || bad.Offset != 3 || next != 3 || n != 1 {
		t.Fatalf("next %d err %v after %d batches, want a StoredBatchError at 3 after 1", next, err, n)
	}
}

func TestReadBatchesPassesReadErrorsOn(t *testing.T) {
	boom := errors.New("disk")
	_, err := ReadBatches(func(int64) ([]byte, error) { return nil, boom }, 0, 3, func(*BatchHeader, []byte) {})
	if err != boom {
		t.Fatalf("err %v, want the read's own", err)
	}
}
