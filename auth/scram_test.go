package auth

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// credMap is Credentials from a map, as the quorum's image would answer.
type credMap map[string]ScramCredential

func (c credMap) ScramCredential(user string, m ScramMechanism) (ScramCredential, bool) {
	cr, ok := c[user+"/"+m.String()]
	return cr, ok
}

func testCreds(t testing.TB) credMap {
	c := credMap{}
	for _, m := range []ScramMechanism{ScramSHA256, ScramSHA512} {
		for user, iters := range map[string]int32{"alice": 4096, "a,b=c": 8192} {
			cr, err := NewScramCredential(m, []byte(user+"-secret"), []byte("salt-of-"+user), iters)
			if err != nil {
				t.Fatal(err)
			}
			c[user+"/"+m.String()] = cr
		}
	}
	return c
}

func scramMech(m ScramMechanism, a scram.Auth) sasl.Mechanism {
	if m == ScramSHA512 {
		return a.AsSha512Mechanism()
	}
	return a.AsSha256Mechanism()
}

func TestScramWithFranzGo(t *testing.T) {
	creds := testCreds(t)
	for _, m := range []ScramMechanism{ScramSHA256, ScramSHA512} {
		for _, user := range []string{"alice", "a,b=c"} {
			s := newSession(t, m.String(), nil, creds)
			if err := exchange(t, scramMech(m, scram.Auth{User: user, Pass: user + "-secret"}), s); err != nil {
				t.Fatalf("%v %q: %v", m, user, err)
			}
			if s.Principal() != User(user) {
				t.Fatalf("principal %v", s.Principal())
			}
			if _, _, err := s.Step([]byte("n,,n=alice,r=x")); !errors.Is(err, ErrIllegalSaslState) {
				t.Fatalf("step after the end: %v", err)
			}
		}
	}
}

func TestScramFailures(t *testing.T) {
	creds := testCreds(t)
	for _, m := range []ScramMechanism{ScramSHA256, ScramSHA512} {
		failed := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + m.String()
		for name, a := range map[string]scram.Auth{
			"wrong password": {User: "alice", Pass: "a,b=c-secret"},
			"unknown user":   {User: "mallory", Pass: "alice-secret"},
			"token":          {User: "alice", Pass: "alice-secret", IsToken: true},
		} {
			t.Run(m.String()+"/"+name, func(t *testing.T) {
				s := newSession(t, m.String(), nil, creds)
				wantAuthError(t, exchange(t, scramMech(m, a), s), failed)
				if s.Principal() != (Principal{}) {
					t.Fatalf("a failed exchange has principal %v", s.Principal())
				}
			})
		}
		err := exchange(t, scramMech(m, scram.Auth{Zid: "admin", User: "alice", Pass: "alice-secret"}), newSession(t, m.String(), nil, creds))
		wantAuthError(t, err, "Authentication failed: Client requested an authorization id that is different from username")
		// No credential store at all fails like an unknown user.
		err = exchange(t, scramMech(m, scram.Auth{User: "alice", Pass: "alice-secret"}), newSession(t, m.String(), nil, nil))
		wantAuthError(t, err, failed)
	}
}

// An unknown user sees a server-first message just like a known one, with
// the same salt on every attempt, and fails only at client-final.
func TestScramUnknownUserLooksReal(t *testing.T) {
	first := func() string {
		s := newSession(t, "SCRAM-SHA-256", nil, testCreds(t))
		out, done, err := s.Step([]byte("n,,n=mallory,r=abc"))
		if err != nil || done {
			t.Fatalf("client-first of an unknown user: %v %v", done, err)
		}
		return string(out)
	}
	a, b := first(), first()
	salt := func(m string) string { return strings.Split(m, ",")[1] }
	if salt(a) != salt(b) || !strings.HasPrefix(a, "r=abc") || !strings.HasSuffix(a, ",i=4096") {
		t.Fatalf("server-first messages %q and %q", a, b)
	}
}

// RFC 7677 section 3: the SCRAM-SHA-256 example exchange, user "user",
// password "pencil".
func TestScramRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	cred, err := NewScramCredential(ScramSHA256, []byte("pencil"), salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	salted, _ := pbkdf2.Key(sha256.New, "pencil", salt, 4096, 32)
	if fromSalted, _ := ScramFromSalted(ScramSHA256, salted, salt, 4096); string(fromSalted.StoredKey) != string(cred.StoredKey) {
		t.Fatal("ScramFromSalted and NewScramCredential disagree")
	}
	const (
		nonce       = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
		clientFinal = "c=biws,r=" + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
		serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
	)
	s := newScramSession(ScramSHA256, nil)
	s.state, s.cred, s.gs2Header, s.nonce = scramWantFinal, cred, "n,,", nonce
	s.clientFirst = "n=user,r=rOprNGfwEbeRWgbNEkqO"
	s.serverFirst = "r=" + nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	out, done, err := s.Step([]byte(clientFinal))
	if err != nil || !done || string(out) != serverFinal {
		t.Fatalf("got %q %v %v, want %q", out, done, err, serverFinal)
	}
}

func TestScramCredentialBounds(t *testing.T) {
	for _, it := range []int32{0, 4095, 16385} {
		if _, err := NewScramCredential(ScramSHA256, []byte("p"), []byte("s"), it); err == nil {
			t.Errorf("iterations %d accepted", it)
		}
	}
	if _, err := NewScramCredential(ScramMechanism(3), []byte("p"), []byte("s"), 4096); err == nil {
		t.Error("unknown mechanism accepted")
	}
	if _, err := ScramFromSalted(ScramSHA512, make([]byte, 32), []byte("s"), 4096); err == nil {
		t.Error("a SHA-256-sized salted password accepted for SHA-512")
	}
	if _, err := ScramFromSalted(ScramSHA256, make([]byte, 32), nil, 4096); err == nil {
		t.Error("empty salt accepted")
	}
}

// A stored credential below Kafka's minimum iterations is refused.
func TestScramStoredIterationsTooFew(t *testing.T) {
	cr := testCreds(t)["alice/SCRAM-SHA-256"]
	cr.Iterations = 1
	s := newSession(t, "SCRAM-SHA-256", nil, credMap{"alice/SCRAM-SHA-256": cr})
	_, _, err := s.Step([]byte("n,,n=alice,r=abc"))
	wantAuthError(t, err, "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256")
}

func TestScramHostile(t *testing.T) {
	const failed = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
	firsts := []string{
		"", "n", "n,", "y,,n=alice,r=abc", "p=tls-unique,,n=alice,r=abc", "n,,", "n,,n=alice",
		"n,,r=abc,n=alice", "n,,n=,r=abc", "n,,n=al=ice,r=abc", "n,,n=al\xffice,r=abc", "n,,n=alice,r=",
		"n,,n=alice,r=a b", "n,x=y,n=alice,r=abc", "n,a=,n=alice,r=abc", "n,,n=alice,r=abc,foo=bar",
		"n,,m=ext,n=alice,r=abc", "n,,n=alice,r=abc," + strings.Repeat("x", maxClientMessage),
	}
	for _, m := range firsts {
		_, _, err := newSession(t, "SCRAM-SHA-256", nil, testCreds(t)).Step([]byte(m))
		wantAuthError(t, err, failed)
	}
	finals := []string{
		"", "c=biws", "c=biws,r=abc", "c=biws,r=abcX,p=AAAA", "c=biws,r=abcX,p=!!!", "c=eSws,r=abcX,p=AAAA",
		"c=biws,r=abcX,e=1,p=AAAA", "r=abcX,c=biws,p=AAAA", "c=###,r=abcX,p=AAAA",
	}
	for _, m := range finals {
		s := newSession(t, "SCRAM-SHA-256", nil, testCreds(t))
		out, _, err := s.Step([]byte("n,,n=alice,r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		nonce := strings.TrimPrefix(strings.Split(string(out), ",")[0], "r=")
		_, _, err = s.Step([]byte(strings.ReplaceAll(m, "abcX", nonce)))
		wantAuthError(t, err, failed)
	}
}

// FuzzScramServer feeds any sequence of client messages (separated by
// '\n') to a session; "NONCE" in the later ones stands for the nonce the
// server chose, so that the fuzzer reaches the proof check. It must never
// panic, and must never authenticate without the password.
func FuzzScramServer(f *testing.F) {
	f.Add([]byte("n,,n=alice,r=abc\nc=biws,r=NONCE,p=AAAA"))
	f.Add([]byte("n,a=alice,n=alice,r=abc\nc=bixhPWFsaWNlLA==,r=NONCE,p=AAAA\nx"))
	f.Add([]byte("n,,n=mallory,r=abc\nc=biws,r=NONCE,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	f.Add([]byte("n,,n=a=2Cb=3Dc,r=abc\nc=biws,r=NONCE,e=x,p=AAAA"))
	f.Add([]byte("p=x,,n=a,r=b"))
	creds := testCreds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSession(t, "SCRAM-SHA-256", nil, creds)
		nonce := "NONCE"
		for _, msg := range strings.Split(string(data), "\n") {
			out, done, err := s.Step([]byte(strings.ReplaceAll(msg, "NONCE", nonce)))
			if done {
				t.Fatalf("authenticated %v without the password", s.Principal())
			}
			if err != nil {
				return
			}
			if r, ok := strings.CutPrefix(strings.Split(string(out), ",")[0], "r="); ok {
				nonce = r
			}
		}
	})
}
