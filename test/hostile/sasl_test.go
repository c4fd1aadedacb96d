package hostile

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// saslTarget is one node whose client listener is SASL_PLAINTEXT with PLAIN
// and SCRAM-SHA-256 enabled; the witness client logs in as admin.
func saslTarget(t *testing.T) *target {
	return newTargetWith(t, 1, []kgo.Opt{kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism())},
		"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
		`listener.name.plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";`)
}

// TestSASLRefusesBeforeAuthentication: on a SASL listener a request other
// than ApiVersions and the SASL ones, before authentication, closes the
// connection unanswered, and so does a handshake for a mechanism the
// listener does not enable (after saying which it does).
func TestSASLRefusesBeforeAuthentication(t *testing.T) {
	tg := saslTarget(t)
	nd := tg.c.Nodes[0]

	nc := dial(t, nd.KafkaAddr)
	if !answers(nc, 5*time.Second) {
		t.Fatal("ApiVersions before authentication is not answered")
	}
	nc.Write(request(kmsg.NewPtrMetadataRequest(), 2))
	if !closedByPeer(nc, 5*time.Second) {
		t.Error("Metadata before authentication did not close the connection")
	}

	nc = dial(t, nd.KafkaAddr)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "GSSAPI"
	resp := kmsg.NewPtrSASLHandshakeResponse()
	roundTrip(t, nc, hs, resp)
	if resp.ErrorCode != 33 || !slices.Equal(resp.SupportedMechanisms, []string{"PLAIN", "SCRAM-SHA-256"}) {
		t.Errorf("GSSAPI handshake: error %d, mechanisms %v; want 33 (UNSUPPORTED_SASL_MECHANISM) and [PLAIN SCRAM-SHA-256]",
			resp.ErrorCode, resp.SupportedMechanisms)
	}
	if !closedByPeer(nc, 5*time.Second) {
		t.Error("the connection stayed open after an unsupported mechanism")
	}

	nc = dial(t, nd.KafkaAddr)
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version, auth.SASLAuthBytes = 1, []byte("\x00admin\x00admin-secret")
	aresp := kmsg.NewPtrSASLAuthenticateResponse()
	roundTrip(t, nc, auth, aresp)
	if aresp.ErrorCode != 34 {
		t.Errorf("SaslAuthenticate without a handshake: error %d, want 34 (ILLEGAL_SASL_STATE)", aresp.ErrorCode)
	}
	tg.check()
}

// TestSASLBadCredentialsAndTokens: wrong passwords, malformed PLAIN and
// SCRAM messages and hostile v0 (bare) tokens each fail that connection
// alone; repeated failures log one line a minute per source.
func TestSASLBadCredentialsAndTokens(t *testing.T) {
	tg := saslTarget(t)
	nd := tg.c.Nodes[0]
	authenticate := func(mechanism string, token []byte) *kmsg.SASLAuthenticateResponse {
		t.Helper()
		nc := dial(t, nd.KafkaAddr)
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 1, mechanism
		roundTrip(t, nc, hs, kmsg.NewPtrSASLHandshakeResponse())
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.Version, req.SASLAuthBytes = 1, token
		resp := kmsg.NewPtrSASLAuthenticateResponse()
		roundTrip(t, nc, req, resp)
		if resp.ErrorCode != 0 && !closedByPeer(nc, 5*time.Second) {
			t.Errorf("%s %q: the connection stayed open after a failure", mechanism, token)
		}
		return resp
	}
	for _, tok := range [][]byte{
		[]byte("\x00admin\x00wrong"), []byte("\x00nobody\x00admin-secret"), []byte("other\x00admin\x00admin-secret"),
		nil, []byte("\x00\x00"), bytes.Repeat([]byte{0}, 70000),
	} {
		resp := authenticate("PLAIN", tok)
		if resp.ErrorCode != 58 {
			t.Errorf("PLAIN %.40q: error %d, want 58 (SASL_AUTHENTICATION_FAILED)", tok, resp.ErrorCode)
		}
	}
	if resp := authenticate("PLAIN", []byte("\x00admin\x00wrong")); resp.ErrorMessage == nil ||
		*resp.ErrorMessage != "Authentication failed: Invalid username or password" {
		t.Errorf("wrong password: message %v, want Kafka's, which does not say which part was wrong", resp.ErrorMessage)
	}
	for _, tok := range []string{"", "garbage", "n,,n=admin", "p=tls-server-end-point,,n=admin,r=x", "n,,n=nobody,r=abc",
		"n,,n=admin,r=" + strings.Repeat("x", 100000)} {
		if resp := authenticate("SCRAM-SHA-256", []byte(tok)); resp.ErrorCode != 58 && len(resp.SASLAuthBytes) == 0 {
			t.Errorf("SCRAM %.40q: error %d and no challenge", tok, resp.ErrorCode)
		}
	}

	// SaslHandshake v0: the next frames are bare tokens.
	nc := dial(t, nd.KafkaAddr)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 0, "PLAIN"
	roundTrip(t, nc, hs, kmsg.NewPtrSASLHandshakeResponse())
	huge := binary.BigEndian.AppendUint32(nil, 1<<31-1)
	nc.Write(huge)
	if !closedByPeer(nc, 5*time.Second) {
		t.Error("a bare token announcing 2 GiB did not close the connection")
	}
	nc = dial(t, nd.KafkaAddr)
	roundTrip(t, nc, hs, kmsg.NewPtrSASLHandshakeResponse())
	nc.Write(append(binary.BigEndian.AppendUint32(nil, 5), "\x00a\x00b"...))
	if !closedByPeer(nc, 5*time.Second) {
		t.Error("a failed bare PLAIN token did not close the connection")
	}
	nc = dial(t, nd.KafkaAddr)
	roundTrip(t, nc, hs, kmsg.NewPtrSASLHandshakeResponse())
	tok := []byte("\x00admin\x00admin-secret")
	nc.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(tok))), tok...))
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil || binary.BigEndian.Uint32(size[:]) != 0 {
		body := size[:]
		t.Errorf("a good bare PLAIN token: answer %x, %v; want an empty token", body, err)
	}
	if !answers(nc, 5*time.Second) {
		t.Error("no answer after a v0 authentication")
	}

	if n := strings.Count(nd.Log(), "SASL authentication failed"); n != 1 {
		t.Errorf("%d log lines about failed authentications from one source within a minute, want 1", n)
	}
	tg.check()
}

// TestSASLReauthentication: with connections.max.reauth.ms, a session
// ends: a client that re-authenticates (KIP-368, franz-go does) goes on
// producing, and a connection that does not is closed at its next request.
func TestSASLReauthentication(t *testing.T) {
	tg := newTargetWith(t, 1, []kgo.Opt{kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism())},
		"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN", "connections.max.reauth.ms=1500",
		`listener.name.plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";`)
	nd := tg.c.Nodes[0]

	nc := dial(t, nd.KafkaAddr)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	roundTrip(t, nc, hs, kmsg.NewPtrSASLHandshakeResponse())
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version, req.SASLAuthBytes = 1, []byte("\x00admin\x00admin-secret")
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	roundTrip(t, nc, req, resp)
	if resp.ErrorCode != 0 || resp.SessionLifetimeMillis != 1500 {
		t.Fatalf("authenticate: error %d, session lifetime %d ms; want 0 and 1500", resp.ErrorCode, resp.SessionLifetimeMillis)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 1
	roundTrip(t, nc, md, kmsg.NewPtrMetadataResponse())
	time.Sleep(2 * time.Second)
	nc.Write(request(md, 3))
	if !closedByPeer(nc, 5*time.Second) {
		t.Error("a request after the session expired was served")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := tg.client()
	defer cl.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		tg.produce(ctx, cl, 1) // fails the test if re-authentication breaks the client
	}
	tg.check()
}
