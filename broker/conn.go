package broker

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

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
type conn struct {
	b        *Broker
	nc       net.Conn
	listener string // listener name the client connected through
	log      *slog.Logger
	queue    chan *response
	quit     chan struct{} // closed when the reader stops: parked responses are abandoned
}

func (c *conn) serve() {
	defer c.b.wg.Done()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.readLoop()
	c.nc.Close()
	close(c.quit)
	close(c.queue)
	<-writerDone
	c.b.forgetConn(c)
}

func (c *conn) readLoop() {
	r := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		frame, err := protocol.ReadFrame(r, c.b.cfg.SocketRequestMaxBytes, nil)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Info("closing connection", "err", err)
			}
			return
		}
		resp, ok := c.handleFrame(frame, time.Now())
		if resp != nil {
			c.queue <- resp
		}
		if !ok {
			return
		}
	}
}

// handleFrame parses and dispatches one request. It returns the response
// slot to queue (nil when there is nothing to send) and false when the
// connection must be closed after it.
func (c *conn) handleFrame(frame []byte, read time.Time) (resp *response, ok bool) {
	hdr, body, err := protocol.ParseRequest(frame)
	switch {
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
	req := kmsg.RequestForKey(hdr.APIKey)
	req.SetVersion(hdr.APIVersion)
	if err := req.ReadFrom(body); err != nil {
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

func (c *conn) writeLoop() {
	w := bufio.NewWriterSize(c.nc, 64<<10)
	var buf []byte
	for resp := range c.queue {
		select {
		case <-resp.done:
		case <-c.quit:
			return // nobody is left to read what is still parked
		}
		dequeued := time.Now()
		if resp.msg != nil {
			buf = protocol.AppendResponse(buf[:0], resp.hdr, resp.msg)
			if _, err := w.Write(buf); err != nil {
				c.drain()
				return
			}
		}
		c.observe(resp, dequeued)
		// Flush only when nothing else is ready, so pipelined responses
		// share a syscall.
		if len(c.queue) == 0 || resp.closeConn {
			if err := w.Flush(); err != nil {
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
	w.Flush()
}

// drain consumes the queue after a write failure so that the reader never
// blocks on a full queue; the connection is already closed.
func (c *conn) drain() {
	c.nc.Close()
	for range c.queue {
	}
}

// observe reports where resp spent its time to the broker's observer.
func (c *conn) observe(resp *response, dequeued time.Time) {
	o := c.b.cfg.Requests
	if o == nil {
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
