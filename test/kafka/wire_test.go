package kafka

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// wire is one raw connection to a broker that sends each request at
// exactly the version set on it, so that both brokers answer the same
// question and every field of the answer is visible.
type wire struct {
	conn net.Conn
	corr int32
	fmt  *kmsg.RequestFormatter
}

func dialWire(t testing.TB, addr string) *wire {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &wire{conn: c, fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("diff"))}
}

// errClosed is what a request gets when the broker closes the connection
// instead of answering.
var errClosed = errors.New("connection closed")

// send writes req without waiting for an answer (acks=0 produce).
func (w *wire) send(req kmsg.Request, version int16) error {
	req.SetVersion(version)
	w.corr++
	w.conn.SetDeadline(time.Now().Add(30 * time.Second))
	_, err := w.conn.Write(w.fmt.AppendRequest(nil, req, w.corr))
	return err
}

// do sends req at version and reads its answer.
func (w *wire) do(req kmsg.Request, version int16) (kmsg.Response, error) {
	if err := w.send(req, version); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(w.conn, size[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil, errClosed
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 64<<20 {
		return nil, fmt.Errorf("answer of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(w.conn, body); err != nil {
		return nil, err
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != w.corr {
		return nil, fmt.Errorf("correlation id %d, want %d", corr, w.corr)
	}
	body = body[4:]
	resp := req.ResponseKind()
	resp.SetVersion(version)
	if req.Key() == int16(kmsg.ApiVersions) && version > req.MaxVersion() {
		resp.SetVersion(0) // the answer to a version the broker does not know
	}
	// A flexible answer's header ends with tagged fields, except
	// ApiVersions', whose header stays v0 for clients that guess.
	if resp.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		if len(body) == 0 || body[0] != 0 {
			return nil, errors.New("answer header has tagged fields")
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decoding %s v%d answer: %w", kmsg.NameForKey(req.Key()), version, err)
	}
	return resp, nil
}
