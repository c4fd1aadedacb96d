package broker

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"net"
	"os"
	"slices"
	"sync/atomic"

	klog "github.com/gokafka/gokafka/log"
)

// A fetch response to a plaintext connection sends its record batches
// from the segment files: the response is encoded with a marker in place
// of each partition's records, and the writer sends the bytes around the
// markers from memory and each slice with sendfile(2) at the slice's
// offset (sendfile_linux.go). TLS connections copy, as the kernel cannot
// encrypt for them.

// respSlice is one partition's batches, sent from their file in place of
// marker.
type respSlice struct {
	marker []byte
	klog.Slice
}

// markerPrefix makes markers unique to this process: the rest of an
// encoded fetch response is names and watermarks, so that 16 bytes of
// which 8 are random never occur there by chance.
var (
	markerPrefix = func() (p [8]byte) { rand.Read(p[:]); return p }()
	markerSeq    atomic.Uint64
)

func newMarker() []byte {
	m := make([]byte, 16)
	copy(m, markerPrefix[:])
	binary.BigEndian.PutUint64(m[8:], markerSeq.Add(1))
	return m
}

// sendsFiles reports whether responses on this connection can come from
// files: a plain TCP socket (PLAINTEXT, or SASL_PLAINTEXT, which does not
// wrap the stream).
func (c *conn) sendsFiles() bool {
	_, ok := c.nc.(*net.TCPConn)
	return ok
}

// attachSlices gives the response the slices the fetch read, each
// partition's records replaced by its marker.
func (r *response) attachSlices(targets []*fetchTarget) {
	for _, ft := range targets {
		if ft.slice.Len > 0 {
			m := newMarker()
			ft.out.RecordBatches = m
			r.slices = append(r.slices, respSlice{marker: m, Slice: ft.slice})
		}
	}
}

// closeSlices releases the response's handles on its files, once sent or
// dropped; closing twice is harmless.
func (r *response) closeSlices() {
	for _, s := range r.slices {
		s.Close()
	}
}

// writeSlices writes buf, in which the response from start on carries
// resp's markers, with each marker and its length replaced by its slice,
// and the frame size grown to match. Records are COMPACT_RECORDS (a
// uvarint of length+1) from Fetch v12, a 4-byte length before.
func (c *conn) writeSlices(buf []byte, start int, resp *response) error {
	flexible := resp.hdr.APIVersion >= 12
	markerLen := recordsLength(flexible, 16)
	type cut struct {
		at int // where the marker's length field starts
		s  klog.Slice
	}
	var cuts []cut
	grow := int64(0)
	for _, rs := range resp.slices {
		i := bytes.Index(buf[start:], rs.marker)
		if i < 0 {
			continue // a fetch session left the partition out
		}
		cuts = append(cuts, cut{at: start + i - len(markerLen), s: rs.Slice})
		grow += int64(len(recordsLength(flexible, rs.Len))) + rs.Len - int64(len(markerLen)+len(rs.marker))
	}
	slices.SortFunc(cuts, func(a, b cut) int { return a.at - b.at })
	size := int64(binary.BigEndian.Uint32(buf[start:])) + grow
	binary.BigEndian.PutUint32(buf[start:], uint32(size))
	prev := 0
	for _, ct := range cuts {
		if err := c.writeParts(buf[prev:ct.at], recordsLength(flexible, ct.s.Len)); err != nil {
			return err
		}
		if err := c.sendSlice(ct.s); err != nil {
			return err
		}
		prev = ct.at + len(markerLen) + 16
	}
	return c.writeParts(buf[prev:])
}

// writeParts writes the non-empty parts in one writev where the socket
// allows: an empty write would still wait for a reader on some conns
// (net.Pipe).
func (c *conn) writeParts(parts ...[]byte) error {
	var bufs net.Buffers
	for _, p := range parts {
		if len(p) > 0 {
			bufs = append(bufs, p)
		}
	}
	_, err := bufs.WriteTo(c.nc)
	return err
}

func recordsLength(flexible bool, n int64) []byte {
	if flexible {
		return binary.AppendUvarint(nil, uint64(n)+1)
	}
	return binary.BigEndian.AppendUint32(nil, uint32(n))
}

// sendSlice writes one slice from its file: sendfile on a TCP socket with
// an OS file, a copy through memory otherwise (a fault-injecting FS in
// tests). A file cut short under the response (a truncation) fails the
// write: the frame would be short, so the connection must close.
func (c *conn) sendSlice(s klog.Slice) error {
	tc, tcp := c.nc.(*net.TCPConn)
	f, file := s.File.(*os.File)
	if !tcp || !file {
		b, err := s.ReadBytes()
		if err == nil {
			_, err = c.nc.Write(b)
		}
		return err
	}
	return sendFileAt(tc, f, s.Pos, s.Len)
}
