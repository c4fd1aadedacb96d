package coordinator

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The first byte of every connection to the controller listener names what
// follows (connRaft, or connRPC for forwarded controller operations), so
// that both share one port, as Consul multiplexes its RPC types.
const connRaft byte = 0x01

// mux accepts connections on the controller listener and routes them by
// their first byte.
type mux struct {
	ln         net.Listener
	advertised net.Addr
	log        *slog.Logger
	raftConns  chan net.Conn
	rpc        func(net.Conn)
	closed     chan struct{}
	closeOnce  sync.Once
}

func listenMux(addr, advertised string, rpc func(net.Conn), logger *slog.Logger) (*mux, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("controller listener %s: %w", addr, err)
	}
	m := &mux{ln: ln, advertised: ln.Addr(), log: logger, raftConns: make(chan net.Conn), rpc: rpc, closed: make(chan struct{})}
	if advertised != "" {
		m.advertised = tcpAddr(advertised)
	}
	go m.acceptLoop()
	return m, nil
}

func (m *mux) acceptLoop() {
	for {
		nc, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.log.Warn("controller listener accept", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go m.route(nc)
	}
}

func (m *mux) route(nc net.Conn) {
	var kind [1]byte
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(kind[:]); err != nil {
		nc.Close()
		return
	}
	nc.SetReadDeadline(time.Time{})
	switch kind[0] {
	case connRaft:
		select {
		case m.raftConns <- nc:
		case <-m.closed:
			nc.Close()
		}
	case connRPC:
		m.rpc(nc)
	default:
		m.log.Warn("controller listener: unknown connection type, closing",
			"type", kind[0], "remote", nc.RemoteAddr().String())
		nc.Close()
	}
}

// Close stops the listener; connections already handed out stay with their
// owners.
func (m *mux) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.closed)
		err = m.ln.Close()
	})
	return err
}

// raftLayer is the raft.StreamLayer over the mux.
type raftLayer struct{ m *mux }

func (m *mux) raftLayer() raft.StreamLayer { return raftLayer{m} }

func (l raftLayer) Accept() (net.Conn, error) {
	select {
	case nc := <-l.m.raftConns:
		return nc, nil
	case <-l.m.closed:
		return nil, net.ErrClosed
	}
}

func (l raftLayer) Close() error { return l.m.Close() }

// Addr is the advertised address: raft sends it to peers as our address.
func (l raftLayer) Addr() net.Addr { return l.m.advertised }

func (l raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	if _, err := nc.Write([]byte{connRaft}); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

// tcpAddr is an advertised host:port that need not resolve locally.
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }
