package protocol

import (
	"bytes"
	"compress/gzip"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Recompress returns a v2 batch holding the records of batch compressed
// with codec (a Compression constant) at level, as Kafka's LogValidator
// rewrites a producer's batch when the topic's compression.type differs
// from the batch's codec: the header fields are kept, the compression
// attribute and the CRC are new. batch must have passed ValidateBatch. A
// batch already in codec is returned as it is, without a copy. Level is
// the topic's compression.<codec>.level; gzip's -1 and any level out of a
// codec's range mean its default.
func Recompress(batch []byte, codec, level int) ([]byte, error) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return nil, err
	}
	if h.Compression() == codec {
		return batch, nil
	}
	records := batch[BatchHeaderSize:]
	if h.Compression() != CompressionNone {
		if records, err = decompress(nil, h.Compression(), records, DefaultMaxDecompressed); err != nil {
			return nil, Errorf(CorruptMessage, "%v", err)
		}
	}
	body, err := compress(codec, level, records)
	if err != nil {
		return nil, err
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil {
		return nil, err
	}
	rb.Attributes = rb.Attributes&^AttrCompressionMask | int16(codec)
	return encodeBatch(rb, int(h.NumRecords), body), nil
}

// compress compresses the records section of a batch as Kafka's clients
// do: gzip, a raw snappy block, an lz4 frame, a zstd frame.
func compress(codec, level int, records []byte) ([]byte, error) {
	switch codec {
	case CompressionNone:
		return records, nil
	case CompressionGzip:
		if level < gzip.BestSpeed || level > gzip.BestCompression {
			level = gzip.DefaultCompression
		}
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, level) // the level is valid
		w.Write(records)
		err := w.Close()
		return buf.Bytes(), err
	case CompressionSnappy:
		return s2.EncodeSnappy(nil, records), nil
	case CompressionLZ4:
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if err := w.Apply(lz4.CompressionLevelOption(lz4Level(level))); err != nil {
			return nil, err
		}
		if _, err := w.Write(records); err != nil {
			return nil, err
		}
		err := w.Close()
		return buf.Bytes(), err
	case CompressionZstd:
		return zstdEncoder(level).EncodeAll(records, nil), nil
	}
	return nil, Errorf(UnsupportedCompressionType, "unknown compression codec %d", codec)
}

// lz4Level maps Kafka's lz4 levels (1 to 17, the lz4 library's) onto the
// Go library's nine: 1 and 2 are its fast mode, 9 and up its strongest.
func lz4Level(level int) lz4.CompressionLevel {
	if level < 3 {
		return lz4.Fast
	}
	return lz4.CompressionLevel(1 << (8 + min(level, 9)))
}

// zstdEncoders holds one encoder per level of the Go library (there are
// four): EncodeAll may be called concurrently, and an encoder is costly
// to build.
var zstdEncoders sync.Map

func zstdEncoder(level int) *zstd.Encoder {
	l := zstd.EncoderLevelFromZstd(level)
	if e, ok := zstdEncoders.Load(l); ok {
		return e.(*zstd.Encoder)
	}
	e, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(l))
	actual, _ := zstdEncoders.LoadOrStore(l, e)
	return actual.(*zstd.Encoder)
}
