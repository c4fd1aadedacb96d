package coordinator

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

// saslUsers are who may connect in these tests: the nodes, and an
// intruder whose password is right but whom AuthorizePrincipal refuses.
var saslUsers = map[string]string{"node": "node-secret", "intruder": "intruder-secret"}

func withSASL(cfg *Config) {
	cfg.SASL = &ControllerSASL{Users: saslUsers, Username: "node", Password: "node-secret"}
	cfg.AuthorizePrincipal = func(p auth.Principal) bool { return p == auth.User("node") }
}

// TestQuorumOverSASL forms a quorum over SASL_PLAINTEXT controller
// listeners, forwards an operation from a follower, and then lets
// strangers knock on the leader's listener: a wrong password, SCRAM, no
// handshake at all, a handshake and then a registration, garbage, a huge
// announced frame, and a user that authenticates but may not
// ClusterAction. None changes the term, the leader, the Raft configuration
// or the brokers; the leader logs one line for all of them. Last, the
// same forged vote sent with a node's password moves the term, which
// shows that the strangers' frames were real.
func TestQuorumOverSASL(t *testing.T) {
	cfgs := testConfigs(t, 3)
	logs := make([]*logBuffer, 3)
	loggers := make([]*slog.Logger, 3)
	for i := range cfgs {
		cfgs[i].ElectionTimeout = time.Second // no election of its own on a busy machine
		withSASL(&cfgs[i])
		logs[i] = &logBuffer{}
		loggers[i] = slog.New(slog.NewTextHandler(logs[i], &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	nodes, leader := startQuorumWith(t, cfgs, loggers)
	var follower *Coordinator
	var leaderLog *logBuffer
	for i, c := range nodes {
		if c == leader {
			leaderLog = logs[i]
		} else {
			follower = c
		}
	}
	register(t, follower, 1, 2, 3)
	if r := createOne(t, follower, CreateTopicSpec{Name: "sasl", NumPartitions: 1, ReplicationFactor: 3}); r.Err != nil {
		t.Fatalf("create through follower %d over SASL: %v", follower.cfg.NodeID, r.Err)
	}
	if len(leaderLog.lines(`principal=User:node`)) == 0 {
		t.Fatal("the leader logged no peer authenticated as User:node")
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
	dialAs := func(t *testing.T, mech sasl.Mechanism, want ...string) {
		nc, err := dialController(addr, connRPC, 3*time.Second, nil, mech)
		if err == nil {
			nc.Close()
			t.Fatalf("dialing with %s: admitted", mech.Name())
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("dialing with %s: %v, want %s", mech.Name(), err, w)
			}
		}
	}
	huge := binary.BigEndian.AppendUint32(nil, 1<<31-1)
	strangers := []struct {
		name string
		try  func(t *testing.T)
	}{
		{"wrong password", func(t *testing.T) {
			dialAs(t, plain.Auth{User: "node", Pass: "wrong"}.AsMechanism(), "SASL_AUTHENTICATION_FAILED", "Invalid username or password")
		}},
		{"SCRAM", func(t *testing.T) {
			dialAs(t, scram.Auth{User: "node", Pass: "node-secret"}.AsSha256Mechanism(), "UNSUPPORTED_SASL_MECHANISM")
		}},
		{"no handshake", func(t *testing.T) { expectClosed(t, dialTCP(t), registerFrame()) }},
		{"handshake, then register", func(t *testing.T) {
			expectClosedAfterHandshake(t, dialTCP(t), registerFrame())
		}},
		{"garbage", func(t *testing.T) { expectClosed(t, dialTCP(t), []byte("GET / HTTP/1.1\r\n\r\n\x00\xff")) }},
		{"huge announced frame", func(t *testing.T) { expectClosed(t, dialTCP(t), append(huge, 0, 17, 0, 1)) }},
		{"plaintext vote", func(t *testing.T) {
			if err := forgedVote(leader, follower, nil); err == nil {
				t.Fatal("a vote without SASL was answered")
			}
		}},
		{"vote with a wrong password", func(t *testing.T) {
			if err := forgedVoteAs(leader, follower, nil, plain.Auth{User: "node", Pass: "nope"}.AsMechanism()); err == nil {
				t.Fatal("a vote with a wrong password was answered")
			}
		}},
		{"vote from a user that may not ClusterAction", func(t *testing.T) {
			if err := forgedVoteAs(leader, follower, nil, plain.Auth{User: "intruder", Pass: "intruder-secret"}.AsMechanism()); err == nil {
				t.Fatal("a vote from a principal AuthorizePrincipal refuses was answered")
			}
		}},
	}
	for _, s := range strangers {
		t.Run(s.name, s.try)
	}
	strangersChangedNothing(t, nodes, leader, before, leaderLog)
	if strings.Contains(leaderLog.buf.String(), "node-secret") {
		t.Fatal("a password reached the log")
	}

	if err := forgedVoteAs(leader, follower, nil, cfgs[0].SASL.mechanism()); err != nil {
		t.Fatalf("the forged vote with a node's password: %v", err)
	}
	forgedVoteLanded(t, nodes, leader, before)
}

// expectClosedAfterHandshake sends a PLAIN handshake, reads its answer,
// then sends payload in place of SaslAuthenticate: the listener closes.
func expectClosedAfterHandshake(t *testing.T, nc net.Conn, payload []byte) {
	t.Helper()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write(handshakeFrame(1, "PLAIN"))
	if _, err := protocol.ReadFrame(nc, 1<<10, nil); err != nil {
		t.Fatalf("the handshake was not answered: %v", err)
	}
	expectClosed(t, nc, payload)
}

// TestNodeWithWrongPasswordCannotJoin starts a voter on SASL_SSL (TLS
// without client certificates, SASL/PLAIN inside) and a non-voter that
// presents a wrong password: it never joins. One with the right password
// does.
func TestNodeWithWrongPasswordCannotJoin(t *testing.T) {
	ca := newTestCA(t, "quorum-ca")
	cfgs := testConfigs(t, 1)
	saslSSL(&cfgs[0], ca, ca.issue(t, "node-1"), "node-secret")
	voter := start(t, cfgs[0])
	joiner := func(id int32, password string) Config {
		cfg := cfgs[0]
		cfg.NodeID, cfg.Voter, cfg.Dir = id, false, t.TempDir()
		cfg.ListenAddr = freeAddr(t)
		cfg.AdvertisedAddr = cfg.ListenAddr
		saslSSL(&cfg, ca, ca.issue(t, fmt.Sprintf("node-%d", id)), password)
		return cfg
	}
	onlyFriendJoins(t, voter, joiner(2, "guess"), joiner(3, "node-secret"))
}

func TestControllerSASLValidation(t *testing.T) {
	good := DefaultConfig()
	withSASL(&good)
	if err := good.Validate(); err != nil {
		t.Fatalf("a SASL config: %v", err)
	}
	ca := newTestCA(t, "ca")
	sslNoClientAuth := DefaultConfig()
	saslSSL(&sslNoClientAuth, ca, ca.issue(t, "node-1"), "node-secret")
	if err := sslNoClientAuth.Validate(); err != nil {
		t.Fatalf("SASL_SSL without client certificates: %v", err)
	}
	cases := []struct {
		name, want string
		edit       func(*ControllerSASL)
	}{
		{"no users", "no user_<name>", func(s *ControllerSASL) { s.Users = nil }},
		{"no username", "no username and password", func(s *ControllerSASL) { s.Username = "" }},
		{"no password", "no username and password", func(s *ControllerSASL) { s.Password = "" }},
	}
	for _, tc := range cases {
		cfg := good
		s := *good.SASL
		cfg.SASL = &s
		tc.edit(&s)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// saslSSL sets cfg's controller listener to SASL_SSL: TLS with cert and
// no client certificate asked for, SASL/PLAIN inside, presenting password.
func saslSSL(cfg *Config, ca *testCA, cert tls.Certificate, password string) {
	cfg.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	cfg.ClientTLS = &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}
	withSASL(cfg)
	cfg.SASL.Password = password
}

// handshakeFrame is a SaslHandshake request naming mechanism.
func handshakeFrame(version int16, mechanism string) []byte {
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Version, req.Mechanism = version, mechanism
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("t")).AppendRequest(nil, req, 1)
}

// authenticateFrame is a SaslAuthenticate v1 carrying a PLAIN token.
func authenticateFrame(user, password string) []byte {
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version, req.SASLAuthBytes = 1, []byte("\x00"+user+"\x00"+password)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("t")).AppendRequest(nil, req, 2)
}

// pipe is what serveSASL reads from and writes to in the tests below.
type pipe struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (p *pipe) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p *pipe) Write(b []byte) (int, error) { return p.out.Write(b) }

// answers decodes what serveSASL wrote: the error codes of its answers.
func (p *pipe) answers(t *testing.T) []int16 {
	t.Helper()
	var codes []int16
	for r := bytes.NewReader(p.out.Bytes()); r.Len() > 0; {
		frame, err := protocol.ReadFrame(r, 1<<10, nil)
		if err != nil || len(frame) < 6 {
			t.Fatalf("an answer that does not read back: %v", err)
		}
		codes = append(codes, int16(binary.BigEndian.Uint16(frame[4:])))
	}
	return codes
}

// TestServeSASL feeds the listener's side of the exchange what a node and
// what hostile peers send: only the node's exchange yields a principal,
// the answers carry Kafka's codes, a failed password tells no detail, and
// the byte after the exchange is left for the kind.
func TestServeSASL(t *testing.T) {
	hs, good := handshakeFrame(1, "PLAIN"), authenticateFrame("node", "node-secret")
	huge := binary.BigEndian.AppendUint32(nil, saslFrameMax+1)
	cases := []struct {
		name  string
		in    []byte
		codes []int16 // the answers' error codes
	}{
		{"nothing", nil, nil},
		{"huge announced frame", append(huge, bytes.Repeat([]byte{1}, 64)...), nil},
		{"truncated frame", hs[:len(hs)-2], nil},
		{"handshake v0", handshakeFrame(0, "PLAIN"), nil},
		{"ApiVersions first", kmsg.NewRequestFormatter().AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 1), nil},
		{"SCRAM", handshakeFrame(1, "SCRAM-SHA-512"), []int16{int16(protocol.UnsupportedSaslMechanism)}},
		{"GSSAPI", handshakeFrame(1, "GSSAPI"), []int16{int16(protocol.UnsupportedSaslMechanism)}},
		{"handshake only", hs, []int16{0}},
		{"handshake twice", append(slices.Clone(hs), hs...), []int16{0}},
		{"wrong password", append(slices.Clone(hs), authenticateFrame("node", "guess")...), []int16{0, int16(protocol.SaslAuthenticationFailed)}},
		{"unknown user", append(slices.Clone(hs), authenticateFrame("nobody", "node-secret")...), []int16{0, int16(protocol.SaslAuthenticationFailed)}},
		{"register after the handshake", append(slices.Clone(hs), registerFrame()[1:]...), []int16{0}},
	}
	for _, tc := range cases {
		p := &pipe{in: bytes.NewReader(tc.in)}
		if got, err := serveSASL(p, saslUsers); err == nil {
			t.Errorf("%s: admitted as %s", tc.name, got)
		}
		if codes := p.answers(t); !slices.Equal(codes, tc.codes) {
			t.Errorf("%s: answered %v, want %v", tc.name, codes, tc.codes)
		}
		if strings.Contains(p.out.String(), "password") && !strings.Contains(p.out.String(), "Invalid username or password") {
			t.Errorf("%s: the answer hints at which part was wrong: %q", tc.name, p.out.String())
		}
	}
	p := &pipe{in: bytes.NewReader(slices.Concat(hs, good, []byte{connRPC}))}
	got, err := serveSASL(p, saslUsers)
	if err != nil || got != auth.User("node") {
		t.Fatalf("the node's exchange: %v, %v", got, err)
	}
	if codes := p.answers(t); !slices.Equal(codes, []int16{0, 0}) {
		t.Fatalf("the node's exchange answered %v", codes)
	}
	if rest, _ := io.ReadAll(p.in); !bytes.Equal(rest, []byte{connRPC}) {
		t.Fatalf("left %q after the exchange, want the kind byte", rest)
	}
}

func FuzzServeSASL(f *testing.F) {
	hs := handshakeFrame(1, "PLAIN")
	f.Add(slices.Concat(hs, authenticateFrame("node", "node-secret")))
	f.Add(slices.Concat(hs, authenticateFrame("node", "guess")))
	f.Add(slices.Concat(hs, authenticateFrame("", "")))
	f.Add(handshakeFrame(1, "SCRAM-SHA-256"))
	f.Add(binary.BigEndian.AppendUint32(nil, 1<<31-1))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p := &pipe{in: bytes.NewReader(in)}
		got, err := serveSASL(p, saslUsers)
		if err == nil && (got != auth.User("node") && got != auth.User("intruder") || !bytes.Contains(in, []byte(saslUsers[got.Name]))) {
			t.Fatalf("admitted %s without its password", got)
		}
		if p.out.Len() > 2*saslFrameMax {
			t.Fatalf("answered %d bytes", p.out.Len())
		}
	})
}
