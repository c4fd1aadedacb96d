package auth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
)

// Keys returns the effective value of one ssl.* or sasl.* key for a
// listener; the caller has already resolved listener.name.<l>. prefixes.
type Keys func(key string) (value string, ok bool)

// Role says which end of a TLS connection a configuration is for.
type Role int

const (
	Server Role = iota
	Client
)

// TLS is one listener's (or one client's) TLS configuration built from
// Kafka's ssl.* keys. A keystore read from a file is re-read when the file
// changes (see Reload); everything else is fixed when it is built.
type TLS struct {
	cfg      *tls.Config
	keystore *keystore // nil without one
}

// NewTLS builds the TLS configuration of role from keys, with Kafka's
// defaults where a key is absent. Its errors name the key and its value:
// "ssl.keystore.location=/x: ...".
//
// Keys read: ssl.keystore.type (PEM, PKCS12; JKS, the default, is read
// when the file is in fact PKCS12, as Java 9+ does), ssl.keystore.location,
// ssl.keystore.password, ssl.key.password, ssl.keystore.certificate.chain
// and ssl.keystore.key (inline PEM, KIP-651), ssl.truststore.type,
// ssl.truststore.location, ssl.truststore.password,
// ssl.truststore.certificates, ssl.client.auth (server),
// ssl.enabled.protocols, ssl.cipher.suites and
// ssl.endpoint.identification.algorithm (client).
func NewTLS(keys Keys, role Role) (*TLS, error) {
	cfg := &tls.Config{}
	if err := setProtocols(cfg, keys); err != nil {
		return nil, err
	}
	ks, err := newKeystore(keys)
	if err != nil {
		return nil, err
	}
	roots, err := loadTruststore(keys)
	if err != nil {
		return nil, err
	}
	t := &TLS{cfg: cfg, keystore: ks}
	switch role {
	case Server:
		err = t.setServer(keys, roots)
	case Client:
		err = t.setClient(keys, roots)
	default:
		err = fmt.Errorf("unknown TLS role %d", role)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Config is the crypto/tls configuration to hand to tls.Server or
// tls.Client. A client dialing with tls.Client must set ServerName (or
// use tls.Dialer, which does) for host name verification.
func (t *TLS) Config() *tls.Config { return t.cfg }

func (t *TLS) setServer(keys Keys, roots *x509.CertPool) error {
	if t.keystore == nil {
		return fmt.Errorf("ssl.keystore.location: a TLS listener needs a keystore (or ssl.keystore.certificate.chain and ssl.keystore.key)")
	}
	t.cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return t.keystore.current(), nil }
	t.cfg.ClientCAs = roots
	v, _ := keys("ssl.client.auth")
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "none":
		t.cfg.ClientAuth = tls.NoClientCert
	case "requested":
		t.cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		t.cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return fmt.Errorf("ssl.client.auth=%s: want none, requested or required", v)
	}
	return nil
}

func (t *TLS) setClient(keys Keys, roots *x509.CertPool) error {
	if t.keystore != nil {
		t.cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return t.keystore.current(), nil
		}
	}
	t.cfg.RootCAs = roots
	v, ok := keys("ssl.endpoint.identification.algorithm")
	switch {
	case !ok || strings.EqualFold(v, "https"):
		return nil // Go verifies the host name against ServerName
	case v == "":
		// Verify the chain, not the name: crypto/tls has no switch for
		// that alone, so skip its check and redo the chain ourselves.
		t.cfg.InsecureSkipVerify = true
		t.cfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifyChain(cs, roots) }
		return nil
	}
	return fmt.Errorf("ssl.endpoint.identification.algorithm=%s: want https or empty", v)
}

// verifyChain checks the server's chain against roots without its name.
func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("tls: server sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

// OnReloadError sets what is told when a changed keystore file cannot be
// loaded (or stat'ed) during a handshake; the old certificate stays in
// use. The same error is told once, until a good file has been loaded.
func (t *TLS) OnReloadError(fn func(error)) {
	if t.keystore != nil {
		t.keystore.setOnError(fn)
	}
}

// Reload re-reads the keystore file now if it changed since it was last
// read, without waiting for the next handshake. On error the old
// certificate stays in use. Inline keystores never change.
func (t *TLS) Reload() error {
	if t.keystore == nil {
		return nil
	}
	return t.keystore.reload()
}
