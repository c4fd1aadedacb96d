package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// exchange drives srv with franz-go's client side of mech, as a real
// client would, until one side ends.
func exchange(t *testing.T, mech sasl.Mechanism, srv Session) error {
	t.Helper()
	sess, msg, err := mech.Authenticate(context.Background(), "broker:9092")
	if err != nil {
		t.Fatalf("client start: %v", err)
	}
	for range 4 {
		out, done, err := srv.Step(msg)
		if err != nil {
			return err
		}
		clientDone, next, err := sess.Challenge(out)
		if err != nil {
			t.Fatalf("client refused the server's message %q: %v", out, err)
		}
		if done {
			if !clientDone {
				t.Fatalf("server done, client not")
			}
			return nil
		}
		if clientDone {
			t.Fatalf("client done, server not")
		}
		msg = next
	}
	t.Fatalf("exchange did not end")
	return nil
}

func newSession(t *testing.T, mech string, users map[string]string, creds Credentials) Session {
	t.Helper()
	s, err := NewSession(mech, users, creds)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantAuthError checks err is an *AuthError telling the client msg.
func wantAuthError(t *testing.T, err error, msg string) {
	t.Helper()
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *AuthError", err, err)
	}
	if ae.Message != msg {
		t.Fatalf("client told %q, want %q (reason %q)", ae.Message, msg, ae.Reason)
	}
}

func TestNewSessionUnknownMechanism(t *testing.T) {
	for _, m := range []string{"GSSAPI", "OAUTHBEARER", "plain", ""} {
		if _, err := NewSession(m, nil, nil); !errors.Is(err, ErrUnsupportedMechanism) {
			t.Errorf("%q: err = %v, want ErrUnsupportedMechanism", m, err)
		}
	}
}

var plainUsers = map[string]string{"admin": "admin-secret", "alice": "alice-secret"}

func TestPlainWithFranzGo(t *testing.T) {
	s := newSession(t, "PLAIN", plainUsers, nil)
	if err := exchange(t, plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism(), s); err != nil {
		t.Fatal(err)
	}
	if got := s.Principal(); got != User("alice") {
		t.Fatalf("principal %v", got)
	}
	if _, _, err := s.Step([]byte("\x00alice\x00alice-secret")); !errors.Is(err, ErrIllegalSaslState) {
		t.Fatalf("second step: %v", err)
	}
}

func TestPlainFailures(t *testing.T) {
	const bad = "Authentication failed: Invalid username or password"
	for _, tc := range []struct {
		name string
		auth plain.Auth
		msg  string
	}{
		{"wrong password", plain.Auth{User: "alice", Pass: "admin-secret"}, bad},
		{"unknown user", plain.Auth{User: "mallory", Pass: "alice-secret"}, bad},
		{"password prefix", plain.Auth{User: "alice", Pass: "alice-secre"}, bad},
		{"other authzid", plain.Auth{Zid: "admin", User: "alice", Pass: "alice-secret"},
			"Authentication failed: Client requested an authorization id that is different from username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := exchange(t, tc.auth.AsMechanism(), newSession(t, "PLAIN", plainUsers, nil))
			wantAuthError(t, err, tc.msg)
		})
	}
	t.Run("same authzid", func(t *testing.T) {
		s := newSession(t, "PLAIN", plainUsers, nil)
		if err := exchange(t, plain.Auth{Zid: "alice", User: "alice", Pass: "alice-secret"}.AsMechanism(), s); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPlainHostile(t *testing.T) {
	for _, tc := range []struct{ msg, client string }{
		{"", "Invalid SASL/PLAIN response: expected 3 tokens, got 1"},
		{"alice\x00alice-secret", "Invalid SASL/PLAIN response: expected 3 tokens, got 2"},
		{"\x00alice\x00alice-secret\x00", "Invalid SASL/PLAIN response: expected 3 tokens, got 4"},
		{"\x00\x00alice-secret", "Authentication failed: username not specified"},
		{"\x00alice\x00", "Authentication failed: password not specified"},
		{"\x00" + strings.Repeat("a", maxClientMessage) + "\x00x", "Authentication failed: SASL/PLAIN message too large"},
	} {
		_, _, err := newSession(t, "PLAIN", plainUsers, nil).Step([]byte(tc.msg))
		wantAuthError(t, err, tc.client)
	}
	// A nil user table refuses everyone rather than panicking.
	_, _, err := newSession(t, "PLAIN", nil, nil).Step([]byte("\x00alice\x00alice-secret"))
	wantAuthError(t, err, "Authentication failed: Invalid username or password")
}

func FuzzPlain(f *testing.F) {
	f.Add([]byte("\x00alice\x00alice-secret"))
	f.Add([]byte("alice\x00alice\x00alice-secret"))
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("x\x00alice\x00alice-secret"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		s := newSession(t, "PLAIN", plainUsers, nil)
		_, done, err := s.Step(msg)
		if done != (err == nil) {
			t.Fatalf("done %v with err %v", done, err)
		}
		if done && plainUsers[s.Principal().Name] == "" {
			t.Fatalf("authenticated %v with %q", s.Principal(), msg)
		}
	})
}
