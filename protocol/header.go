package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// RequestHeader is a parsed request header (v1 or v2; v0 has no client id
// and is only used by ControlledShutdown v0, which we do not serve).
type RequestHeader struct {
	APIKey        int16
	APIVersion    int16
	CorrelationID int32
	ClientID      string
	Flexible      bool
}

// ErrUnknownAPIKey is returned for an API key kmsg does not know. Kafka closes
// the connection in that case, and so do we.
var ErrUnknownAPIKey = errors.New("unknown api key")

// ErrUnsupportedVersion is returned when the key is known but the version is
// outside what this broker advertises.
var ErrUnsupportedVersion = errors.New("unsupported api version")

var errTruncated = errors.New("truncated request header")

// ParseRequest parses the header of frame and returns it with the body that
// follows. The body is not decoded: callers use kmsg for that. A version we
// do not support still returns the parsed header together with
// ErrUnsupportedVersion, so that ApiVersions can answer with its v0 fallback.
func ParseRequest(frame []byte) (RequestHeader, []byte, error) {
	var h RequestHeader
	if len(frame) < 10 {
		return h, nil, errTruncated
	}
	h.APIKey = int16(binary.BigEndian.Uint16(frame[0:]))
	h.APIVersion = int16(binary.BigEndian.Uint16(frame[2:]))
	h.CorrelationID = int32(binary.BigEndian.Uint32(frame[4:]))
	req := kmsg.RequestForKey(h.APIKey)
	if req == nil {
		return h, nil, fmt.Errorf("%w %d", ErrUnknownAPIKey, h.APIKey)
	}
	// The header shape depends on whether the body version is flexible, which
	// only kmsg knows. A version beyond kmsg's range is still classified: that
	// is how a client probing ApiVersions with a newer version gets its answer.
	req.SetVersion(h.APIVersion)
	h.Flexible = req.IsFlexible()
	rest := frame[8:]
	clientLen := int16(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if clientLen >= 0 {
		if int(clientLen) > len(rest) {
			return h, nil, errTruncated
		}
		h.ClientID = string(rest[:clientLen])
		rest = rest[clientLen:]
	}
	if h.Flexible {
		var err error
		if rest, err = skipTaggedFields(rest); err != nil {
			return h, nil, err
		}
	}
	if !Supported(h.APIKey, h.APIVersion) {
		return h, rest, fmt.Errorf("%w: %s v%d", ErrUnsupportedVersion, kmsg.NameForKey(h.APIKey), h.APIVersion)
	}
	return h, rest, nil
}

// skipTaggedFields skips a KIP-482 tagged-field section: a uvarint count, then
// for each field a uvarint tag, a uvarint size and that many bytes.
func skipTaggedFields(b []byte) ([]byte, error) {
	n, b, err := uvarint(b)
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i < n; i++ {
		if _, b, err = uvarint(b); err != nil {
			return nil, err
		}
		var size uint64
		if size, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if size > uint64(len(b)) {
			return nil, errTruncated
		}
		b = b[size:]
	}
	return b, nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errTruncated
	}
	return v, b[n:], nil
}

// AppendResponse appends a complete response frame (size, header, body) for
// the request described by h. ApiVersions always uses response header v0 so
// that a client which does not know our versions can still read it.
func AppendResponse(dst []byte, h RequestHeader, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.CorrelationID))
	if h.Flexible && h.APIKey != int16(kmsg.ApiVersions) {
		dst = append(dst, 0) // no tagged fields
	}
	dst = resp.AppendTo(dst)
	AppendFrameSize(dst, start)
	return dst
}
