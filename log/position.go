package log

// Position locates a batch boundary in the log without reading records:
// the segment that holds it (by base offset) and the byte position there.
// A parked fetch counts the bytes between two positions, as Kafka's
// DelayedFetch does with LogOffsetMetadata.
type Position struct {
	Segment int64 // base offset of the segment
	Bytes   int64 // position in that segment's .log
}

// BytesTo is how many bytes lie from p up to q when both are in one
// segment; ok is false when they are not (a roll, retention or a
// truncation came between), which a caller cannot count without reading.
func (p Position) BytesTo(q Position) (n int64, ok bool) {
	if p.Segment != q.Segment {
		return 0, false
	}
	return max(q.Bytes-p.Bytes, 0), true
}

// recentEnds is how many batch ends the active segment remembers: a high
// watermark or last stable offset a few batches behind the log end is
// found among them without a read.
const recentEnds = 8

// batchEnd is where one appended batch ends: the offset after it and the
// position after it.
type batchEnd struct{ offset, pos int64 }

// endRing holds the ends of the last batches appended to a segment.
type endRing struct {
	ends [recentEnds]batchEnd
	next int
}

func (r *endRing) add(offset, pos int64) {
	r.ends[r.next%recentEnds] = batchEnd{offset, pos}
	r.next++
}

// lookup returns the position where a remembered batch ends at offset.
func (r *endRing) lookup(offset int64) (int64, bool) {
	for i := range min(r.next, recentEnds) {
		if e := r.ends[i]; e.offset == offset {
			return e.pos, true
		}
	}
	return 0, false
}

// PositionOf returns where the batch holding offset begins: for a batch
// boundary (a high watermark, a last stable offset, the log end) where
// the batch before it ends; past the log end, the log end. The log end
// and the last batches appended are known in memory; other offsets cost
// an index lookup and a walk over batch headers, counted as reads.
func (l *Log) PositionOf(offset int64) (Position, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s := l.segments[l.segmentFor(offset)]
	pos, _, read, err := s.locate(offset)
	l.countRead(read)
	return Position{s.base, pos}, err
}

// countRead adds n bytes read from segment files to the manager's count.
func (l *Log) countRead(n int64) {
	if l.readBytes != nil {
		l.readBytes.Add(n)
	}
}
