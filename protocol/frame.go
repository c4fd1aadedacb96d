package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFrameTooLarge reports a size prefix above the allowed maximum. The
// caller must close the connection: the stream cannot be resynchronised.
var ErrFrameTooLarge = errors.New("frame larger than socket.request.max.bytes")

// ReadFrame reads one size-prefixed frame from r. The size is checked against
// max before any buffer is allocated for it; buf is reused when it is large
// enough. A size below the smallest possible request header is rejected too.
func ReadFrame(r io.Reader, max int32, buf []byte) ([]byte, error) {
	var sizeBuf [4]byte
	if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 || size > max {
		return nil, fmt.Errorf("%w: size %d, max %d", ErrFrameTooLarge, size, max)
	}
	if size < 8 { // api key, api version, correlation id
		return nil, fmt.Errorf("frame of %d bytes is shorter than a request header", size)
	}
	if int(size) > cap(buf) {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(r, buf); err != nil {
		// EOF right after a size prefix is a frame cut short, not the clean
		// close between frames that a bare io.EOF tells the caller.
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %d-byte frame: %w", size, err)
	}
	return buf, nil
}

// AppendFrameSize writes the 4-byte size of everything after position start
// in b into b[start:start+4]. Callers reserve those bytes first.
func AppendFrameSize(b []byte, start int) {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
}
