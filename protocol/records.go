package protocol

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The broker stores batches as received and never re-encodes them; it looks
// inside a stored batch only to answer a timestamp lookup (ListOffsets), to
// compact, and to replay __consumer_offsets. Batches on disk may predate
// validation on append, so these readers trust nothing either: every walk
// is bounded by the bytes present (walkRecords) and every inflation by
// maxDecompressed, never by a count or size the batch claims.

// maxDecompressed bounds what one batch may inflate to.
const maxDecompressed = 64 << 20

// RecordTimestamps calls fn with the offset delta and timestamp of each
// record of batch b, in order, until fn returns false. With LogAppendTime
// every record carries the batch's max timestamp, as Kafka defines.
func RecordTimestamps(b []byte, h *BatchHeader, fn func(offsetDelta int32, ts int64) bool) error {
	body := b[BatchHeaderSize:h.Size()]
	if h.Compression() != CompressionNone {
		buf := getBuffer()
		defer putBuffer(buf)
		var err error
		if *buf, err = decompress((*buf)[:0], h.Compression(), body, maxDecompressed); err != nil {
			return fmt.Errorf("%w: %v", ErrCorruptBatch, err)
		}
		body = *buf
	}
	logAppend := h.Attributes&AttrTimestampType != 0
	err := walkRecords(body, h.NumRecords, func(r RecordView) bool {
		ts := h.BaseTimestamp + r.TimestampDelta
		if logAppend {
			ts = h.MaxTimestamp
		}
		return fn(r.OffsetDelta, ts)
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptBatch, err)
	}
	return nil
}

// EachRecord checks that the records of a stored batch match its header,
// then calls fn with each in order, as a view into the batch (or into its
// inflated records, which fn may keep). Stored batches include the
// cleaner's output, whose offset deltas have gaps: they must rise within
// [0, lastOffsetDelta], and the count must be the records present. A batch
// that breaks this is refused as a whole, before fn sees any record.
func EachRecord(batch []byte, fn func(r RecordView)) error {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return err
	}
	body, err := decompress(nil, h.Compression(), batch[BatchHeaderSize:h.Size()], maxDecompressed)
	if err != nil {
		return Errorf(CorruptMessage, "%v", err)
	}
	prev, ok := int32(-1), true
	err = walkRecords(body, h.NumRecords, func(r RecordView) bool {
		ok = r.OffsetDelta > prev && r.OffsetDelta <= h.LastOffsetDelta
		prev = r.OffsetDelta
		return ok
	})
	if err == nil && !ok {
		err = fmt.Errorf("offset delta %d out of order or past the last offset delta %d", prev, h.LastOffsetDelta)
	}
	if err != nil {
		return Errorf(CorruptMessage, "%v", err)
	}
	return walkRecords(body, h.NumRecords, func(r RecordView) bool { fn(r); return true })
}

// Records decodes the records of a stored batch (see EachRecord).
func Records(batch []byte) ([]kmsg.Record, error) {
	var out []kmsg.Record
	var err error
	eachErr := EachRecord(batch, func(v RecordView) {
		var r kmsg.Record
		if err == nil {
			if err = r.ReadFrom(v.Raw); err == nil {
				out = append(out, r)
			}
		}
	})
	if eachErr != nil {
		return nil, eachErr
	}
	if err != nil {
		return nil, Errorf(CorruptMessage, "record %d of the batch: %v", len(out), err)
	}
	return out, nil
}

// buffers holds inflation buffers; big ones are dropped rather than kept,
// so that one large batch does not pin its memory.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuffer = 1 << 20

func getBuffer() *[]byte { return buffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		buffers.Put(b)
	}
}

// xerialMagic starts snappy data framed the way Kafka's Java client writes
// it; other clients send a raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// snappyMaxRatio is the most a snappy block can expand: a 3-byte copy
// yields at most 64 bytes. A block claiming more is corrupt, whatever the
// limit, so a small block never books a large buffer.
const snappyMaxRatio = 22

var zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
	d, _ := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxDecompressed), zstd.WithDecoderMaxWindow(maxDecompressed))
	return d
})

var (
	gzipReaders sync.Pool
	lz4Readers  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
)

// decompress appends the inflated records section of a batch compressed
// with codec to dst, failing once more than limit bytes come out.
func decompress(dst []byte, codec int, b []byte, limit int) ([]byte, error) {
	var err error
	switch codec {
	case CompressionNone:
		return b, nil
	case CompressionGzip:
		dst, err = gunzip(dst, b, limit)
	case CompressionSnappy:
		dst, err = unsnappy(dst, b, limit)
	case CompressionLZ4:
		r := lz4Readers.Get().(*lz4.Reader)
		r.Reset(bytes.NewReader(b))
		dst, err = readBounded(dst, r, limit)
		lz4Readers.Put(r)
	case CompressionZstd:
		dst, err = unzstd(dst, b, limit)
	default:
		return nil, fmt.Errorf("unknown compression codec %d", codec)
	}
	if err != nil {
		return nil, fmt.Errorf("decompressing codec %d: %v", codec, err)
	}
	return dst, nil
}

func gunzip(dst, b []byte, limit int) ([]byte, error) {
	r, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if r == nil {
		r, err = gzip.NewReader(bytes.NewReader(b))
	} else {
		err = r.Reset(bytes.NewReader(b))
	}
	if err != nil {
		return nil, err
	}
	defer gzipReaders.Put(r)
	return readBounded(dst, r, limit)
}

var errOverLimit = errors.New("decompressed size over limit")

func unzstd(dst, b []byte, limit int) ([]byte, error) {
	// A frame declaring its size is checked before anything is booked for
	// it; the decoder's own bound covers frames that do not.
	var hdr zstd.Header
	if err := hdr.Decode(b); err == nil && hdr.HasFCS && hdr.FrameContentSize > uint64(limit) {
		return nil, errOverLimit
	}
	out, err := zstdDecoder().DecodeAll(b, dst)
	if err == nil && len(out) > limit {
		err = errOverLimit
	}
	return out, err
}

func unsnappy(dst, b []byte, limit int) ([]byte, error) {
	if !bytes.HasPrefix(b, xerialMagic) {
		return unsnappyBlock(dst, b, limit)
	}
	// Xerial framing: 8-byte magic, two 4-byte version fields, then
	// length-prefixed snappy blocks.
	if len(b) < 16 {
		return nil, errors.New("truncated xerial header")
	}
	for b = b[16:]; len(b) > 0; {
		if len(b) < 4 {
			return nil, errors.New("truncated xerial block length")
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return nil, errors.New("truncated xerial block")
		}
		var err error
		if dst, err = unsnappyBlock(dst, b[4:4+n], limit); err != nil {
			return nil, err
		}
		b = b[4+n:]
	}
	return dst, nil
}

// unsnappyBlock appends one decoded snappy block to dst, checking the
// length the block declares before making room for it.
func unsnappyBlock(dst, b []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(b)
	switch {
	case err != nil:
		return nil, err
	case n > limit-len(dst):
		return nil, errOverLimit
	case n > snappyMaxRatio*len(b):
		return nil, fmt.Errorf("block of %d bytes claims %d decoded", len(b), n)
	}
	start := len(dst)
	dst = grow(dst, n)
	if _, err := s2.Decode(dst[start:start+n], b); err != nil {
		return nil, err
	}
	return dst[:start+n], nil
}

// grow returns dst with room for n more bytes.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	return append(dst, make([]byte, n)...)[:len(dst)]
}

// readBounded appends what r yields to dst, growing as bytes arrive, and
// fails once more than limit bytes have come.
func readBounded(dst []byte, r io.Reader, limit int) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = grow(dst, min(max(cap(dst), 4096), limit+1-(len(dst)-start)))
		}
		n, err := r.Read(dst[len(dst):min(cap(dst), start+limit+1)])
		dst = dst[:len(dst)+n]
		switch {
		case len(dst)-start > limit:
			return nil, errOverLimit
		case err == io.EOF:
			return dst, nil
		case err != nil:
			return nil, err
		}
	}
}
