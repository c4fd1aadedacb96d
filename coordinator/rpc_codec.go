package coordinator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// Framing of the controller RPCs (the byte layouts are in doc.go): a
// request is a Kafka request frame, a response a Kafka response frame with
// header v1 whose tagged fields carry what Kafka's KRaft messages leave to
// the metadata log itself: the Raft index to wait for, and the error of the
// whole operation with its message.

const (
	rpcClientID = "gokafka-controller"
	// Tagged fields of a controller response header.
	tagMetadataIndex = 0 // uvarint: the Raft index of the change
	tagError         = 1 // int16 error code, then the message's bytes
)

// errRPCFrame marks a frame the peer cannot have meant; the connection
// closes, since the stream cannot be trusted after it.
var errRPCFrame = errors.New("malformed controller frame")

// readRPCFrame reads one size-prefixed frame, at most rpcMaxFrame bytes,
// allocating as the bytes arrive.
func readRPCFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || n > rpcMaxFrame {
		return nil, fmt.Errorf("%w: size %d, the limit is %d", errRPCFrame, n, rpcMaxFrame)
	}
	return readGrowing(r, int(n))
}

// readGrowing reads n bytes into a buffer that starts at rpcReadChunk and
// doubles as bytes arrive: what a peer makes us allocate is bounded by
// what it sends, not by what it claims.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, rpcReadChunk))
	for len(buf) < n {
		have := len(buf)
		buf = slices.Grow(buf, min(n, max(2*have, rpcReadChunk))-have)
		buf = buf[:min(n, cap(buf))]
		if _, err := io.ReadFull(r, buf[have:]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading a %d-byte frame: %w", n, err)
		}
	}
	return buf, nil
}

// appendRPCRequest appends a request frame: size, header v2 (api key,
// version, correlation id, client id, no tagged fields) and body. Every
// version the controller speaks is flexible, so the header is always v2.
func appendRPCRequest(dst []byte, correlationID int32, req kmsg.Request) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.Key()))
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.GetVersion()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(rpcClientID)))
	dst = append(dst, rpcClientID...)
	dst = append(dst, 0) // no tagged fields
	dst = req.AppendTo(dst)
	protocol.AppendFrameSize(dst, start)
	return dst
}

// appendRPCResponse appends a response frame: size, correlation id, the
// tagged fields for resp's index and error, and body (none when the request
// could not be read far enough to know its message).
func appendRPCResponse(dst []byte, correlationID int32, resp *rpcResponse, body kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	var tags []byte
	n := 0
	if resp.Index > 0 {
		v := binary.AppendUvarint(nil, resp.Index)
		tags = appendTag(tags, tagMetadataIndex, v)
		n++
	}
	if resp.Code != 0 {
		v := binary.BigEndian.AppendUint16(nil, uint16(resp.Code))
		tags = appendTag(tags, tagError, append(v, resp.Msg...))
		n++
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = append(dst, tags...)
	if body != nil {
		dst = body.AppendTo(dst)
	}
	protocol.AppendFrameSize(dst, start)
	return dst
}

func appendTag(dst []byte, tag uint64, v []byte) []byte {
	dst = binary.AppendUvarint(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// parseRPCResponse reads a response frame's header into resp and returns
// the correlation id and the body.
func parseRPCResponse(frame []byte, resp *rpcResponse) (int32, []byte, error) {
	if len(frame) < 5 {
		return 0, nil, fmt.Errorf("%w: a %d-byte response", errRPCFrame, len(frame))
	}
	corr := int32(binary.BigEndian.Uint32(frame))
	rest := frame[4:]
	n, rest, err := rpcUvarint(rest)
	if err != nil {
		return 0, nil, err
	}
	for range n {
		var tag, size uint64
		if tag, rest, err = rpcUvarint(rest); err != nil {
			return 0, nil, err
		}
		if size, rest, err = rpcUvarint(rest); err != nil {
			return 0, nil, err
		}
		if size > uint64(len(rest)) {
			return 0, nil, fmt.Errorf("%w: tagged field %d of %d bytes, %d left", errRPCFrame, tag, size, len(rest))
		}
		v := rest[:size]
		rest = rest[size:]
		switch tag {
		case tagMetadataIndex:
			if resp.Index, _, err = rpcUvarint(v); err != nil {
				return 0, nil, err
			}
		case tagError:
			if len(v) < 2 {
				return 0, nil, fmt.Errorf("%w: an error field of %d bytes", errRPCFrame, len(v))
			}
			resp.Code, resp.Msg = int16(binary.BigEndian.Uint16(v)), string(v[2:])
		}
	}
	return corr, rest, nil
}

func rpcUvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: a truncated varint", errRPCFrame)
	}
	return v, b[n:], nil
}

// decodeRPCRequest turns a request frame into the operation it asks for.
// A frame whose header cannot be read returns errRPCFrame (the connection
// closes); any other fault returns the header's correlation id and an
// error carrying the Kafka code to answer with.
func decodeRPCRequest(frame []byte) (int32, *rpcRequest, error) {
	h, body, err := protocol.ParseRequest(frame)
	switch {
	case err == nil, errors.Is(err, protocol.ErrUnsupportedVersion):
		// The broker's version table is not ours; rpcKeys decides below.
	case errors.Is(err, protocol.ErrUnknownAPIKey):
		return h.CorrelationID, nil, protocol.Errorf(protocol.UnsupportedVersion, "the controller does not serve api key %d", h.APIKey)
	default:
		return 0, nil, fmt.Errorf("%w: %v", errRPCFrame, err)
	}
	k, ok := rpcKeys[h.APIKey]
	switch {
	case !ok:
		return h.CorrelationID, nil, protocol.Errorf(protocol.UnsupportedVersion, "the controller does not serve %s", kmsg.NameForKey(h.APIKey))
	case h.APIVersion != k.version:
		return h.CorrelationID, nil, protocol.Errorf(protocol.UnsupportedVersion,
			"the controller serves %s v%d only, not v%d", kmsg.NameForKey(h.APIKey), k.version, h.APIVersion)
	}
	kreq := kmsg.RequestForKey(h.APIKey)
	kreq.SetVersion(k.version)
	if err := kreq.ReadFrom(body); err != nil {
		return h.CorrelationID, nil, protocol.Errorf(protocol.InvalidRequest, "%s v%d: %v", kmsg.NameForKey(h.APIKey), h.APIVersion, err)
	}
	req, err := k.decode(kreq)
	return h.CorrelationID, req, err
}
