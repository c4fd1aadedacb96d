package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
)

// ErrFrameTooLarge reports a size prefix above the allowed maximum. The
// caller must close the connection: the stream cannot be resynchronised.
var ErrFrameTooLarge = errors.New("frame larger than socket.request.max.bytes")

// frameChunk is the first buffer a frame body gets; it doubles as bytes
// arrive, so a peer that announces a large frame and sends little of it
// costs at most twice what it sent, or this much. 1 MiB holds a client's
// whole produce request (Kafka clients' batches are 1 MiB at most by
// default) in one allocation: starting at 64 KiB, every 1 MiB produce was
// read into five buffers and copied four times, which cost a 1 KiB-record
// producer ~7% of its throughput here (medians of two runs each of
// gokafka producer-perf-test, 1.5M records: 263k vs 282k records/s).
const frameChunk = 1 << 20

// ReadFrame reads one size-prefixed frame from r: ReadFrameSize, then
// ReadFrameBody.
func ReadFrame(r io.Reader, max int32, buf []byte) ([]byte, error) {
	size, err := ReadFrameSize(r, max)
	if err != nil {
		return nil, err
	}
	return ReadFrameBody(r, size, buf)
}

// ReadFrameSize reads a frame's 4-byte size prefix and checks it against max
// and against the smallest possible request header. A caller that books
// memory for requests does so between this and ReadFrameBody.
func ReadFrameSize(r io.Reader, max int32) (int32, error) {
	var sizeBuf [4]byte
	if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
		return 0, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 || size > max {
		return 0, fmt.Errorf("%w: size %d, max %d", ErrFrameTooLarge, size, max)
	}
	if size < 8 { // api key, api version, correlation id
		return 0, fmt.Errorf("frame of %d bytes is shorter than a request header", size)
	}
	return size, nil
}

// ReadFrameBody reads the size bytes of a frame whose prefix was read. buf
// is reused when it is large enough, else a recycled buffer (RecycleFrame)
// is; otherwise the buffer grows as bytes arrive and is never allocated at
// the claimed size up front.
func ReadFrameBody(r io.Reader, size int32, buf []byte) ([]byte, error) {
	if int(size) > cap(buf) {
		buf = recycledFrame(int(size))
	}
	if int(size) <= cap(buf) {
		buf = buf[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, frameBodyError(size, err)
		}
		return buf, nil
	}
	// The last growth stops at the pool's class for size, not at size, so
	// that the buffer fits the next frame of this size once recycled.
	limit := frameClassCap(int(size))
	buf = make([]byte, 0, min(limit, frameChunk))
	for len(buf) < int(size) {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(limit, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		n, err := io.ReadFull(r, buf[len(buf):min(cap(buf), int(size))])
		buf = buf[:len(buf)+n]
		if err != nil {
			return nil, frameBodyError(size, err)
		}
	}
	return buf, nil
}

// Frames whose capacity is a power of two from 4 KiB to 64 MiB are
// recycled, one pool per power: a producer's requests are mostly alike in
// size, and reading each into a fresh buffer cost zeroing it and, past
// frameChunk, copying it once per doubling (6 GB allocated for 2.5 GB of
// 1 KiB records, 10% of the broker's CPU in memclr). Smaller frames are
// cheap to allocate; larger ones are rare and left to the collector.
const (
	minFrameClass = 12
	maxFrameClass = 26
)

var framePools [maxFrameClass - minFrameClass + 1]sync.Pool // of *[]byte

// frameClass is the pool for a size-byte frame: 1<<c is the smallest power
// of two that holds it. ok is false for sizes that are not pooled.
func frameClass(size int) (c int, ok bool) {
	c = bits.Len(uint(size - 1))
	return c, c >= minFrameClass && c <= maxFrameClass
}

// frameClassCap is the capacity ReadFrameBody gives a size-byte frame it
// allocates: the smallest pooled power of two that holds it, or size.
func frameClassCap(size int) int {
	if c, ok := frameClass(size); ok {
		return 1 << c
	}
	return size
}

// recycledFrame returns a recycled buffer with room for size bytes, or nil.
func recycledFrame(size int) []byte {
	c, ok := frameClass(size)
	if !ok {
		return nil
	}
	if p, _ := framePools[c-minFrameClass].Get().(*[]byte); p != nil {
		return *p
	}
	return nil
}

// RecycleFrame hands the body of a handled frame back to ReadFrameBody.
// Only a request whose handler keeps no slice of its frame once it has
// returned may be recycled: the records of a Produce are written to the
// log (or recompressed into a buffer of their own) before its handler
// returns, while kmsg leaves every bytes field of a request aliasing the
// frame (JoinGroup metadata, SASL tokens) for its handler to keep.
func RecycleFrame(frame []byte) {
	c := bits.Len(uint(cap(frame))) - 1 // every buffer in pool c holds 1<<c bytes
	if c < minFrameClass || c > maxFrameClass {
		return
	}
	frame = frame[:0]
	framePools[c-minFrameClass].Put(&frame)
}

// frameBodyError wraps a failed body read. EOF right after a size prefix
// is a frame cut short, not the clean close between frames that a bare
// io.EOF tells the caller.
func frameBodyError(size int32, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d-byte frame: %w", size, err)
}

// AppendFrameSize writes the 4-byte size of everything after position start
// in b into b[start:start+4]. Callers reserve those bytes first.
func AppendFrameSize(b []byte, start int) {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
}
