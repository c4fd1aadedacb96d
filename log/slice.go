package log

import (
	"os"
	"sort"
	"syscall"

	"github.com/gokafka/gokafka/protocol"
)

// Slice is a run of whole record batches in one segment file, not read:
// a fetch response sends it from the file to the socket (sendfile) or
// reads it when it must copy. It holds a descriptor of its own on the
// file (a duplicate of the segment's, taken through the segment file
// cache), so that retention, a truncation, compaction or the cache
// closing the segment's cannot cut it short; Close releases it. The
// duplicate shares the segment descriptor's file offset, so it is read
// only at explicit positions (ReadAt, sendfile with an offset). The zero
// Slice is empty.
type Slice struct {
	File     File
	Pos, Len int64
}

// Close releases the slice's handle on its file.
func (s Slice) Close() error {
	if s.File == nil {
		return nil
	}
	return s.File.Close()
}

// ReadBytes copies the slice into memory, for a connection that cannot
// take it from the file (TLS, SASL encryption) or a reader in process.
func (s Slice) ReadBytes() ([]byte, error) {
	b := make([]byte, s.Len)
	if s.Len == 0 {
		return b, nil
	}
	_, err := s.File.ReadAt(b, s.Pos)
	return b, err
}

// ReadSlice is Read without reading: it finds the same whole batches from
// segment positions (the log end, the last batches appended and the
// sparse index are known in memory) and returns them as a slice of their
// file. Bounded by maxBytes, it may return up to index.interval.bytes
// less than Read would, stopping at the last boundary it knows. Slices
// count as read bytes: the kernel reads them.
func (l *Log) ReadSlice(offset int64, maxBytes int32, maxOffset int64, minOneBatch bool) (Slice, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, pos, err := l.batchAt(offset, maxOffset)
	if s == nil || err != nil {
		return Slice{}, err
	}
	end := s.size
	if maxOffset < s.nextOffset {
		var read int64
		end, _, read, err = s.locate(maxOffset)
		l.countRead(read)
		if err != nil {
			return Slice{}, err
		}
	}
	n, read, err := s.wholeBatches(pos, end, int64(max(maxBytes, 0)), minOneBatch)
	l.countRead(read)
	if err != nil || n == 0 {
		return Slice{}, err
	}
	f, err := s.file()
	if err != nil {
		return Slice{}, err
	}
	own, err := ownHandle(l.fs, s.logPath(), f.File)
	f.release()
	if err != nil {
		return Slice{}, err
	}
	l.countRead(n)
	return Slice{File: own, Pos: pos, Len: n}, nil
}

// ownHandle returns a handle on f's file that outlives f: a duplicate
// descriptor of an OS file, under any wrapper that only watches it, or the
// file opened again on other file systems (fault injection in tests).
func ownHandle(fs FS, path string, f File) (File, error) {
	for {
		w, ok := f.(interface{ Unwrap() File })
		if !ok {
			break
		}
		f = w.Unwrap()
	}
	osf, ok := f.(*os.File)
	if !ok {
		return fs.OpenFile(path, os.O_RDONLY, 0)
	}
	rc, err := osf.SyscallConn()
	if err != nil {
		return nil, err
	}
	dup := -1
	cerr := rc.Control(func(fd uintptr) { dup, err = syscall.Dup(int(fd)) })
	if cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(dup), path), nil
}

// wholeBatches returns how many bytes of whole batches from pos, which
// starts a batch, fit in maxBytes without passing end, a batch boundary.
// With minOneBatch a first batch larger than maxBytes counts whole. It
// returns the header bytes it read to find out.
func (s *segment) wholeBatches(pos, end, maxBytes int64, minOneBatch bool) (n, read int64, err error) {
	if end-pos <= maxBytes {
		return max(end-pos, 0), 0, nil
	}
	if cut := s.boundaryAtOrBefore(pos + maxBytes); cut > pos {
		return cut - pos, 0, nil
	}
	at := pos
	for at < end {
		h, err := s.readHeader(at)
		read += protocol.BatchHeaderSize
		if err != nil {
			return 0, read, err
		}
		size := int64(h.Size())
		if at+size > end || at+size-pos > maxBytes && (at > pos || !minOneBatch) {
			return at - pos, read, nil
		}
		at += size
	}
	return at - pos, read, nil
}

// boundaryAtOrBefore is the last batch boundary at or before limit that
// the segment knows without a read: an index entry or a recent batch end;
// 0 when it knows none.
func (s *segment) boundaryAtOrBefore(limit int64) int64 {
	var best int64
	offs := s.ix.offsets
	if i := sort.Search(len(offs), func(i int) bool { return int64(offs[i].pos) > limit }); i > 0 {
		best = int64(offs[i-1].pos)
	}
	if s.recent != nil {
		for _, e := range s.recent.ends[:min(s.recent.next, recentEnds)] {
			if e.pos <= limit {
				best = max(best, e.pos)
			}
		}
	}
	return best
}
