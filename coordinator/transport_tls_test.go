package coordinator

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/sasl"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue signs a certificate for cn, good for 127.0.0.1 as server and client.
func (ca *testCA) issue(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// sealed sets cfg's controller listener TLS: cert presented both ways,
// peers verified against ca.
func sealed(cfg *Config, ca *testCA, cert tls.Certificate) {
	cfg.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: ca.pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	cfg.ClientTLS = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.pool, MinVersion: tls.VersionTLS12}
}

// startQuorumWith starts cfgs' nodes together, each with its logger, and
// returns them with the active controller, once every node is ready.
func startQuorumWith(t testing.TB, cfgs []Config, loggers []*slog.Logger) ([]*Coordinator, *Coordinator) {
	t.Helper()
	nodes := make([]*Coordinator, len(cfgs))
	errs := make(chan error, len(cfgs))
	for i, cfg := range cfgs {
		go func() {
			c, err := New(cfg, loggers[i])
			nodes[i] = c
			errs <- err
		}()
	}
	for range cfgs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, c := range nodes {
		t.Cleanup(func() { c.Close() })
		if err := c.WaitReady(ctx); err != nil {
			t.Fatalf("node %d not ready: %v", c.cfg.NodeID, err)
		}
	}
	for _, c := range nodes {
		if c.ctrl.isActive() {
			return nodes, c
		}
	}
	t.Fatal("every node is ready but none is the active controller")
	return nil, nil
}

// logBuffer is a slog sink that tests read back.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(substr string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// strangerLayer dials controller listeners as a node whose ClientTLS is
// cfg would (nil: plaintext), presenting mech when set, and accepts
// nothing: enough to send Raft frames through hashicorp/raft's own
// transport.
type strangerLayer struct {
	cfg  *tls.Config
	mech sasl.Mechanism
	done chan struct{}
}

func (s strangerLayer) Accept() (net.Conn, error) { <-s.done; return nil, net.ErrClosed }
func (s strangerLayer) Close() error              { close(s.done); return nil }
func (s strangerLayer) Addr() net.Addr            { return tcpAddr("127.0.0.1:1") }
func (s strangerLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialController(string(addr), connRaft, timeout, s.cfg, s.mech)
}

// forgedVote sends target a RequestVote in candidate's name, in a term
// 100 past target's, as a leadership transfer: delivered, it makes target
// adopt that term and step down (raft.go requestVote).
func forgedVote(target, candidate *Coordinator, cfg *tls.Config) error {
	return forgedVoteAs(target, candidate, cfg, nil)
}

// forgedVoteAs is forgedVote sent by a node presenting mech.
func forgedVoteAs(target, candidate *Coordinator, cfg *tls.Config, mech sasl.Mechanism) error {
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: strangerLayer{cfg: cfg, mech: mech, done: make(chan struct{})}, MaxPool: 1, Timeout: 3 * time.Second,
	})
	defer trans.Close()
	req := &raft.RequestVoteRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax,
			ID: []byte(fmt.Sprint(candidate.cfg.NodeID)), Addr: []byte(candidate.cfg.AdvertisedAddr)},
		Term: target.raft.CurrentTerm() + 100, LastLogIndex: 1 << 40, LastLogTerm: 1 << 40, LeadershipTransfer: true,
	}
	var resp raft.RequestVoteResponse
	return trans.RequestVote(raft.ServerID(fmt.Sprint(target.cfg.NodeID)),
		raft.ServerAddress(target.cfg.AdvertisedAddr), req, &resp)
}

// registerFrame is a controller RPC registering broker 99.
func registerFrame() []byte {
	req := &rpcRequest{Op: rpcRegister, Registration: &BrokerRegistration{ID: 99,
		Listeners: []Endpoint{{Name: "PLAINTEXT", Host: "evil", Port: 9092}}}}
	return append([]byte{connRPC}, appendRPCRequest(nil, 1, rpcOps[rpcRegister].request(req))...)
}

// expectClosed writes payload on nc and checks that the listener closes
// the connection without answering, well before the read deadline.
func expectClosed(t *testing.T, nc net.Conn, payload []byte) {
	t.Helper()
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write(payload) // may already fail: the refusal is what matters
	var buf [512]byte
	for {
		n, err := nc.Read(buf[:])
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("listener kept the connection open: %v", err)
		case err != nil:
			return
		case n > 0 && buf[0] != tlsAlertRecord:
			t.Fatalf("listener answered %d bytes: %q", n, buf[:n])
		}
	}
}

// tlsAlertRecord opens a TLS alert, all a refused plaintext peer may read.
const tlsAlertRecord = 0x15

// quorumView is what a stranger must not be able to change.
type quorumView struct {
	terms   []uint64
	leader  int32
	servers []raft.Server
	brokers int
}

func viewOf(t *testing.T, nodes []*Coordinator, leader *Coordinator) quorumView {
	v := quorumView{leader: leader.LeaderID(), brokers: len(leader.Metadata().Brokers)}
	for _, c := range nodes {
		v.terms = append(v.terms, c.raft.CurrentTerm())
	}
	f := leader.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	v.servers = f.Configuration().Servers
	return v
}

func (v quorumView) equal(o quorumView) bool {
	return slices.Equal(v.terms, o.terms) && v.leader == o.leader && slices.Equal(v.servers, o.servers) && v.brokers == o.brokers
}

// TestQuorumOverTLS forms a quorum over a sealed controller listener,
// forwards operations from a follower, and then lets strangers knock on
// the leader's listener: none of them changes the term, the leader, the
// Raft configuration or the brokers, and the leader logs one line for all
// of them. Last, the same forged vote sent with a node's certificate does
// move the term, which shows that the frame the strangers sent was real.
func TestQuorumOverTLS(t *testing.T) {
	ca, other := newTestCA(t, "quorum-ca"), newTestCA(t, "stranger-ca")
	cfgs := testConfigs(t, 3)
	logs := make([]*logBuffer, 3)
	for i := range cfgs {
		// The terms must not move on their own: no election on a busy machine.
		cfgs[i].ElectionTimeout = time.Second
	}
	loggers := make([]*slog.Logger, 3)
	for i := range cfgs {
		sealed(&cfgs[i], ca, ca.issue(t, fmt.Sprintf("node-%d", cfgs[i].NodeID)))
		cfgs[i].AuthorizePeer = func(s tls.ConnectionState) bool {
			return strings.HasPrefix(s.PeerCertificates[0].Subject.CommonName, "node-")
		}
		logs[i] = &logBuffer{}
		loggers[i] = slog.New(slog.NewTextHandler(logs[i], &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	nodes, leader := startQuorumWith(t, cfgs, loggers)
	var follower *Coordinator
	for _, c := range nodes {
		if c != leader {
			follower = c
		}
	}
	register(t, follower, 1, 2, 3)
	if r := createOne(t, follower, CreateTopicSpec{Name: "sealed", NumPartitions: 1, ReplicationFactor: 3}); r.Err != nil {
		t.Fatalf("create through follower %d over TLS: %v", follower.cfg.NodeID, r.Err)
	}
	if len(logs[0].lines("peer authenticated")) == 0 || len(logs[0].lines(`subject="CN=node-`)) == 0 {
		t.Fatal("node 1 logged no authenticated peer with its subject")
	}
	var leaderLog *logBuffer
	for i, c := range nodes {
		if c == leader {
			leaderLog = logs[i]
		}
	}
	before := viewOf(t, nodes, leader)
	addr := leader.cfg.AdvertisedAddr
	dialTCP := func(t *testing.T) net.Conn {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return nc
	}
	// Under TLS 1.3 the client's handshake ends before the server has
	// checked its certificate: the refusal arrives on the first read.
	tryTLS := func(t *testing.T, certs ...tls.Certificate) {
		nc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool, Certificates: certs})
		if err != nil {
			t.Logf("refused in the handshake: %v", err)
			return
		}
		expectClosed(t, nc, registerFrame())
	}
	otherCert, intruderCert := other.issue(t, "node-9"), ca.issue(t, "intruder")
	strangers := []struct {
		name string
		try  func(t *testing.T)
	}{
		{"plaintext register", func(t *testing.T) { expectClosed(t, dialTCP(t), registerFrame()) }},
		{"garbage", func(t *testing.T) { expectClosed(t, dialTCP(t), []byte("GET / HTTP/1.1\r\n\r\n\x00\xff")) }},
		{"plaintext vote", func(t *testing.T) {
			if err := forgedVote(leader, follower, nil); err == nil {
				t.Fatal("a plaintext vote was answered")
			}
		}},
		{"TLS without a certificate", func(t *testing.T) { tryTLS(t) }},
		{"certificate from another CA", func(t *testing.T) {
			if err := forgedVote(leader, follower, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{otherCert}}); err == nil {
				t.Fatal("a vote signed by another CA was answered")
			}
			tryTLS(t, otherCert)
		}},
		{"our CA but not a node", func(t *testing.T) {
			if err := forgedVote(leader, follower, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{intruderCert}}); err == nil {
				t.Fatal("a vote from a certificate AuthorizePeer refuses was answered")
			}
		}},
	}
	for _, s := range strangers {
		t.Run(s.name, s.try)
	}
	strangersChangedNothing(t, nodes, leader, before, leaderLog)
	if err := forgedVote(leader, follower, cfgs[0].ClientTLS); err != nil {
		t.Fatalf("the forged vote with a node's certificate: %v", err)
	}
	forgedVoteLanded(t, nodes, leader, before)
}

// strangersChangedNothing checks, once what got in had time to act, that
// the quorum is as before the strangers came, that none registered broker
// 99, and that the leader logged one refusal line for all of them.
func strangersChangedNothing(t *testing.T, nodes []*Coordinator, leader *Coordinator, before quorumView, leaderLog *logBuffer) {
	t.Helper()
	time.Sleep(500 * time.Millisecond) // let anything that got in take effect
	if after := viewOf(t, nodes, leader); !after.equal(before) {
		t.Fatalf("strangers changed the quorum:\nbefore %+v\nafter  %+v", before, after)
	}
	if b := leader.Metadata().Broker(99); b != nil {
		t.Fatalf("a stranger registered broker 99: %+v", b)
	}
	if got := leaderLog.lines("refused a connection"); len(got) != 1 || !strings.Contains(got[0], "source=127.0.0.1") {
		t.Fatalf("refusals logged %d times, want once for 127.0.0.1: %q", len(got), got)
	}
}

// forgedVoteLanded is the control for the strangers' forged votes: the
// same vote sent as a node moved the leader's term by 100.
func forgedVoteLanded(t *testing.T, nodes []*Coordinator, leader *Coordinator, before quorumView) {
	t.Helper()
	if term := leader.raft.CurrentTerm(); term < before.terms[slices.Index(nodes, leader)]+100 {
		t.Fatalf("control: the forged vote did not land (term %d), so the strangers' votes prove nothing", term)
	}
}

// TestNodeFromAnotherCACannotJoin starts a non-voter whose certificate and
// trust store come from another CA: it never joins. A non-voter with a
// certificate from the quorum's CA does.
func TestNodeFromAnotherCACannotJoin(t *testing.T) {
	ca, other := newTestCA(t, "quorum-ca"), newTestCA(t, "stranger-ca")
	cfgs := testConfigs(t, 1)
	sealed(&cfgs[0], ca, ca.issue(t, "node-1"))
	voter := start(t, cfgs[0])

	joiner := func(ca *testCA, id int32) Config {
		cfg := cfgs[0]
		cfg.NodeID, cfg.Voter, cfg.Dir = id, false, t.TempDir()
		cfg.ListenAddr = freeAddr(t)
		cfg.AdvertisedAddr = cfg.ListenAddr
		sealed(&cfg, ca, ca.issue(t, fmt.Sprintf("node-%d", id)))
		return cfg
	}
	onlyFriendJoins(t, voter, joiner(other, 2), joiner(ca, 3))
}

// onlyFriendJoins starts stranger (node 2), which must not get ready
// within 3 s, then friend (node 3), which must: voter's quorum is then
// nodes 1 and 3.
func onlyFriendJoins(t *testing.T, voter *Coordinator, stranger, friend Config) {
	t.Helper()
	s, err := New(stranger, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err == nil {
		t.Fatal("the stranger joined the quorum")
	}
	f := start(t, friend)
	conf := voter.raft.GetConfiguration()
	if err := conf.Error(); err != nil {
		t.Fatal(err)
	}
	var ids []raft.ServerID
	for _, s := range conf.Configuration().Servers {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []raft.ServerID{"1", "3"}) || !f.Ready() {
		t.Fatalf("quorum members %v, want [1 3]", ids)
	}
}

func TestControllerTLSValidation(t *testing.T) {
	ca := newTestCA(t, "ca")
	good := DefaultConfig()
	sealed(&good, ca, ca.issue(t, "node-1"))
	if err := good.Validate(); err != nil {
		t.Fatalf("a sealed config: %v", err)
	}
	cases := []struct {
		name, want string
		edit       func(*Config)
	}{
		{"client auth requested", "ssl.client.auth must be required", func(c *Config) { c.ServerTLS.ClientAuth = tls.VerifyClientCertIfGiven }},
		{"client auth none", "ssl.client.auth must be required", func(c *Config) { c.ServerTLS.ClientAuth = tls.NoClientCert }},
		{"no truststore", "no truststore", func(c *Config) { c.ServerTLS.ClientCAs = nil }},
		{"no keystore", "no keystore", func(c *Config) { c.ServerTLS.Certificates = nil }},
		{"no client certificate", "no client certificate", func(c *Config) { c.ClientTLS.Certificates = nil }},
		{"listener only", "must be set together", func(c *Config) { c.ClientTLS = nil }},
		{"dialing only", "must be set together", func(c *Config) { c.ServerTLS = nil }},
	}
	for _, tc := range cases {
		cfg := good
		s, cl := *good.ServerTLS.Clone(), *good.ClientTLS.Clone()
		cfg.ServerTLS, cfg.ClientTLS = &s, &cl
		tc.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	cfg := testConfigs(t, 1)[0]
	sealed(&cfg, ca, ca.issue(t, "node-1"))
	cfg.ServerTLS.ClientAuth = tls.RequestClientCert
	if c, err := New(cfg, quietLogger()); err == nil {
		c.Close()
		t.Fatal("New started a controller listener that does not require client certificates")
	}
}

// TestStalledConnectionsAreBounded fills the listener with connections
// that never start their handshake: the next one is closed at once, and
// once the stalled ones go a node gets in again.
func TestStalledConnectionsAreBounded(t *testing.T) {
	ca := newTestCA(t, "ca")
	cfg := DefaultConfig()
	cfg.ListenAddr, cfg.AdvertisedAddr = "127.0.0.1:0", ""
	sealed(&cfg, ca, ca.issue(t, "node-1"))
	var out logBuffer
	served := make(chan struct{}, 1)
	m, err := listenMux(cfg, func(nc net.Conn) { nc.Close(); served <- struct{}{} }, slog.New(slog.NewTextHandler(&out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	addr := m.ln.Addr().String()
	var stalled []net.Conn
	defer func() {
		for _, nc := range stalled {
			nc.Close()
		}
	}()
	for range muxMaxPending {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		stalled = append(stalled, nc)
	}
	waitFor(t, "every stalled connection pending", func() bool { return len(m.pending) == muxMaxPending })
	if nc, err := dialController(addr, connRPC, 2*time.Second, cfg.ClientTLS, nil); err == nil {
		nc.Close()
		t.Fatal("a connection past the bound was admitted")
	}
	if got := out.lines("already in their handshake"); len(got) != 1 {
		t.Fatalf("the refusal past the bound logged %d times: %q", len(got), got)
	}
	for _, nc := range stalled {
		nc.Close()
	}
	waitFor(t, "the stalled connections released", func() bool { return len(m.pending) == 0 })
	nc, err := dialController(addr, connRPC, 2*time.Second, cfg.ClientTLS, nil)
	if err != nil {
		t.Fatalf("a node after the stalled connections went: %v", err)
	}
	defer nc.Close()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("the node's connection was never handed to the RPC server")
	}
}

// BenchmarkForwardedRPC is one controller RPC (a barrier) as a forwarder
// sends it to the active controller, on a reused connection, plaintext and
// over TLS: what sealing costs once the handshake is paid.
func BenchmarkForwardedRPC(b *testing.B) {
	for _, name := range []string{"plaintext", "tls"} {
		b.Run(name, func(b *testing.B) {
			cfg := testConfigs(b, 1)[0]
			if name == "tls" {
				ca := newTestCA(b, "ca")
				sealed(&cfg, ca, ca.issue(b, "node-1"))
			}
			controller := start(b, cfg)
			nc, err := dialController(controller.cfg.AdvertisedAddr, connRPC, 5*time.Second, cfg.ClientTLS, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			f := &forwarder{nc: nc, r: bufio.NewReader(nc)}
			req := &rpcRequest{Op: rpcBarrier}
			for b.Loop() {
				if resp, err := f.roundTrip(req); err != nil || resp.Code != 0 {
					b.Fatalf("barrier: %v %+v", err, resp)
				}
			}
		})
	}
}

// BenchmarkControllerDial is what a new controller connection costs:
// TCP connect, plus the TLS handshake with client certificates on both
// sides when sealed.
func BenchmarkControllerDial(b *testing.B) {
	for _, name := range []string{"plaintext", "tls"} {
		b.Run(name, func(b *testing.B) {
			sealedQuorum := name == "tls"
			cfg := DefaultConfig()
			cfg.ListenAddr, cfg.AdvertisedAddr = "127.0.0.1:0", ""
			if sealedQuorum {
				ca := newTestCA(b, "ca")
				sealed(&cfg, ca, ca.issue(b, "node-1"))
			}
			accepted := make(chan struct{}, 1)
			m, err := listenMux(cfg, func(nc net.Conn) { nc.Close(); accepted <- struct{}{} }, quietLogger())
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			for b.Loop() {
				nc, err := dialController(m.ln.Addr().String(), connRPC, 5*time.Second, cfg.ClientTLS, nil)
				if err != nil {
					b.Fatal(err)
				}
				<-accepted // routed: the server's side of the handshake is done too
				nc.Close()
			}
		})
	}
}
