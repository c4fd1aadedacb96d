package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Record batch v2 layout (all big-endian):
//
//	0  baseOffset            int64
//	8  batchLength           int32   bytes after this field
//	12 partitionLeaderEpoch  int32
//	16 magic                 int8    (2)
//	17 crc                   uint32  CRC32C of bytes [21, end)
//	21 attributes            int16
//	23 lastOffsetDelta       int32
//	27 baseTimestamp         int64
//	35 maxTimestamp          int64
//	43 producerId            int64
//	51 producerEpoch         int16
//	53 baseSequence          int32
//	57 recordCount           int32
//	61 records…
//
// baseOffset and partitionLeaderEpoch sit before the CRC'd range, which is why
// a broker can assign them without recomputing the checksum.
const (
	BatchHeaderSize = 61
	// LogOverhead is the part of a batch not counted by batchLength.
	LogOverhead = 12
	crcStart    = 21
)

// Batch attribute bits.
const (
	AttrCompressionMask = 0x07
	AttrTimestampType   = 0x08 // 1 = LogAppendTime
	AttrTransactional   = 0x10
	AttrControl         = 0x20
)

// Compression codecs in the low attribute bits.
const (
	CompressionNone   = 0
	CompressionGzip   = 1
	CompressionSnappy = 2
	CompressionLZ4    = 3
	CompressionZstd   = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BatchHeader is the fixed header of a v2 record batch.
type BatchHeader struct {
	BaseOffset           int64
	Length               int32 // batchLength: bytes after the length field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// Size is the whole batch on the wire and on disk, header included.
func (h *BatchHeader) Size() int { return int(h.Length) + LogOverhead }

// LastOffset is the offset of the last record, once a base offset is assigned.
func (h *BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// LastSequence is the sequence of the last record, wrapping at MaxInt32 as
// Kafka's producers do.
func (h *BatchHeader) LastSequence() int32 {
	if h.BaseSequence < 0 {
		return -1
	}
	return int32((int64(h.BaseSequence) + int64(h.LastOffsetDelta)) % (1 << 31))
}

func (h *BatchHeader) Compression() int      { return int(h.Attributes & AttrCompressionMask) }
func (h *BatchHeader) IsTransactional() bool { return h.Attributes&AttrTransactional != 0 }
func (h *BatchHeader) IsControl() bool       { return h.Attributes&AttrControl != 0 }
func (h *BatchHeader) HasProducerID() bool   { return h.ProducerID >= 0 }

// Errors returned by batch parsing. They carry Kafka codes so that a handler
// can put them on the wire directly.
var (
	ErrCorruptBatch = &Error{Code: CorruptMessage, Msg: "corrupt record batch"}
	ErrBadMagic     = &Error{Code: UnsupportedForMessageFormat, Msg: "record batch magic is not 2"}
)

// ParseBatchHeader decodes the header at the start of b. It checks that the
// declared length is sane and that b holds the whole batch; it does not
// check the CRC (see VerifyCRC).
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	h, err := DecodeHeader(b)
	if err == nil && int64(h.Length)+LogOverhead > int64(len(b)) {
		err = fmt.Errorf("%w: batch length %d with %d bytes present", ErrCorruptBatch, h.Length, len(b))
	}
	return h, err
}

// DecodeHeader decodes the fixed header at the start of b without requiring
// the records that follow, for readers that look at headers only (a log
// seeking to an offset).
func DecodeHeader(b []byte) (BatchHeader, error) {
	var h BatchHeader
	if len(b) < BatchHeaderSize {
		return h, fmt.Errorf("%w: %d bytes, header needs %d", ErrCorruptBatch, len(b), BatchHeaderSize)
	}
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[0:]))
	h.Length = int32(binary.BigEndian.Uint32(b[8:]))
	h.PartitionLeaderEpoch = int32(binary.BigEndian.Uint32(b[12:]))
	h.Magic = int8(b[16])
	if h.Magic != 2 {
		return h, fmt.Errorf("%w: magic %d", ErrBadMagic, h.Magic)
	}
	if h.Length < BatchHeaderSize-LogOverhead {
		return h, fmt.Errorf("%w: batch length %d is shorter than a header", ErrCorruptBatch, h.Length)
	}
	h.CRC = binary.BigEndian.Uint32(b[17:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[21:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[23:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[27:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[35:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[43:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[51:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[53:]))
	h.NumRecords = int32(binary.BigEndian.Uint32(b[57:]))
	if h.LastOffsetDelta < 0 || h.NumRecords < 0 {
		return h, fmt.Errorf("%w: last offset delta %d, record count %d", ErrCorruptBatch, h.LastOffsetDelta, h.NumRecords)
	}
	return h, nil
}

// VerifyCRC checks the CRC32C of one whole batch (b holds exactly the batch).
func VerifyCRC(b []byte, h *BatchHeader) error {
	if got := crc32.Checksum(b[crcStart:h.Size()], castagnoli); got != h.CRC {
		return fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptBatch, h.CRC, got)
	}
	return nil
}

// SetBaseOffset rewrites the base offset of the batch at the start of b.
func SetBaseOffset(b []byte, offset int64) { binary.BigEndian.PutUint64(b[0:], uint64(offset)) }

// SetPartitionLeaderEpoch rewrites the leader epoch of the batch at b.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[12:], uint32(epoch))
}

// SetLogAppendTime stamps the batch with LogAppendTime semantics: the
// timestamp-type attribute bit and maxTimestamp = ts. It recomputes the CRC,
// since both fields are inside the checksummed range.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[21:]) | AttrTimestampType
	binary.BigEndian.PutUint16(b[21:], attrs)
	binary.BigEndian.PutUint64(b[35:], uint64(ts))
	size := int(int32(binary.BigEndian.Uint32(b[8:]))) + LogOverhead
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[crcStart:size], castagnoli))
}

// ErrIncompleteBatch is returned by NextBatch when b ends inside a batch,
// which is normal at the end of a fetch response or a torn log tail.
var ErrIncompleteBatch = errors.New("incomplete record batch")

// NextBatch parses the batch at the start of b and returns its header, its
// bytes and the rest of b. Callers loop while len(rest) > 0. A batch cut
// short by the end of b gives ErrIncompleteBatch; a malformed one gives an
// error wrapping ErrCorruptBatch or ErrBadMagic.
func NextBatch(b []byte) (BatchHeader, []byte, []byte, error) {
	if len(b) < LogOverhead {
		return BatchHeader{}, nil, b, ErrIncompleteBatch
	}
	// A length too small for a header is corrupt however few bytes follow
	// it; only a plausible length can make the batch merely incomplete.
	length := int32(binary.BigEndian.Uint32(b[8:]))
	if length >= BatchHeaderSize-LogOverhead && int64(length)+LogOverhead > int64(len(b)) {
		return BatchHeader{}, nil, b, ErrIncompleteBatch
	}
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, nil, b, err
	}
	return h, b[:h.Size()], b[h.Size():], nil
}
