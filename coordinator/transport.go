package coordinator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/gokafka/gokafka/auth"
)

// The first byte of every connection to the controller listener names what
// follows (connRaft, or connRPC for forwarded controller operations), so
// that both share one port, as Consul multiplexes its RPC types.
const connRaft byte = 0x01

// muxHandshakeTimeout bounds what a new connection may take, TLS handshake
// included, before its first byte names its kind: a peer that stalls holds
// a goroutine and a socket only this long.
const muxHandshakeTimeout = 10 * time.Second

// muxMaxPending bounds the connections not yet admitted (in their
// handshake or before their first byte); past it new ones are closed at
// once, so that strangers opening connections and stalling cannot take
// every file descriptor. A quorum's nodes need a handful.
const muxMaxPending = 128

// mux accepts connections on the controller listener and routes them by
// their first byte. With a TLS config, a connection is routed only after
// its handshake verified the peer's certificate.
type mux struct {
	ln         net.Listener
	advertised net.Addr
	log        *slog.Logger
	raftConns  chan net.Conn
	rpc        func(net.Conn)
	tls        *tls.Config // nil: plaintext
	dialTLS    *tls.Config // what the Raft layer presents when it dials
	authorize  func(tls.ConnectionState) bool
	sasl       *ControllerSASL // nil: no SASL
	dialSASL   sasl.Mechanism  // what the dialing side presents; nil without SASL
	authorizeP func(auth.Principal) bool
	refused    *auth.Refusals
	pending    chan struct{} // one token per connection not yet admitted
	closed     chan struct{}
	closeOnce  sync.Once
}

func listenMux(cfg Config, rpc func(net.Conn), logger *slog.Logger) (*mux, error) {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("controller listener %s: %w", cfg.ListenAddr, err)
	}
	m := &mux{ln: ln, advertised: ln.Addr(), log: logger, raftConns: make(chan net.Conn), rpc: rpc,
		tls: cfg.ServerTLS, dialTLS: cfg.ClientTLS, authorize: cfg.AuthorizePeer,
		sasl: cfg.SASL, dialSASL: cfg.SASL.mechanism(), authorizeP: cfg.AuthorizePrincipal,
		refused: auth.NewRefusals(time.Minute), pending: make(chan struct{}, muxMaxPending),
		closed: make(chan struct{})}
	if cfg.AdvertisedAddr != "" {
		m.advertised = tcpAddr(cfg.AdvertisedAddr)
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
		select {
		case m.pending <- struct{}{}:
			go m.route(nc)
		default:
			m.refuse(nc, fmt.Errorf("%d connections already in their handshake", muxMaxPending))
			nc.Close()
		}
	}
}

// route admits a connection and hands it on by its first byte.
func (m *mux) route(nc net.Conn) {
	nc, kind, err := m.admit(nc)
	<-m.pending
	if err != nil {
		m.refuse(nc, err)
		nc.Close()
		return
	}
	switch kind {
	case connRaft:
		select {
		case m.raftConns <- nc:
		case <-m.closed:
			nc.Close()
		}
	case connRPC:
		m.rpc(nc)
	default:
		m.refuse(nc, fmt.Errorf("unknown connection type %#x", kind))
		nc.Close()
	}
}

// admit authenticates a new connection and reads its first byte, within
// muxHandshakeTimeout; any failure, a peer that stalls or hangs up
// included, is a refusal.
func (m *mux) admit(nc net.Conn) (net.Conn, byte, error) {
	nc.SetDeadline(time.Now().Add(muxHandshakeTimeout))
	nc, err := m.authenticate(nc)
	if err != nil {
		return nc, 0, err
	}
	var kind [1]byte
	if _, err := nc.Read(kind[:]); err != nil {
		return nc, 0, err
	}
	nc.SetDeadline(time.Time{})
	return nc, kind[0], nil
}

// authenticate runs the TLS handshake of a sealed listener, then the SASL
// exchange of a SASL one. Without SASL, TLS admits only a peer whose
// certificate verified and that AuthorizePeer accepts; with it, SASL is
// what admits a peer. A plaintext listener admits every connection as it
// is.
func (m *mux) authenticate(nc net.Conn) (net.Conn, error) {
	if m.tls != nil {
		tc := tls.Server(nc, m.tls)
		if err := tc.Handshake(); err != nil {
			return tc, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = tc
		if m.sasl == nil {
			return nc, m.admitCertificate(tc)
		}
	}
	if m.sasl == nil {
		return nc, nil
	}
	return nc, m.authenticateSASL(nc)
}

// admitCertificate admits only a peer whose certificate chain verified
// (whatever the config a GetConfigForClient returned said) and that
// AuthorizePeer accepts.
func (m *mux) admitCertificate(tc *tls.Conn) error {
	state := tc.ConnectionState()
	if len(state.VerifiedChains) == 0 {
		return errors.New("no verified client certificate")
	}
	subject := state.PeerCertificates[0].Subject.String()
	if m.authorize != nil && !m.authorize(state) {
		return fmt.Errorf("peer %q is not authorized on the controller listener", subject)
	}
	m.log.Debug("controller listener: peer authenticated", "remote", tc.RemoteAddr().String(), "subject", subject)
	return nil
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

// raftDialTimeout caps how long raft waits to connect to a peer, below
// the transport's 5 s RPC timeout: while a link is cut, patientTransport
// redials every peerRetry, and each attempt would otherwise wait out the
// full timeout, delaying the rejoin after the link heals by up to that
// much. A live peer on the controller network connects, TLS and SASL
// included, well within it.
const raftDialTimeout = time.Second

func (l raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return l.m.dial(string(addr), connRaft, min(timeout, raftDialTimeout))
}

// dial opens a connection of the given kind to a peer's controller
// listener, as this node's own listener expects them.
func (m *mux) dial(addr string, kind byte, timeout time.Duration) (net.Conn, error) {
	return dialController(addr, kind, timeout, m.dialTLS, m.dialSASL)
}

// dialController opens a connection of the given kind to a controller
// listener: TCP, then the TLS handshake when cfg is set (its ServerName,
// if empty, taken from addr), then the SASL exchange when mech is set,
// then the kind byte; timeout bounds it all.
func dialController(addr string, kind byte, timeout time.Duration, cfg *tls.Config, mech sasl.Mechanism) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	} = &net.Dialer{}
	if cfg != nil {
		d = &tls.Dialer{Config: cfg}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if mech != nil {
		if err := auth.Authenticate(ctx, nc, saslClientID, mech); err != nil {
			nc.Close()
			return nil, fmt.Errorf("SASL %s: %w", mech.Name(), err)
		}
	}
	nc.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := nc.Write([]byte{kind}); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetWriteDeadline(time.Time{})
	return nc, nil
}

// tcpAddr is an advertised host:port that need not resolve locally.
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

// refuse logs a refused connection, once a minute per source.
func (m *mux) refuse(nc net.Conn, err error) {
	if ok, source, suppressed := m.refused.Note(nc.RemoteAddr(), time.Now()); ok {
		m.log.Warn("controller listener: refused a connection", "source", source, "err", err,
			"refused_since_last_line", suppressed)
	}
}
