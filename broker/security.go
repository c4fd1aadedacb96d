package broker

import (
	"context"
	"crypto/tls"
	"net/netip"
	"sync"
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
		c.b.refusals.log(c, "closing connection: TLS handshake failed", "err", err)
		return false
	}
	c.nc = tc
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 || c.sec.sasl() {
		return true // ANONYMOUS until SASL says otherwise
	}
	p, err := c.sec.PrincipalRules.FromCert(certs[0])
	if err != nil {
		c.b.refusals.log(c, "closing connection: no principal for the client certificate", "err", err)
		return false
	}
	c.principal = p
	return true
}

// refusalLog writes one line per source address and minute about
// connections refused before they authenticate: a scanner or a
// misconfigured client retrying in a loop must not flood the log.
type refusalLog struct {
	mu   sync.Mutex
	last map[netip.Addr]time.Time
}

// refusalLogSources bounds the addresses remembered; past it the oldest
// are forgotten first.
const refusalLogSources = 4096

func (r *refusalLog) log(c *conn, msg string, args ...any) {
	now := time.Now()
	r.mu.Lock()
	if r.last == nil {
		r.last = map[netip.Addr]time.Time{}
	}
	if t, ok := r.last[c.ip]; ok && now.Sub(t) < time.Minute {
		r.mu.Unlock()
		return
	}
	if len(r.last) >= refusalLogSources {
		r.forgetOldest()
	}
	r.last[c.ip] = now
	r.mu.Unlock()
	c.log.Warn(msg, args...)
}

func (r *refusalLog) forgetOldest() {
	var oldest netip.Addr
	var at time.Time
	for ip, t := range r.last {
		if at.IsZero() || t.Before(at) {
			oldest, at = ip, t
		}
	}
	delete(r.last, oldest)
}
