package security

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type failure struct {
	name string
	run  func(t *testing.T, s *secured)
}

// failures are the checks beside the clients that need the secured
// cluster: what a client that cannot authenticate sees, and replication
// over the secured inter-broker listener.
func failures() []failure {
	return []failure{
		{"wrong-password", wrongPassword},
		{"unsupported-mechanism", unsupportedMechanism},
		{"plaintext-on-tls-port", plaintextOnTLS},
		{"request-before-authentication", requestBeforeAuth},
		{"replication-acks-all", replicationAcksAll},
		{"kafka-tools", kafkaTools},
	}
}

// pingErr is the error a franz-go client taking w in gets from its first
// request.
func pingErr(t *testing.T, s *secured, w way) error {
	cl := s.franz(t, w, kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
	return cl.Ping(ctx(t))
}

// wrongPassword: a wrong password, and an unknown user, are both
// SASL_AUTHENTICATION_FAILED with the same words, for both mechanisms.
func wrongPassword(t *testing.T, s *secured) {
	for _, w := range s.ways()[:2] {
		wrong, unknown := w, w
		wrong.pass, unknown.user = "wrong-"+w.pass, "nobody"
		errWrong, errUnknown := pingErr(t, s, wrong), pingErr(t, s, unknown)
		for _, err := range []error{errWrong, errUnknown} {
			if !errors.Is(err, kerr.SaslAuthenticationFailed) {
				t.Errorf("%s: got %v, want SASL_AUTHENTICATION_FAILED", w.mechanism, err)
			}
		}
		if errWrong != nil && errUnknown != nil && errWrong.Error() != errUnknown.Error() {
			t.Errorf("%s: a wrong password says %q, an unknown user %q: the difference tells which users exist",
				w.mechanism, errWrong, errUnknown)
		}
	}
}

// dialTLS opens a TLS connection to the SASL_SSL listener of node 1.
func dialTLS(t *testing.T, s *secured) net.Conn {
	cfg := s.layout.PKI.ClientTLS(nil)
	cfg.ServerName = "127.0.0.1"
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Nodes[0].KafkaAddr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes req on c and reads its response.
func roundTrip(t *testing.T, c net.Conn, req kmsg.Request) kmsg.Response {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("security-test")).AppendRequest(nil, req, 1)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		t.Fatalf("reading the response to %s: %v", kmsg.NameForKey(req.Key()), err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	skip := 4 // correlation id; no response here is flexible
	if err := resp.ReadFrom(body[skip:]); err != nil {
		t.Fatal(err)
	}
	return resp
}

// closed reports whether the peer closes c within a few seconds, reading
// and dropping whatever it sends first (a TLS alert, say).
func closed(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// unsupportedMechanism: a mechanism the listener does not enable is
// UNSUPPORTED_SASL_MECHANISM listing the enabled ones, and the
// connection closes. SCRAM-SHA-256 is one gokafka serves but this
// listener does not enable; GSSAPI one it does not serve.
func unsupportedMechanism(t *testing.T, s *secured) {
	for _, mech := range []string{"SCRAM-SHA-256", "GSSAPI"} {
		c := dialTLS(t, s)
		req := kmsg.NewPtrSASLHandshakeRequest()
		req.Version, req.Mechanism = 1, mech
		resp := roundTrip(t, c, req).(*kmsg.SASLHandshakeResponse)
		if resp.ErrorCode != kerr.UnsupportedSaslMechanism.Code ||
			!slices.Equal(resp.SupportedMechanisms, []string{"SCRAM-SHA-512", "PLAIN"}) {
			t.Errorf("SaslHandshake %s: error %d, mechanisms %v; want %d and [SCRAM-SHA-512 PLAIN]",
				mech, resp.ErrorCode, resp.SupportedMechanisms, kerr.UnsupportedSaslMechanism.Code)
		}
		if !closed(c) {
			t.Errorf("SaslHandshake %s: the connection stayed open", mech)
		}
	}
}

// plaintextOnTLS: a plaintext Kafka client on either TLS listener is
// closed without an answer.
func plaintextOnTLS(t *testing.T, s *secured) {
	for name, addr := range map[string]string{"SASL_SSL": s.Nodes[0].KafkaAddr, "SSL": s.layout.SSLAddr(s.Nodes[0])} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 0
		if _, err := c.Write(kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)); err != nil {
			t.Fatal(err)
		}
		if !closed(c) {
			t.Errorf("%s: a plaintext ApiVersions left the connection open", name)
		}
	}
}

// requestBeforeAuth: on a SASL listener, a request other than
// ApiVersions or SaslHandshake before authenticating closes the
// connection.
func requestBeforeAuth(t *testing.T, s *secured) {
	c := dialTLS(t, s)
	if _, err := c.Write(kmsg.NewRequestFormatter().AppendRequest(nil, kmsg.NewPtrMetadataRequest(), 1)); err != nil {
		t.Fatal(err)
	}
	if !closed(c) {
		t.Error("a Metadata request before SASL authentication left the connection open")
	}
}

// replicationAcksAll: with min.insync.replicas=3 an acks=all produce
// completes only once both followers have fetched the records over the
// inter-broker listener, SASL_SSL with SCRAM-SHA-512.
func replicationAcksAll(t *testing.T, s *secured) {
	const topic = "replicated"
	three := "3"
	s.topic(t, topic, map[string]*string{"min.insync.replicas": &three})
	w := s.ways()[0]
	cl := s.franz(t, w, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := range records {
		if err := cl.ProduceSync(ctx(t), &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatalf("acks=all record %d with min.insync.replicas=3: %v", i, err)
		}
	}
	td, err := kadm.NewClient(cl).ListTopics(ctx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	if p := td[topic].Partitions[0]; len(p.ISR) != 3 {
		t.Fatalf("ISR %v after acks=all produces, want all three replicas", p.ISR)
	}
}
