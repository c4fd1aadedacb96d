package log

import (
	"sort"

	"github.com/gokafka/gokafka/protocol"
)

// ReadResult is a run of whole record batches, exactly as stored.
type ReadResult struct {
	Records []byte
}

// Read returns whole batches starting with the one that holds offset, up to
// maxBytes, and only batches that end below maxOffset (the high watermark
// for consumers). With minOneBatch the first batch is returned even if it
// is larger than maxBytes, so a consumer can always make progress. Reading
// at or past maxOffset, up to the log end, is not an error: it returns
// nothing.
func (l *Log) Read(offset int64, maxBytes int32, maxOffset int64, minOneBatch bool) (ReadResult, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, pos, err := l.batchAt(offset, maxOffset)
	if s == nil || err != nil {
		return ReadResult{}, err
	}
	b, read, err := s.readBatches(pos, s.endBefore(maxOffset), maxBytes, maxOffset, minOneBatch)
	l.countRead(read)
	return ReadResult{Records: b}, err
}

// batchAt finds, under l.mu, the segment and file position of the batch
// that holds offset, for Read and ReadSlice: OFFSET_OUT_OF_RANGE outside
// the log, and no segment when nothing lies below maxOffset.
func (l *Log) batchAt(offset, maxOffset int64) (*segment, int64, error) {
	if offset < l.logStartOffset || offset > l.logEndOffset() {
		return nil, 0, protocol.Errorf(protocol.OffsetOutOfRange,
			"%s: offset %d is outside [%d, %d]", l.tp, offset, l.logStartOffset, l.logEndOffset())
	}
	if offset >= maxOffset {
		return nil, 0, nil
	}
	for i := l.segmentFor(offset); i < len(l.segments); i++ {
		s := l.segments[i]
		pos, found, read, err := s.locate(offset)
		l.countRead(read)
		if err != nil || found {
			return s, pos, err
		}
	}
	return nil, 0, nil
}

// segmentFor returns the index of the segment that would hold offset.
func (l *Log) segmentFor(offset int64) int {
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].base > offset })
	return max(i-1, 0)
}

// endBefore bounds a read that must stop below maxOffset: where the
// batch before maxOffset ends when the segment remembers it (a high
// watermark a few batches behind the log end), else the segment's end.
func (s *segment) endBefore(maxOffset int64) int64 {
	if s.recent != nil && maxOffset < s.nextOffset {
		if pos, ok := s.recent.lookup(maxOffset); ok {
			return pos
		}
	}
	return s.size
}

// readBatches reads whole batches from pos: one read of up to maxBytes
// (and not past end), cut back to the last whole batch that ends below
// maxOffset. A first batch larger than maxBytes, returned whole with
// minOneBatch, costs one more read of its remainder. It returns the bytes
// it read from the file.
func (s *segment) readBatches(pos, end int64, maxBytes int32, maxOffset int64, minOneBatch bool) ([]byte, int64, error) {
	f, err := s.file()
	if err != nil {
		return nil, 0, err
	}
	defer f.release()
	buf := make([]byte, max(min(int64(max(maxBytes, 0)), end-pos), 0))
	if _, err := f.ReadAt(buf, pos); err != nil {
		return nil, int64(len(buf)), err
	}
	read, n := int64(len(buf)), 0
	for n+protocol.BatchHeaderSize <= len(buf) {
		h, err := protocol.DecodeHeader(buf[n:])
		if err != nil || h.LastOffset() >= maxOffset || n+h.Size() > len(buf) {
			break
		}
		n += h.Size()
	}
	if n > 0 || !minOneBatch {
		return buf[:n], read, nil
	}
	var h protocol.BatchHeader
	if len(buf) >= protocol.BatchHeaderSize {
		h, err = protocol.DecodeHeader(buf)
	} else {
		h, err = s.readHeader(pos)
		read += protocol.BatchHeaderSize
	}
	if err != nil || h.LastOffset() >= maxOffset {
		return nil, read, err
	}
	whole := make([]byte, h.Size())
	have := copy(whole, buf)
	_, err = f.ReadAt(whole[have:], pos+int64(have))
	return whole, read + int64(len(whole)-have), err
}

// FindOffsetByTimestamp returns the first record whose timestamp is at or
// after ts, as ListOffsets does: its offset and its timestamp.
func (l *Log) FindOffsetByTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, s := range l.segments {
		if s.maxTs < ts {
			continue
		}
		rel, _ := s.ix.lookupTime(ts)
		pos := s.ix.lookup(rel)
		for pos < s.size {
			b, h, err := s.readBatch(pos)
			if err != nil {
				return -1, -1, false, err
			}
			pos += int64(h.Size())
			if h.MaxTimestamp < ts || h.BaseOffset < l.logStartOffset && h.LastOffset() < l.logStartOffset {
				continue
			}
			offset, timestamp = -1, -1
			err = protocol.RecordTimestamps(b, &h, func(delta int32, rts int64) bool {
				if rts >= ts && h.BaseOffset+int64(delta) >= l.logStartOffset {
					offset, timestamp = h.BaseOffset+int64(delta), rts
					return false
				}
				return true
			})
			if err != nil {
				l.logUnreadable("timestamp lookup", &h, err)
				continue
			}
			if offset >= 0 {
				return offset, timestamp, true, nil
			}
		}
	}
	return -1, -1, false, nil
}

// MaxTimestamp returns the record with the largest timestamp (ListOffsets
// MAX_TIMESTAMP), or -1, -1 for an empty log.
func (l *Log) MaxTimestamp() (offset, timestamp int64, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var best *segment
	for _, s := range l.segments {
		if s.maxTs >= 0 && (best == nil || s.maxTs > best.maxTs) {
			best = s
		}
	}
	if best == nil {
		return -1, -1, nil
	}
	pos, found, err := best.find(best.maxTsOffset)
	if err != nil || !found {
		return best.maxTsOffset, best.maxTs, err
	}
	b, h, err := best.readBatch(pos)
	if err != nil {
		return -1, -1, err
	}
	offset = h.LastOffset()
	err = protocol.RecordTimestamps(b, &h, func(delta int32, ts int64) bool {
		if ts == best.maxTs {
			offset = h.BaseOffset + int64(delta)
			return false
		}
		return true
	})
	if err != nil {
		l.logUnreadable("max timestamp lookup", &h, err)
		offset = best.maxTsOffset
	}
	return offset, best.maxTs, nil
}

// logUnreadable reports a stored batch whose records cannot be walked; the
// lookup goes on without it.
func (l *Log) logUnreadable(what string, h *protocol.BatchHeader, err error) {
	l.logger.Error(what+" skips a batch it cannot read", "partition", l.tp.String(), "offset", h.BaseOffset, "err", err)
}

func (s *segment) readBatch(pos int64) ([]byte, protocol.BatchHeader, error) {
	h, err := s.readHeader(pos)
	if err != nil {
		return nil, h, err
	}
	f, err := s.file()
	if err != nil {
		return nil, h, err
	}
	defer f.release()
	b := make([]byte, h.Size())
	_, err = f.ReadAt(b, pos)
	return b, h, err
}
