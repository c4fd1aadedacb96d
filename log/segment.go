package log

import (
	"bufio"
	"container/list"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gokafka/gokafka/clock"
	"github.com/gokafka/gokafka/protocol"
)

// segment is one file of a partition's log: record batches stored exactly as
// appended, from base offset up to nextOffset, with its sparse indexes.
type segment struct {
	base       int64
	nextOffset int64 // offset after the last batch; base when empty
	path       string
	fs         FS
	size       int64
	ix         *index
	txns       []AbortedTxn // this segment's .txnindex: aborts whose markers it holds

	bytesSinceIndex int64
	maxTs           int64 // largest batch max timestamp, -1 when empty
	maxTsOffset     int64
	created         time.Time // for segment.ms: when the first batch arrived

	// The .log file, opened through the cache (file_cache.go) and nil
	// when the cache closed it; these fields change under cache.mu.
	cache   *fileCache
	f       File
	refs    int
	idleAt  *list.Element
	opening bool
	removed bool
	// recent remembers where the last batches appended end, while the
	// segment is active and its batches stay as appended (position.go).
	recent *endRing
	// ixSaved says that the index files on disk hold ix: it was read
	// from them, or written to them, and no entry came since. A close
	// then leaves them be, which spares each idle partition of a large
	// broker two file writes and syncs at every shutdown.
	ixSaved bool
	// ixMaybeSaved says that recovery at open rebuilt ix, found the
	// index files listed, and no entry came since: the files hold ix if
	// no entry came after they were written either, so a close compares
	// them before it writes (saveIndexes). Comparing at close, not at
	// open, keeps the reads out of the restart.
	ixMaybeSaved bool
}

func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

func (s *segment) logPath() string       { return s.path + ".log" }
func (s *segment) indexPath() string     { return s.path + ".index" }
func (s *segment) timeIndexPath() string { return s.path + ".timeindex" }

// createSegment starts a new empty segment at base, its file idle in the
// cache.
func createSegment(c *fileCache, fs FS, dir string, base int64) (*segment, error) {
	s := &segment{fs: fs, base: base, nextOffset: base, path: filepath.Join(dir, segmentName(base)), ix: &index{}, maxTs: -1}
	f, err := fs.OpenFile(s.logPath(), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	c.adopt(s, f)
	c.release(s)
	return s, nil
}

// openSegment opens an existing segment file, in use once: its indexes and
// end are settled by load or recover, and then it is released to the
// cache.
func openSegment(c *fileCache, fs FS, dir string, base int64) (*segment, error) {
	s := &segment{fs: fs, base: base, nextOffset: base, path: filepath.Join(dir, segmentName(base)), maxTs: -1}
	f, err := fs.OpenFile(s.logPath(), os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	c.adopt(s, f)
	s.size, s.created = st.Size(), st.ModTime()
	return s, nil
}

// append writes one batch whose base offset is already assigned and adds
// index entries every indexInterval bytes, as Kafka does.
func (s *segment) append(b []byte, h *protocol.BatchHeader, indexInterval int32) error {
	if s.size == 0 {
		s.created = clock.Now()
	}
	f, err := s.file()
	if err != nil {
		return err
	}
	defer f.release()
	if _, err := f.WriteAt(b, s.size); err != nil {
		return fmt.Errorf("writing %s: %w", s.logPath(), err)
	}
	s.track(h, s.size, int64(len(b)), indexInterval)
	if s.recent == nil {
		s.recent = &endRing{}
	}
	s.recent.add(s.nextOffset, s.size)
	return nil
}

// track records a batch at pos in the in-memory state: end offset, max
// timestamp and sparse index entries. Appends and recovery share it.
func (s *segment) track(h *protocol.BatchHeader, pos, n int64, indexInterval int32) {
	rel := uint32(h.LastOffset() - s.base)
	if s.bytesSinceIndex >= int64(indexInterval) || len(s.ix.offsets) == 0 {
		s.ix.offsets = append(s.ix.offsets, offsetEntry{rel: uint32(h.BaseOffset - s.base), pos: uint32(pos)})
		s.bytesSinceIndex, s.ixSaved, s.ixMaybeSaved = 0, false, false
	}
	s.bytesSinceIndex += n
	if h.MaxTimestamp > s.maxTs {
		s.maxTs, s.maxTsOffset = h.MaxTimestamp, h.LastOffset()
		s.ix.times = append(s.ix.times, timeEntry{ts: h.MaxTimestamp, rel: rel})
		s.ixSaved, s.ixMaybeSaved = false, false
	}
	s.size = pos + n
	s.nextOffset = h.LastOffset() + 1
}

// fits reports whether a batch of n bytes ending at lastOffset can go into
// this segment without breaking its limits.
func (s *segment) fits(n int, lastOffset int64, cfg *Config, now time.Time) bool {
	if s.size == 0 {
		return true
	}
	switch {
	case s.size+int64(n) > cfg.SegmentBytes,
		lastOffset-s.base > math.MaxInt32,
		s.size+int64(n) > math.MaxInt32,
		s.ix.full(cfg.IndexSizeMaxBytes),
		now.Sub(s.created) >= time.Duration(cfg.SegmentMs)*time.Millisecond:
		return false
	}
	return true
}

// readHeader reads the batch header at pos.
func (s *segment) readHeader(pos int64) (protocol.BatchHeader, error) {
	f, err := s.file()
	if err != nil {
		return protocol.BatchHeader{}, err
	}
	defer f.release()
	var buf [protocol.BatchHeaderSize]byte
	if _, err := f.ReadAt(buf[:], pos); err != nil {
		return protocol.BatchHeader{}, err
	}
	return protocol.DecodeHeader(buf[:])
}

// find returns the position of the batch holding offset, or of the first
// batch after it, and whether there is one in this segment.
func (s *segment) find(offset int64) (int64, bool, error) {
	pos, found, _, err := s.locate(offset)
	return pos, found, err
}

// locate is find that also returns the bytes of headers it read. The
// segment's start and the ends of the last batches appended are known
// without a read.
func (s *segment) locate(offset int64) (pos int64, found bool, read int64, err error) {
	switch {
	case offset >= s.nextOffset:
		return s.size, false, 0, nil
	case offset <= s.base && s.size > 0:
		return 0, true, 0, nil
	}
	if s.recent != nil {
		if pos, ok := s.recent.lookup(offset); ok {
			return pos, true, 0, nil
		}
	}
	rel := uint32(max(offset-s.base, 0))
	for pos := s.ix.lookup(rel); pos < s.size; {
		h, err := s.readHeader(pos)
		read += protocol.BatchHeaderSize
		if err != nil {
			return 0, false, read, fmt.Errorf("%s at %d: %w", s.logPath(), pos, err)
		}
		if h.LastOffset() >= offset {
			return pos, true, read, nil
		}
		pos += int64(h.Size())
	}
	return s.size, false, read, nil
}

// scan calls fn for every whole, CRC-valid batch from pos on and returns the
// position where valid data ends. A torn or corrupt batch stops the scan
// without an error: recovery truncates there.
func (s *segment) scan(pos, end int64, fn func(h *protocol.BatchHeader, b []byte, pos int64) error) (int64, error) {
	f, err := s.file()
	if err != nil {
		return pos, err
	}
	defer f.release()
	// A buffer no larger than what there is to read: a broker of many
	// small partitions recovers each through a buffer of its own. And no
	// larger than 64 KiB: bufio reads a batch larger than its buffer
	// straight into buf, so that large batches are copied once, not twice.
	r := bufio.NewReaderSize(io.NewSectionReader(f, pos, end-pos), int(min(max(end-pos, 16), 64<<10)))
	var buf []byte
	prefix := make([]byte, protocol.LogOverhead)
	for {
		if _, err := io.ReadFull(r, prefix); err != nil {
			return pos, nil // end of file or a torn length prefix
		}
		length := int64(int32(binary.BigEndian.Uint32(prefix[8:])))
		if length < protocol.BatchHeaderSize-protocol.LogOverhead || pos+length+protocol.LogOverhead > end {
			return pos, nil
		}
		n := int(length) + protocol.LogOverhead
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		copy(buf, prefix)
		if _, err := io.ReadFull(r, buf[protocol.LogOverhead:]); err != nil {
			return pos, nil
		}
		h, err := protocol.ParseBatchHeader(buf)
		if err != nil || protocol.VerifyCRC(buf, &h) != nil {
			return pos, nil
		}
		if err := fn(&h, buf, pos); err != nil {
			return pos, err
		}
		pos += int64(n)
	}
}

// walkHeaders calls fn for the header of every batch from pos on, read in
// order through a buffer, with the whole batch for a control batch (nil
// for others). A batch that runs past the end ends the walk.
func (s *segment) walkHeaders(pos int64, fn func(h *protocol.BatchHeader, control []byte)) error {
	f, err := s.file()
	if err != nil {
		return err
	}
	defer f.release()
	r := bufio.NewReaderSize(io.NewSectionReader(f, pos, s.size-pos), 64<<10)
	for pos < s.size {
		head, err := r.Peek(protocol.BatchHeaderSize)
		if err != nil {
			return fmt.Errorf("%s at %d: %w", s.logPath(), pos, err)
		}
		h, err := protocol.DecodeHeader(head)
		if err != nil {
			return fmt.Errorf("%s at %d: %w", s.logPath(), pos, err)
		}
		var control []byte
		if h.IsControl() {
			control = make([]byte, h.Size())
			if _, err := io.ReadFull(r, control); err != nil {
				return fmt.Errorf("%s at %d: %w", s.logPath(), pos, err)
			}
		}
		fn(&h, control)
		pos += int64(h.Size())
		switch {
		case control != nil:
		case h.Size() <= r.Buffered():
			r.Discard(h.Size())
		default:
			// Seek past a batch the buffer does not hold rather than read
			// it: logs of large batches cost a read a batch, not all bytes.
			r.Reset(io.NewSectionReader(f, pos, max(s.size-pos, 0)))
		}
	}
	return nil
}

// recover rebuilds the segment's state by reading every batch, truncating a
// torn or corrupt tail. It returns the number of bytes cut off. Offsets
// must continue exactly from batch to batch unless gaps are allowed: in a
// compacted log the cleaner leaves them.
func (s *segment) recover(indexInterval int32, gaps bool) (int64, error) {
	f, err := s.file()
	if err != nil {
		return 0, err
	}
	defer f.release()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	s.ix, s.ixSaved, s.ixMaybeSaved, s.nextOffset, s.maxTs, s.bytesSinceIndex, s.size = &index{}, false, false, s.base, -1, 0, st.Size()
	s.recent = nil
	fileSize, expect := st.Size(), s.base
	end, err := s.scan(0, fileSize, func(h *protocol.BatchHeader, b []byte, pos int64) error {
		// Offsets are not covered by the CRC, so a stray batch that checks
		// out must still continue the offsets (exactly, where there can be
		// no gaps), and stay within the index's 32-bit relative offsets, to
		// count as written by us.
		if h.BaseOffset < expect || !gaps && h.BaseOffset != expect || h.LastOffset()-s.base > math.MaxInt32 {
			return errOffsetsBroken
		}
		s.track(h, pos, int64(len(b)), indexInterval)
		expect = h.LastOffset() + 1
		return nil
	})
	if errors.Is(err, errOffsetsBroken) {
		err = nil
	}
	if err != nil {
		return 0, err
	}
	cut := fileSize - end
	if cut > 0 {
		if err := f.Truncate(end); err != nil {
			return 0, err
		}
	}
	s.size = end
	return cut, nil
}

var errOffsetsBroken = errors.New("batch offsets do not continue the segment's")

// load settles a segment after a clean shutdown from its index files,
// reading only the batches after the last index entry. Anything that does
// not add up falls back to a full recover; rebuilt then says why. files is
// the directory's listing.
func (s *segment) load(indexInterval int32, gaps bool, files map[string]bool) (rebuilt, err error) {
	if s.size == 0 && files[filepath.Base(s.indexPath())] && files[filepath.Base(s.timeIndexPath())] {
		// An empty log has empty indexes: nothing to read or check, in
		// what may be most of a large broker's partitions.
		s.ix, s.ixSaved = &index{}, true
		return nil, nil
	}
	ix, err := readIndex(s.fs, s.indexPath(), s.timeIndexPath(), s.size)
	if err != nil {
		_, rerr := s.recover(indexInterval, gaps)
		return err, rerr
	}
	s.ix, s.ixSaved = ix, true
	pos := ix.lookup(math.MaxUint32)
	for pos < s.size {
		h, err := s.readHeader(pos)
		if err != nil || pos+int64(h.Size()) > s.size {
			_, rerr := s.recover(indexInterval, gaps)
			return fmt.Errorf("the index points at no whole batch at byte %d", pos), rerr
		}
		s.nextOffset = h.LastOffset() + 1
		pos += int64(h.Size())
	}
	if n := len(ix.offsets); n > 0 {
		s.bytesSinceIndex = s.size - int64(ix.offsets[n-1].pos)
	}
	if n := len(ix.times); n > 0 {
		s.maxTs, s.maxTsOffset = ix.times[n-1].ts, s.base+int64(ix.times[n-1].rel)
	}
	return nil, nil
}

// noteIndexFiles tells a segment recovery rebuilt whether the directory's
// listing holds its index files: then they may hold its indexes already,
// as they do for every segment that took no entry after they were
// written. An empty segment's are never read (load), so that they exist
// is enough, in what may be most of a large broker's partitions.
func (s *segment) noteIndexFiles(files map[string]bool) {
	if files[filepath.Base(s.indexPath())] && files[filepath.Base(s.timeIndexPath())] {
		s.ixSaved, s.ixMaybeSaved = s.size == 0, s.size > 0
	}
}

// truncateTo removes every batch holding offsets at or past offset.
func (s *segment) truncateTo(offset int64, indexInterval int32, gaps bool) error {
	pos, found, err := s.find(offset)
	if err != nil || !found {
		return err
	}
	f, err := s.file()
	if err != nil {
		return err
	}
	defer f.release()
	if err := f.Truncate(pos); err != nil {
		return err
	}
	for len(s.txns) > 0 && s.txns[len(s.txns)-1].LastOffset >= offset {
		s.txns = s.txns[:len(s.txns)-1]
	}
	_, err = s.recover(indexInterval, gaps)
	return err
}

// seal makes the segment durable once it stops being the active one: the
// data is synced and the indexes written, so recovery can skip it.
func (s *segment) seal() error {
	s.recent = nil
	f, err := s.file()
	if err != nil {
		return err
	}
	defer f.release()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", s.logPath(), err)
	}
	return s.saveIndexes()
}

// saveIndexes writes the indexes where the files do not hold them yet.
func (s *segment) saveIndexes() error {
	if !s.ixSaved && !(s.ixMaybeSaved && s.ix.holds(s.fs, s.indexPath(), s.timeIndexPath())) {
		if err := s.ix.write(s.fs, s.indexPath(), s.timeIndexPath()); err != nil {
			return err
		}
	}
	s.ixSaved, s.ixMaybeSaved = true, false
	return s.writeTxnIndex()
}

// close closes the segment's file for good.
func (s *segment) close() error { return s.cache.retire(s) }

func (s *segment) files() []string {
	return []string{s.logPath(), s.indexPath(), s.timeIndexPath(), s.txnIndexPath()}
}

// remove deletes the segment's files.
func (s *segment) remove() error {
	s.close()
	var errs []error
	for _, p := range s.files() {
		if err := s.fs.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deletedSuffix marks the files of a segment that retention removed,
// kept for file.delete.delay.ms as Kafka keeps them.
const deletedSuffix = ".deleted"

// markDeleted closes the segment and renames its files with deletedSuffix,
// returning the new paths.
func (s *segment) markDeleted() ([]string, error) {
	s.close()
	var out []string
	var errs []error
	for _, p := range s.files() {
		switch err := s.fs.Rename(p, p+deletedSuffix); {
		case err == nil:
			out = append(out, p+deletedSuffix)
		case !os.IsNotExist(err):
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}
