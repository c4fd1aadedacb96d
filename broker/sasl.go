package broker

import (
	"errors"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

// saslConn is where a connection on a SASL listener stands in its
// authentication. Only the connection's reader touches it.
type saslConn struct {
	session auth.Session // the exchange under way; nil between exchanges
	// raw is set after a SaslHandshake v0: the next frames are bare SASL
	// tokens, not Kafka requests (the protocol before KIP-152).
	raw           bool
	authenticated bool
	principal     auth.Principal // once authenticated
	// expires is when the session ends (KIP-368, connections.max.reauth.ms);
	// zero for never. Past it the client must authenticate again.
	expires time.Time
}

// admitted reports whether the connection may send a request of key now.
// Before authentication (and once the session has expired) only the
// requests that authenticate are served, as Kafka's SaslServerAuthenticator
// does; anything else closes the connection.
func (c *conn) admitted(key int16) bool {
	s := c.sasl
	if s == nil {
		return true
	}
	switch kmsg.Key(key) {
	case kmsg.SASLHandshake, kmsg.SASLAuthenticate:
		return true
	case kmsg.ApiVersions:
		return !s.authenticated || !s.expired()
	}
	return s.authenticated && !s.expired() && s.session == nil
}

func (s *saslConn) expired() bool { return !s.expires.IsZero() && time.Now().After(s.expires) }

func handleSaslHandshake(b *Broker, c *conn, req *kmsg.SASLHandshakeRequest, resp *response) {
	out := kmsg.NewPtrSASLHandshakeResponse()
	s := c.sasl
	switch {
	case s == nil || s.session != nil || s.authenticated && req.Version == 0:
		// Kafka answers a handshake on a connection that needs none, or in
		// the middle of an exchange, this way; a v0 handshake cannot
		// re-authenticate (KIP-368 needs SaslAuthenticate).
		out.ErrorCode = int16(protocol.IllegalSaslState)
		resp.closeConn = s != nil
	case !slices.Contains(c.sec.Mechanisms, req.Mechanism):
		out.ErrorCode = int16(protocol.UnsupportedSaslMechanism)
		out.SupportedMechanisms = c.sec.Mechanisms
		resp.closeConn = true
	default:
		session, err := auth.NewSession(req.Mechanism, c.sec.PlainUsers, scramCredentials{b})
		if err != nil { // an enabled mechanism the build does not know: a config bug
			out.ErrorCode = int16(protocol.UnsupportedSaslMechanism)
			resp.closeConn = true
			break
		}
		s.session, s.raw = session, req.Version == 0
		out.SupportedMechanisms = c.sec.Mechanisms
	}
	if resp.closeConn {
		c.refused("closing connection: SASL handshake refused", "mechanism", req.Mechanism,
			"error_code", out.ErrorCode)
	}
	resp.complete(out)
}

func handleSaslAuthenticate(b *Broker, c *conn, req *kmsg.SASLAuthenticateRequest, resp *response) {
	out := kmsg.NewPtrSASLAuthenticateResponse()
	s := c.sasl
	if s == nil || s.session == nil || s.raw {
		out.ErrorCode = int16(protocol.IllegalSaslState)
		resp.closeConn = s != nil
		resp.complete(out)
		return
	}
	token, err := c.saslStep(req.SASLAuthBytes)
	if err != nil {
		out.ErrorCode = int16(protocol.SaslAuthenticationFailed)
		if errors.Is(err, auth.ErrIllegalSaslState) {
			out.ErrorCode = int16(protocol.IllegalSaslState)
		}
		out.ErrorMessage = kmsg.StringPtr(err.Error())
		resp.closeConn = true
		// connection.failed.authentication.delay.ms: a client guessing
		// passwords waits before it may try again.
		time.AfterFunc(b.cfg.FailedAuthenticationDelay, func() { resp.complete(out) })
		return
	}
	out.SASLAuthBytes = token
	if s.authenticated && s.session == nil && b.cfg.ReauthMax > 0 {
		out.SessionLifetimeMillis = b.cfg.ReauthMax.Milliseconds()
	}
	resp.complete(out)
}

// saslStep feeds one client token to the exchange under way and, when it
// completes, authenticates the connection.
func (c *conn) saslStep(token []byte) ([]byte, error) {
	s := c.sasl
	out, done, err := s.session.Step(token)
	if err != nil {
		reason := err.Error()
		if ae := (*auth.AuthError)(nil); errors.As(err, &ae) && ae.Reason != "" {
			reason = ae.Reason // what the client is not told
		}
		c.refused("closing connection: SASL authentication failed", "err", reason)
		s.session = nil
		return nil, err
	}
	if !done {
		return out, nil
	}
	p := s.session.Principal()
	s.session, s.raw = nil, false
	if s.authenticated && p != s.principal {
		// KIP-368: a connection keeps its principal for its whole life.
		return nil, errPrincipalChanged
	}
	s.authenticated, s.principal, c.principal = true, p, p
	s.expires = time.Time{}
	if c.b.cfg.ReauthMax > 0 {
		s.expires = time.Now().Add(c.b.cfg.ReauthMax)
	}
	return out, nil
}

// rawSASLToken answers one bare token of a SaslHandshake v0 exchange; the
// answer is a bare token too.
func (c *conn) rawSASLToken(frame []byte, read time.Time) (*response, bool) {
	resp := newResponse(protocol.RequestHeader{APIKey: -1}, read)
	token, err := c.saslStep(frame)
	if err != nil {
		return nil, false // Kafka closes a failed v0 exchange without a word
	}
	resp.raw = token
	if resp.raw == nil {
		resp.raw = []byte{}
	}
	resp.complete(nil)
	resp.handled = resp.completed
	return resp, true
}

// errPrincipalChanged fails a re-authentication as another principal.
var errPrincipalChanged = errors.New("Cannot change principals during re-authentication")

// scramCredentials looks SCRAM credentials up in the metadata image.
type scramCredentials struct{ b *Broker }

func (s scramCredentials) ScramCredential(user string, m auth.ScramMechanism) (auth.ScramCredential, bool) {
	cred, ok := s.b.coord.Metadata().Scram[user][m]
	return cred, ok
}
