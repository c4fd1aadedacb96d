package broker

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/replica"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// response is one slot in a connection's ordered response queue. Kafka
// clients pipeline requests and match responses by order, so a response that
// finishes early (acks=1) still waits behind one that is parked (acks=all).
type response struct {
	hdr  protocol.RequestHeader
	done chan struct{} // closed by complete
	msg  kmsg.Response // nil: send nothing (acks=0)
	// closeConn asks the writer to drop the connection after this slot,
	// which is how Kafka tells an acks=0 producer that something failed.
	closeConn bool
	once      sync.Once

	// For request metrics: when the request was read, when its handler
	// returned (set before the slot is queued) and when it completed.
	read, handled, completed time.Time
	// booked is what the request took of queued.max.request.bytes, given
	// back when its response leaves the queue.
	booked int64
	// raw, when set, is sent as a bare SASL token (SaslHandshake v0)
	// instead of msg.
	raw []byte
	// slices are a fetch response's record batches, sent from their
	// files in place of markers (sendfile.go).
	slices []respSlice
	// left is closed when the slot leaves the queue (sent or dropped), for
	// a reader waiting on the previous fetch; nil for other requests.
	left chan struct{}
}

func newResponse(hdr protocol.RequestHeader, read time.Time) *response {
	return &response{hdr: hdr, done: make(chan struct{}), read: read}
}

// complete publishes msg for this slot; only the first call counts, so a
// delayed operation and its timeout can race safely.
func (r *response) complete(msg kmsg.Response) {
	r.once.Do(func() {
		if msg != nil {
			msg.SetVersion(r.hdr.APIVersion)
		}
		r.msg = msg
		r.completed = time.Now()
		close(r.done)
	})
}

// conn is one client connection: a reader goroutine that parses and
// dispatches requests in arrival order, and a writer goroutine that sends
// responses in that same order (nats-server's readLoop/writeLoop split).
//
// An idle connection holds no buffer: frames are read straight from the
// socket into a buffer of their own, and responses are encoded into a
// pooled buffer that goes back to the pool whenever the queue runs dry.
type conn struct {
	b  *Broker
	nc net.Conn // the socket, or the TLS connection over it once handshaken
	// sock is the accepted socket, never replaced: Broker.Close closes it
	// from another goroutine while serve may be wrapping nc in TLS.
	sock     net.Conn
	ip       netip.Addr // counted against max.connections.per.ip
	listener string     // listener name the client connected through
	sec      *Security  // the listener's; nil is PLAINTEXT
	// principal is who the client authenticated as: ANONYMOUS on
	// PLAINTEXT, from its certificate on SSL, from SASL on SASL_*.
	principal auth.Principal
	sasl      *saslConn // nil unless the listener uses SASL
	log       *slog.Logger
	queue     chan *response
	quit      chan struct{} // closed when the reader stops: parked responses are abandoned

	// idleMu orders the read deadline that enforces connections.max.idle.ms:
	// it runs only while the reader waits for a frame and no response is
	// pending, whichever goroutine sees that state last.
	idleMu   sync.Mutex
	pending  int  // responses queued and not yet sent
	awaiting bool // the reader waits for the next frame's size

	lastFetch *response // the reader's previous Fetch, nil before the first
	// parkedFetch is the connection's latest parked fetch (one at a time,
	// see awaitLastFetch), kicked when the connection closes so that the
	// purgatory drops it at once.
	parkedFetch atomic.Pointer[replica.DelayedOp]
}

func (c *conn) serve() {
	defer c.b.wg.Done()
	if c.sec.tls() && !c.authenticateTLS() {
		c.nc.Close()
		c.b.forgetConn(c)
		return
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.readLoop()
	c.nc.Close()
	close(c.quit)
	if op := c.parkedFetch.Load(); op != nil {
		op.Kick()
	}
	close(c.queue)
	<-writerDone
	for resp := range c.queue { // what the writer left when it stopped
		c.dropped(resp)
	}
	c.b.forgetConn(c)
}

func (c *conn) readLoop() {
	for {
		c.awaitFrame(true)
		size, err := protocol.ReadFrameSize(c.nc, c.b.cfg.SocketRequestMaxBytes)
		c.awaitFrame(false)
		if err != nil {
			c.logReadError(err)
			return
		}
		if !c.b.budget.book(c.b.ctx, int64(size)) {
			return // the broker is closing
		}
		frame, err := protocol.ReadFrameBody(c.nc, size, nil)
		if err == nil && kmsg.Key(binary.BigEndian.Uint16(frame)) == kmsg.Fetch {
			err = c.awaitLastFetch()
		}
		if err != nil {
			c.b.budget.release(int64(size))
			c.logReadError(err)
			return
		}
		resp, ok := c.handleFrame(frame, time.Now())
		if kmsg.Key(binary.BigEndian.Uint16(frame)) == kmsg.Produce {
			protocol.RecycleFrame(frame) // the log has the records; nothing else keeps them
		}
		if resp != nil {
			resp.booked = int64(size)
			if resp.hdr.APIKey == int16(kmsg.Fetch) {
				resp.left, c.lastFetch = make(chan struct{}), resp
			}
			c.addPending(1)
			c.queue <- resp
		} else {
			c.b.budget.release(int64(size))
		}
		if !ok {
			return
		}
	}
}

// awaitLastFetch waits until the previous Fetch on this connection has left
// the queue. One fetch at a time per connection, as Kafka serves one request
// per connection at a time: a fetch response holds up to fetch.max.bytes of
// records, and a client that pipelines fetches and reads slowly must not
// make the node hold one per slot of the queue. Kafka clients never
// pipeline fetches to one broker, so they do not wait here.
func (c *conn) awaitLastFetch() error {
	if c.lastFetch == nil {
		return nil
	}
	select {
	case <-c.lastFetch.left:
		c.lastFetch = nil
		return nil
	case <-c.b.ctx.Done():
		return net.ErrClosed
	}
}

func (c *conn) logReadError(err error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Info("closing idle connection", "connections.max.idle.ms", c.b.cfg.ConnectionsMaxIdle.Milliseconds())
	case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
		c.log.Info("closing connection", "err", err)
	}
}

// awaitFrame records whether the reader waits for the next frame.
func (c *conn) awaitFrame(awaiting bool) {
	c.idleMu.Lock()
	defer c.idleMu.Unlock()
	c.awaiting = awaiting
	c.armIdleLocked()
}

// addPending counts responses queued (+1) and sent (-1).
func (c *conn) addPending(delta int) {
	c.idleMu.Lock()
	defer c.idleMu.Unlock()
	c.pending += delta
	c.armIdleLocked()
}

// armIdleLocked sets the read deadline of connections.max.idle.ms while
// the connection is idle and clears it otherwise.
func (c *conn) armIdleLocked() {
	idle := c.b.cfg.ConnectionsMaxIdle
	switch {
	case idle <= 0:
	case c.awaiting && c.pending == 0:
		c.nc.SetReadDeadline(time.Now().Add(idle))
	default:
		c.nc.SetReadDeadline(time.Time{})
	}
}

// sent is called by the writer for each response taken off the queue.
func (c *conn) sent(resp *response) {
	c.dropped(resp)
	c.addPending(-1)
}

// dropped gives back what a slot leaving the queue held and tells a reader
// waiting on it.
func (c *conn) dropped(resp *response) {
	c.b.budget.release(resp.booked)
	select {
	case <-resp.done:
		resp.closeSlices()
	default: // a fetch completing now closes its own, seeing c.quit
	}
	if resp.left != nil {
		close(resp.left)
	}
}

// handleFrame parses and dispatches one request. It returns the response
// slot to queue (nil when there is nothing to send) and false when the
// connection must be closed after it.
func (c *conn) handleFrame(frame []byte, read time.Time) (resp *response, ok bool) {
	if c.sasl != nil && c.sasl.raw {
		return c.rawSASLToken(frame, read)
	}
	hdr, body, err := protocol.ParseRequest(frame)
	switch {
	case err == nil && !c.admitted(hdr.APIKey):
		c.refused("closing connection: request before SASL authentication",
			"api", kmsg.NameForKey(hdr.APIKey), "client_id", hdr.ClientID)
		return nil, false
	case errors.Is(err, protocol.ErrUnsupportedVersion) && hdr.APIKey == int16(kmsg.ApiVersions):
		// Answer in v0, which every client can read, listing what we serve.
		resp = newResponse(protocol.RequestHeader{APIKey: hdr.APIKey, CorrelationID: hdr.CorrelationID}, read)
		resp.complete(apiVersionsFallback())
		resp.handled = resp.completed
		return resp, true
	case err != nil:
		c.log.Info("closing connection: bad request header", "api_key", hdr.APIKey,
			"api_version", hdr.APIVersion, "client_id", hdr.ClientID, "err", err)
		return nil, false
	}
	switch kmsg.Key(hdr.APIKey) {
	case kmsg.Metadata, kmsg.DescribeTopicPartitions:
		err = checkTopicCount(kmsg.NameForKey(hdr.APIKey), hdr.Flexible, body)
	}
	req := kmsg.RequestForKey(hdr.APIKey)
	req.SetVersion(hdr.APIVersion)
	if err == nil {
		err = req.ReadFrom(body)
	}
	if err != nil {
		c.log.Info("closing connection: malformed request", "api", kmsg.NameForKey(hdr.APIKey),
			"api_version", hdr.APIVersion, "client_id", hdr.ClientID, "err", err)
		return nil, false
	}
	resp = newResponse(hdr, read)
	defer func() {
		// Last fence: a handler bug costs this connection, never the process.
		if p := recover(); p != nil {
			c.log.Error("BUG: handler panicked", "api", kmsg.NameForKey(hdr.APIKey),
				"panic", p, "stack", string(debug.Stack()))
			resp, ok = nil, false
		}
	}()
	c.b.dispatch(c, req, resp)
	resp.handled = time.Now()
	return resp, true
}

// respBufs holds encoding buffers for responses, shared by connections so
// that an idle one holds none.
var respBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledRespBuf is the largest buffer put back in respBufs; the buffer
// of a large fetch response is left to the garbage collector.
const maxPooledRespBuf = 1 << 20

func (c *conn) writeLoop() {
	var buf *[]byte // nil while nothing is waiting to be written
	defer func() {
		if buf != nil {
			respBufs.Put(buf)
		}
	}()
	for resp := range c.queue {
		select {
		case <-resp.done:
		case <-c.quit:
			c.dropped(resp)
			return // nobody is left to read what is still parked
		}
		dequeued := time.Now()
		if resp.msg != nil || resp.raw != nil {
			if buf == nil {
				buf = respBufs.Get().(*[]byte)
			}
			if resp.raw != nil {
				*buf = binary.BigEndian.AppendUint32(*buf, uint32(len(resp.raw)))
				*buf = append(*buf, resp.raw...)
			} else {
				start := len(*buf)
				*buf = protocol.AppendResponse(*buf, resp.hdr, resp.msg)
				if len(resp.slices) > 0 {
					c.armWriteDeadline()
					err := c.writeSlices(*buf, start, resp)
					*buf = (*buf)[:0]
					if err != nil {
						c.sent(resp)
						c.drain()
						return
					}
				}
			}
		}
		c.sent(resp)
		c.observe(resp, dequeued)
		// Write only when nothing else is ready, so pipelined responses
		// share a syscall.
		if buf != nil && len(*buf) > 0 && (len(c.queue) == 0 || resp.closeConn || len(*buf) >= maxPooledRespBuf) {
			c.armWriteDeadline()
			_, err := c.nc.Write(*buf)
			if cap(*buf) > maxPooledRespBuf {
				*buf = nil
			}
			*buf = (*buf)[:0]
			respBufs.Put(buf)
			buf = nil
			if err != nil {
				c.drain()
				return
			}
		}
		if resp.closeConn {
			c.nc.Close() // unblocks the reader, which then closes the queue
			c.drain()
			return
		}
	}
}

// armWriteDeadline bounds a write by connections.max.idle.ms: a client
// that stops reading is idle too.
func (c *conn) armWriteDeadline() {
	if idle := c.b.cfg.ConnectionsMaxIdle; idle > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(idle))
	}
}

// drain consumes the queue after a write failure so that the reader never
// blocks on a full queue; the connection is already closed.
func (c *conn) drain() {
	c.nc.Close()
	for resp := range c.queue {
		c.dropped(resp)
	}
}

// observe reports where resp spent its time to the broker's observer.
func (c *conn) observe(resp *response, dequeued time.Time) {
	o := c.b.cfg.Requests
	if o == nil || resp.raw != nil {
		return
	}
	ready := resp.completed
	if ready.Before(resp.handled) {
		ready = resp.handled // answered by the handler itself
	}
	o.ObserveRequest(RequestTiming{
		Key:           kmsg.Key(resp.hdr.APIKey),
		Version:       resp.hdr.APIVersion,
		Response:      resp.msg,
		Local:         resp.handled.Sub(resp.read),
		Remote:        ready.Sub(resp.handled),
		ResponseQueue: dequeued.Sub(ready),
		Total:         time.Since(resp.read),
	})
}
