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
)

// The broker stores batches as received and never re-encodes them; it looks
// inside a batch only to answer a timestamp lookup (ListOffsets), which needs
// each record's timestamp. These helpers decode just that much.

// maxDecompressed bounds what one batch may inflate to, so a hostile batch
// cannot make a lookup allocate without limit.
const maxDecompressed = 64 << 20

// RecordTimestamps calls fn with the offset delta and timestamp of each
// record of batch b, in order, until fn returns false. With LogAppendTime
// every record carries the batch's max timestamp, as Kafka defines.
func RecordTimestamps(b []byte, h *BatchHeader, fn func(offsetDelta int32, ts int64) bool) error {
	records, err := Decompress(h.Compression(), b[BatchHeaderSize:h.Size()])
	if err != nil {
		return err
	}
	logAppend := h.Attributes&AttrTimestampType != 0
	for i := int32(0); i < h.NumRecords && len(records) > 0; i++ {
		length, n := binary.Varint(records)
		if n <= 0 || length < 0 || int64(len(records)-n) < length {
			return fmt.Errorf("%w: record %d length", ErrCorruptBatch, i)
		}
		rec := records[n : n+int(length)]
		records = records[n+int(length):]
		if len(rec) < 1 {
			return fmt.Errorf("%w: record %d is empty", ErrCorruptBatch, i)
		}
		tsDelta, n1 := binary.Varint(rec[1:])
		if n1 <= 0 {
			return fmt.Errorf("%w: record %d timestamp", ErrCorruptBatch, i)
		}
		offDelta, n2 := binary.Varint(rec[1+n1:])
		if n2 <= 0 {
			return fmt.Errorf("%w: record %d offset delta", ErrCorruptBatch, i)
		}
		ts := h.BaseTimestamp + tsDelta
		if logAppend {
			ts = h.MaxTimestamp
		}
		if !fn(int32(offDelta), ts) {
			return nil
		}
	}
	return nil
}

// xerialMagic starts snappy data framed the way Kafka's Java client writes
// it; other clients send a raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

var zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
	d, _ := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxDecompressed), zstd.WithDecoderConcurrency(1))
	return d
})

// Decompress inflates the records section of a batch compressed with codec.
func Decompress(codec int, b []byte) ([]byte, error) {
	var out []byte
	var err error
	switch codec {
	case CompressionNone:
		return b, nil
	case CompressionGzip:
		var r *gzip.Reader
		if r, err = gzip.NewReader(bytes.NewReader(b)); err == nil {
			out, err = readBounded(r)
		}
	case CompressionSnappy:
		out, err = unsnappy(b)
	case CompressionLZ4:
		out, err = readBounded(lz4.NewReader(bytes.NewReader(b)))
	case CompressionZstd:
		out, err = zstdDecoder().DecodeAll(b, nil)
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptBatch, codec)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: decompressing codec %d: %v", ErrCorruptBatch, codec, err)
	}
	return out, nil
}

func unsnappy(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, xerialMagic) {
		return s2.Decode(nil, b)
	}
	// Xerial framing: 8-byte magic, two 4-byte version fields, then
	// length-prefixed snappy blocks.
	b = b[16:]
	var out []byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errors.New("truncated xerial block length")
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return nil, errors.New("truncated xerial block")
		}
		block, err := s2.Decode(nil, b[4:4+n])
		if err != nil {
			return nil, err
		}
		if out = append(out, block...); len(out) > maxDecompressed {
			return nil, errors.New("decompressed size over limit")
		}
		b = b[4+n:]
	}
	return out, nil
}

func readBounded(r io.Reader) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, maxDecompressed+1))
	if err == nil && len(out) > maxDecompressed {
		err = errors.New("decompressed size over limit")
	}
	return out, err
}
