package broker

import (
	"context"
	"crypto/tls"
	"time"

	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/gokafka/gokafka/auth"
)

// Security is how one listener authenticates the clients that connect to
// it: listener.security.protocol.map, and the listener's ssl.* and sasl.*
// keys (listener.name.<l>. prefixes resolved).
type Security struct {
	Protocol string // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
	// TLS is the server side of SSL and SASL_SSL; its ClientAuth is
	// ssl.client.auth.
	TLS *tls.Config
	// PrincipalRules (ssl.principal.mapping.rules) name the principal of
	// a client certificate on an SSL listener.
	PrincipalRules auth.PrincipalRules
	// Mechanisms is sasl.enabled.mechanisms, for SASL_PLAINTEXT and
	// SASL_SSL; PlainUsers are the user_<name> options of the listener's
	// PlainLoginModule line.
	Mechanisms []string
	PlainUsers map[string]string
}

func (s *Security) tls() bool  { return s != nil && s.TLS != nil }
func (s *Security) sasl() bool { return s != nil && len(s.Mechanisms) > 0 }

// PeerSecurity is how this broker authenticates itself to the others on
// the inter-broker listener (inter.broker.listener.name).
type PeerSecurity struct {
	TLS  *tls.Config    // client side; nil on PLAINTEXT and SASL_PLAINTEXT
	SASL sasl.Mechanism // sasl.mechanism.inter.broker.protocol; nil without SASL
}

// tlsHandshakeTimeout bounds the handshake of a new TLS connection, so
// that a client which connects and sends nothing costs a goroutine for
// seconds, not for connections.max.idle.ms.
const tlsHandshakeTimeout = 10 * time.Second

// authenticateTLS runs the TLS handshake of a new connection and takes the
// principal of the client's certificate, if it sent one.
func (c *conn) authenticateTLS() bool {
	tc := tls.Server(c.nc, c.sec.TLS)
	ctx, cancel := context.WithTimeout(c.b.ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.refused("closing connection: TLS handshake failed", "err", err)
		return false
	}
	c.nc = tc
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 || c.sec.sasl() {
		return true // ANONYMOUS until SASL says otherwise
	}
	p, err := c.sec.PrincipalRules.FromCert(certs[0])
	if err != nil {
		c.refused("closing connection: no principal for the client certificate", "err", err)
		return false
	}
	c.principal = p
	return true
}

// refused logs, once a minute per source address, why a connection was
// closed before it authenticated.
func (c *conn) refused(msg string, args ...any) {
	if ok, _, suppressed := c.b.refusals.Note(c.nc.RemoteAddr(), time.Now()); ok {
		c.log.Warn(msg, append(args, "refused_since_last_line", suppressed)...)
	}
}
