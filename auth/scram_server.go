package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// scramSession is the server side of SCRAM-SHA-256/512 (RFC 5802, 7677)
// as Kafka's ScramSaslServer runs it:
//
//	client-first  n,[a=authzid],n=user,r=cnonce[,ext=value...]
//	server-first  r=cnonce+snonce,s=salt,i=iterations
//	client-final  c=base64(gs2 header),r=cnonce+snonce,p=proof
//	server-final  v=ServerSignature
//
// Only gs2 flag "n" is served: Kafka does no channel binding. An unknown
// user gets a server-first built from a fake credential and fails at
// client-final with the same message and the same work as a wrong
// password, so that the exchange does not tell which users exist (Kafka
// itself fails such a user one step earlier).
type scramSession struct {
	mech      ScramMechanism
	creds     Credentials
	state     scramState
	principal Principal

	cred        ScramCredential
	user        string // from client-first; the principal once proven
	gs2Header   string
	clientFirst string // client-first-message-bare
	serverFirst string
	nonce       string // cnonce + snonce
}

type scramState int

const (
	scramWantFirst scramState = iota
	scramWantFinal
	scramEnded
)

func newScramSession(m ScramMechanism, creds Credentials) *scramSession {
	return &scramSession{mech: m, creds: creds}
}

func (s *scramSession) Principal() Principal { return s.principal }

func (s *scramSession) Step(msg []byte) ([]byte, bool, error) {
	var (
		out  []byte
		done bool
		err  error
	)
	switch s.state {
	case scramWantFirst:
		out, err = s.first(msg)
		s.state = scramWantFinal
	case scramWantFinal:
		out, err = s.final(msg)
		done = err == nil
		s.state = scramEnded
	default:
		return nil, false, ErrIllegalSaslState
	}
	if err != nil {
		s.state, s.cred = scramEnded, ScramCredential{}
		return nil, false, err
	}
	return out, done, nil
}

// fail is every SCRAM failure: Kafka tells the client the same words
// whatever went wrong (SaslServerAuthenticator's message for a
// SaslException).
func (s *scramSession) fail(format string, args ...any) error {
	return &AuthError{
		Message: "Authentication failed during authentication due to invalid credentials with SASL mechanism " + s.mech.String(),
		Reason:  fmt.Sprintf(format, args...),
	}
}

func (s *scramSession) first(msg []byte) ([]byte, error) {
	if len(msg) > maxClientMessage {
		return nil, s.fail("client-first message of %d bytes", len(msg))
	}
	cf, err := parseClientFirst(string(msg))
	if err != nil {
		return nil, s.fail("invalid client-first message: %v", err)
	}
	if cf.authzid != "" && cf.authzid != cf.user {
		return nil, &AuthError{
			Message: "Authentication failed: Client requested an authorization id that is different from username",
			Reason:  "authzid " + quoteName(cf.authzid),
		}
	}
	cred, ok := ScramCredential{}, false
	if s.creds != nil {
		cred, ok = s.creds.ScramCredential(cf.user, s.mech)
	}
	if ok && cred.Iterations < ScramMinIterations {
		return nil, s.fail("iterations %d of user %s below the minimum %d", cred.Iterations, quoteName(cf.user), ScramMinIterations)
	}
	// The fake is made for every user, so that a known one costs the
	// same as an unknown one here too.
	if fake := fakeCredential(s.mech, cf.user); !ok || cred.Mechanism != s.mech {
		cred = fake
	}
	snonce := make([]byte, 24)
	rand.Read(snonce)
	s.cred, s.gs2Header, s.clientFirst = cred, cf.gs2Header, cf.bare
	s.nonce = cf.nonce + base64.RawURLEncoding.EncodeToString(snonce)
	s.user = cf.user
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(cred.Salt) +
		",i=" + strconv.Itoa(int(cred.Iterations))
	return []byte(s.serverFirst), nil
}

func (s *scramSession) final(msg []byte) ([]byte, error) {
	if len(msg) > maxClientMessage {
		return nil, s.fail("client-final message of %d bytes", len(msg))
	}
	withoutProof, cbind, nonce, proof, err := parseClientFinal(string(msg))
	if err != nil {
		return nil, s.fail("invalid client-final message: %v", err)
	}
	if cbind != s.gs2Header {
		return nil, s.fail("channel binding %q does not repeat the gs2 header", cbind)
	}
	// Kafka's ScramSaslServer accepts any nonce that ends with the one it
	// sent, and librdkafka 2.0 sends its own nonce in front of it; the
	// proof covers the nonce sent, so nothing is weakened.
	if !strings.HasSuffix(nonce, s.nonce) {
		return nil, s.fail("invalid client nonce in the final client message")
	}
	h, _ := s.mech.newHash()
	authMessage := []byte(s.clientFirst + "," + s.serverFirst + "," + withoutProof)
	clientSignature := mac(h, s.cred.StoredKey, authMessage)
	if len(proof) != len(clientSignature) {
		return nil, s.fail("proof of %d bytes, want %d", len(proof), len(clientSignature))
	}
	clientKey := make([]byte, len(proof))
	subtle.XORBytes(clientKey, proof, clientSignature)
	sum := h()
	sum.Write(clientKey)
	if !hmac.Equal(sum.Sum(nil), s.cred.StoredKey) {
		return nil, s.fail("invalid credentials for user %s", quoteName(s.user))
	}
	s.principal = User(s.user)
	serverSignature := mac(h, s.cred.ServerKey, authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSignature)), nil
}

// clientFirst is a parsed client-first message.
type clientFirst struct {
	gs2Header string // "n,," or "n,a=authzid,"
	authzid   string
	bare      string // n=user,r=nonce[,extensions]
	user      string // decoded saslname
	nonce     string
}

// parseClientFirst reads gs2-header n=saslname,r=nonce[,ext...] with the
// character classes of Kafka's ScramMessages: ASCII names, printable
// nonces. Extensions are refused: tokenauth needs delegation tokens,
// which gokafka does not have, and RFC 5802 defines no other.
func parseClientFirst(m string) (clientFirst, error) {
	var cf clientFirst
	flag, rest, ok := strings.Cut(m, ",")
	switch {
	case !ok:
		return cf, fmt.Errorf("no gs2 header")
	case strings.HasPrefix(flag, "p="):
		return cf, fmt.Errorf("channel binding %q is not supported", flag)
	case flag != "n":
		return cf, fmt.Errorf("gs2 flag %q is not \"n\"", flag)
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return cf, fmt.Errorf("gs2 header not terminated")
	}
	if authz != "" {
		a, ok := strings.CutPrefix(authz, "a=")
		if !ok {
			return cf, fmt.Errorf("gs2 authzid %q", authz)
		}
		name, err := decodeSaslName(a)
		if err != nil {
			return cf, fmt.Errorf("authzid: %w", err)
		}
		cf.authzid = name
	}
	cf.gs2Header, cf.bare = "n,"+authz+",", bare
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 {
		return cf, fmt.Errorf("want n= and r= attributes")
	}
	if len(attrs) > 2 {
		return cf, fmt.Errorf("extensions are not supported: %q", quoteName(strings.Join(attrs[2:], ",")))
	}
	u, ok := strings.CutPrefix(attrs[0], "n=")
	if !ok {
		return cf, fmt.Errorf("first attribute is not n=")
	}
	name, err := decodeSaslName(u)
	if err != nil {
		return cf, fmt.Errorf("user name: %w", err)
	}
	cf.user = name
	nonce, ok := strings.CutPrefix(attrs[1], "r=")
	if !ok || !printable(nonce) {
		return cf, fmt.Errorf("second attribute is not r=<printable nonce>")
	}
	cf.nonce = nonce
	return cf, nil
}

// parseClientFinal reads c=cbind,r=nonce[,ext...],p=proof and returns the
// message without its proof (part of AuthMessage) and the decoded values.
func parseClientFinal(m string) (withoutProof, cbind, nonce string, proof []byte, err error) {
	i := strings.LastIndex(m, ",p=")
	if i < 0 {
		return "", "", "", nil, fmt.Errorf("no proof")
	}
	withoutProof = m[:i]
	if proof, err = base64.StdEncoding.Strict().DecodeString(m[i+len(",p="):]); err != nil {
		return "", "", "", nil, fmt.Errorf("proof: %w", err)
	}
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) != 2 {
		return "", "", "", nil, fmt.Errorf("want exactly c= and r= before the proof")
	}
	c, ok := strings.CutPrefix(attrs[0], "c=")
	if !ok {
		return "", "", "", nil, fmt.Errorf("first attribute is not c=")
	}
	cb, err := base64.StdEncoding.Strict().DecodeString(c)
	if err != nil {
		return "", "", "", nil, fmt.Errorf("channel binding: %w", err)
	}
	if nonce, ok = strings.CutPrefix(attrs[1], "r="); !ok {
		return "", "", "", nil, fmt.Errorf("second attribute is not r=")
	}
	return withoutProof, string(cb), nonce, proof, nil
}

// decodeSaslName undoes RFC 5802's escaping of ',' and '=' in names
// (=2C, =3D) and keeps Kafka's alphabet: ASCII 1..127.
func decodeSaslName(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty")
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '=' && strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
			i += 2
		case c == '=' && strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
			i += 2
		case c == '=' || c == 0 || c > 0x7f:
			return "", fmt.Errorf("invalid character %q at %d", c, i)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// printable is RFC 5802's printable: ASCII 0x21..0x7e except ','.
func printable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == ',' {
			return false
		}
	}
	return true
}

// fakeSecret keys the fake credentials of unknown users: stable for the
// life of the process, so that asking twice about the same unknown user
// shows the same salt, as a real user's does.
var fakeSecret = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
})

// fakeCredential stands in for a user that does not exist: a salt derived
// from the name, and keys no proof can match.
func fakeCredential(m ScramMechanism, user string) ScramCredential {
	h, _ := m.newHash()
	seed := mac(h, fakeSecret(), []byte(m.String()+"\x00"+user))
	return ScramCredential{
		Mechanism:  m,
		Iterations: ScramMinIterations,
		Salt:       bytes.Clone(seed[:16]),
		StoredKey:  mac(h, seed, []byte("stored")),
		ServerKey:  mac(h, seed, []byte("server")),
	}
}
