package auth

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keyMap is Keys from a map.
func keyMap(m map[string]string) Keys {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// pki is a CA with a server and a client certificate, written as PEM
// files in a temporary directory.
type pki struct {
	ca                    *testCA
	dir                   string
	serverPEM, clientPEM  string // key and chain in one file
	caFile                string
	serverCert, serverKey []byte
	clientCert, clientKey []byte
}

func newPKI(t *testing.T) *pki {
	p := &pki{ca: newTestCA(t, "test-ca"), dir: t.TempDir()}
	p.serverCert, p.serverKey, _ = p.ca.issue(t, pkix.Name{CommonName: "broker"})
	p.clientCert, p.clientKey, _ = p.ca.issue(t, pkix.Name{CommonName: "alice", Organization: []string{"acme"}})
	p.serverPEM = p.write(t, "server.pem", append(append([]byte{}, p.serverKey...), p.serverCert...))
	p.clientPEM = p.write(t, "client.pem", append(append([]byte{}, p.clientKey...), p.clientCert...))
	p.caFile = p.write(t, "ca.pem", p.ca.pem)
	return p
}

func (p *pki) write(t *testing.T, name string, data []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *pki) serverKeys(clientAuth string) map[string]string {
	return map[string]string{
		"ssl.keystore.type": "PEM", "ssl.keystore.location": p.serverPEM,
		"ssl.truststore.type": "PEM", "ssl.truststore.location": p.caFile,
		"ssl.client.auth": clientAuth,
	}
}

func (p *pki) clientKeys(withCert bool) map[string]string {
	m := map[string]string{"ssl.truststore.type": "PEM", "ssl.truststore.certificates": string(p.ca.pem)}
	if withCert {
		m["ssl.keystore.type"] = "PEM"
		m["ssl.keystore.certificate.chain"] = string(p.clientCert)
		m["ssl.keystore.key"] = string(p.clientKey)
	}
	return m
}

func mustTLS(t *testing.T, keys map[string]string, role Role) *TLS {
	t.Helper()
	tl, err := NewTLS(keyMap(keys), role)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// handshake runs both ends over loopback TCP (whose buffers take the
// alert a failing end writes) and returns what the server saw.
func handshake(t *testing.T, server, client *tls.Config, serverName string) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc := client.Clone()
	cc.ServerName = serverName
	errc := make(chan error, 1)
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), cc)
		if err == nil {
			// TLS 1.3: the client is done before the server has checked
			// its certificate; a read sees the server's verdict.
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err = c.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
				err = nil
			}
			c.Close()
		}
		errc <- err
	}()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	s := tls.Server(nc, server)
	serr := s.Handshake()
	if serr != nil {
		nc.Close()
	}
	return s.ConnectionState(), errors.Join(serr, <-errc)
}

func TestTLSClientAuth(t *testing.T) {
	p := newPKI(t)
	withCert := mustTLS(t, p.clientKeys(true), Client).Config()
	noCert := mustTLS(t, p.clientKeys(false), Client).Config()
	for _, tc := range []struct {
		auth     string
		client   *tls.Config
		ok       bool
		peerCert bool
	}{
		{"required", withCert, true, true},
		{"required", noCert, false, false},
		{"requested", withCert, true, true},
		{"requested", noCert, true, false},
		{"none", withCert, true, false},
		{"", noCert, true, false},
	} {
		srv := mustTLS(t, p.serverKeys(tc.auth), Server).Config()
		cs, err := handshake(t, srv, tc.client, "localhost")
		if (err == nil) != tc.ok {
			t.Errorf("ssl.client.auth=%q: handshake err %v, want ok=%v", tc.auth, err, tc.ok)
			continue
		}
		if got := len(cs.PeerCertificates) > 0; tc.ok && got != tc.peerCert {
			t.Errorf("ssl.client.auth=%q: peer certificate %v, want %v", tc.auth, got, tc.peerCert)
		}
		if tc.peerCert && tc.ok {
			r, _ := ParsePrincipalRules("")
			if pr, err := r.FromCert(cs.PeerCertificates[0]); err != nil || pr != User("CN=alice,O=acme") {
				t.Errorf("principal %v %v", pr, err)
			}
		}
	}
}

func TestTLSClientOfAnotherCA(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	srv := mustTLS(t, p.serverKeys("required"), Server).Config()
	if _, err := handshake(t, srv, mustTLS(t, other.clientKeys(true), Client).Config(), "localhost"); err == nil {
		t.Fatal("a client of another CA was accepted")
	}
}

func TestTLSEndpointIdentification(t *testing.T) {
	p := newPKI(t)
	srv := mustTLS(t, p.serverKeys("none"), Server).Config()
	keys := p.clientKeys(false)
	if _, err := handshake(t, srv, mustTLS(t, keys, Client).Config(), "not-the-host"); err == nil {
		t.Fatal("https: a certificate for another host accepted")
	}
	keys["ssl.endpoint.identification.algorithm"] = ""
	if _, err := handshake(t, srv, mustTLS(t, keys, Client).Config(), "not-the-host"); err != nil {
		t.Fatalf("no identification: %v", err)
	}
	// Without identification the chain is still checked.
	keys["ssl.truststore.certificates"] = string(newTestCA(t, "other").pem)
	if _, err := handshake(t, srv, mustTLS(t, keys, Client).Config(), "not-the-host"); err == nil {
		t.Fatal("no identification: an untrusted chain accepted")
	}
}

func TestTLSProtocolsAndSuites(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		protocols, suites string
		min, max          uint16
		nSuites           int
	}{
		{"", "", tls.VersionTLS12, tls.VersionTLS13, 0},
		{"TLSv1.3", "", tls.VersionTLS13, tls.VersionTLS13, 0},
		{" TLSv1.2 ", "", tls.VersionTLS12, tls.VersionTLS12, 0},
		{"TLSv1.2,TLSv1.3", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", tls.VersionTLS12, tls.VersionTLS12, 2},
		{"TLSv1.2,TLSv1.3", "TLS_AES_128_GCM_SHA256", tls.VersionTLS13, tls.VersionTLS13, 0},
		{"TLSv1.2,TLSv1.3", "TLS_AES_256_GCM_SHA384,SSL_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", tls.VersionTLS12, tls.VersionTLS13, 1},
	} {
		keys := p.serverKeys("none")
		if tc.protocols != "" {
			keys["ssl.enabled.protocols"] = tc.protocols
		}
		keys["ssl.cipher.suites"] = tc.suites
		cfg := mustTLS(t, keys, Server).Config()
		if cfg.MinVersion != tc.min || cfg.MaxVersion != tc.max || len(cfg.CipherSuites) != tc.nSuites {
			t.Errorf("%q %q: min %x max %x suites %v", tc.protocols, tc.suites, cfg.MinVersion, cfg.MaxVersion, cfg.CipherSuites)
		}
	}
	// A TLS 1.2-only suite list still shakes hands with an ECDSA key.
	keys := p.serverKeys("none")
	keys["ssl.cipher.suites"] = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
	cs, err := handshake(t, mustTLS(t, keys, Server).Config(), mustTLS(t, p.clientKeys(false), Client).Config(), "localhost")
	if err != nil || cs.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Fatalf("suite %x %v", cs.CipherSuite, err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	p := newPKI(t)
	garbage := p.write(t, "garbage", []byte("not a keystore"))
	jks := p.write(t, "store.jks", append([]byte{0xfe, 0xed, 0xfe, 0xed}, make([]byte, 40)...))
	for _, tc := range []struct {
		role Role
		set  map[string]string
		want string // the error names the key and value
	}{
		{Server, map[string]string{"ssl.enabled.protocols": "TLSv1.1,TLSv1.2"}, "ssl.enabled.protocols=TLSv1.1,TLSv1.2: TLSv1.1 is insecure"},
		{Server, map[string]string{"ssl.enabled.protocols": "TLSv1"}, "ssl.enabled.protocols=TLSv1: TLSv1 is insecure"},
		{Server, map[string]string{"ssl.enabled.protocols": "TLSv9"}, `ssl.enabled.protocols=TLSv9: unknown protocol "TLSv9"`},
		{Server, map[string]string{"ssl.enabled.protocols": " , "}, "ssl.enabled.protocols= , : no protocol"},
		{Server, map[string]string{"ssl.cipher.suites": "TLS_BOGUS"}, `ssl.cipher.suites=TLS_BOGUS: unknown cipher suite "TLS_BOGUS"`},
		{Server, map[string]string{"ssl.enabled.protocols": "TLSv1.2", "ssl.cipher.suites": "TLS_AES_128_GCM_SHA256"}, "ssl.cipher.suites=TLS_AES_128_GCM_SHA256: no suite"},
		{Server, map[string]string{"ssl.client.auth": "always"}, "ssl.client.auth=always:"},
		{Server, map[string]string{"ssl.keystore.location": "/nonexistent/x.pem"}, "ssl.keystore.location=/nonexistent/x.pem:"},
		{Server, map[string]string{"ssl.keystore.location": garbage}, "ssl.keystore.location=" + garbage + ": no CERTIFICATE"},
		{Server, map[string]string{"ssl.keystore.location": garbage, "ssl.keystore.type": "PKCS12"}, "ssl.keystore.location=" + garbage + ": reading PKCS12"},
		{Server, map[string]string{"ssl.keystore.location": jks, "ssl.keystore.type": "JKS"}, "ssl.keystore.location=" + jks + ": a JKS keystore; convert"},
		{Server, map[string]string{"ssl.keystore.location": "", "ssl.keystore.type": "PEM"}, "ssl.keystore.location: a TLS listener needs a keystore"},
		{Server, map[string]string{"ssl.keystore.type": "PKCS12", "ssl.keystore.location": "", "ssl.keystore.key": string(p.serverKey)}, "ssl.keystore.type=PKCS12: ssl.keystore.key"},
		{Server, map[string]string{"ssl.keystore.key": string(p.serverKey), "ssl.keystore.certificate.chain": string(p.serverCert)}, "ssl.keystore.location=" + p.serverPEM + ": both"},
		{Server, map[string]string{"ssl.truststore.location": garbage}, "ssl.truststore.location=" + garbage + ": no CERTIFICATE"},
		{Server, map[string]string{"ssl.truststore.location": garbage, "ssl.truststore.type": "PKCS12"}, "ssl.truststore.location=" + garbage + ": reading PKCS12"},
		{Server, map[string]string{"ssl.truststore.location": "", "ssl.truststore.certificates": "junk"}, "ssl.truststore.certificates: no CERTIFICATE"},
		{Server, map[string]string{"ssl.truststore.location": "", "ssl.truststore.type": "JKS", "ssl.truststore.certificates": string(p.ca.pem)}, "ssl.truststore.type=JKS: ssl.truststore.certificates needs type PEM"},
		{Server, map[string]string{"ssl.keystore.password": "x"}, "ssl.keystore.password: SSL key store password cannot be specified with PEM format"},
		{Server, map[string]string{"ssl.keystore.location": "", "ssl.keystore.key": string(p.serverKey)}, "ssl.keystore.key: no CERTIFICATE"},
		{Client, map[string]string{"ssl.endpoint.identification.algorithm": "ldaps"}, "ssl.endpoint.identification.algorithm=ldaps:"},
	} {
		keys := p.serverKeys("none")
		for k, v := range tc.set {
			keys[k] = v
		}
		_, err := NewTLS(keyMap(keys), tc.role)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want prefix %q", tc.set, err, tc.want)
		}
	}
}

// A keystore file replaced on disk is served from the next handshake that
// comes a second after the last look; a bad replacement keeps the old
// certificate and is reported once.
func TestTLSKeystoreReload(t *testing.T) {
	p := newPKI(t)
	tl := mustTLS(t, p.serverKeys("none"), Server)
	var reported []error
	tl.OnReloadError(func(err error) {
		reported = append(reported, err)
		tl.Reload() // the callback runs outside the keystore's lock
	})
	client := mustTLS(t, p.clientKeys(false), Client).Config()
	serial := func() string {
		t.Helper()
		c1, c2 := net.Pipe()
		defer c1.Close()
		go tls.Server(c1, tl.Config()).Handshake()
		cc := client.Clone()
		cc.ServerName = "localhost"
		c := tls.Client(c2, cc)
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	// replace writes the file anew with a later mtime, and lets a
	// handshake look at it again (as a second passing would).
	replace := func(data []byte) {
		p.write(t, "server.pem", data)
		later := time.Now().Add(time.Minute * time.Duration(len(reported)+2))
		os.Chtimes(p.serverPEM, later, later)
		tl.keystore.mu.Lock()
		tl.keystore.checked = time.Time{}
		tl.keystore.mu.Unlock()
	}
	first := serial()
	newCert, newKey, _ := p.ca.issue(t, pkix.Name{CommonName: "broker"})
	replace(append(newKey, newCert...))
	second := serial()
	if second == first {
		t.Fatal("the replaced keystore was not picked up")
	}
	replace([]byte("truncated garbage"))
	if got := serial(); got != second || len(reported) != 1 || !strings.Contains(reported[0].Error(), "ssl.keystore.location=") {
		t.Fatalf("after a bad replacement: serial %s (want %s), reported %v", got, second, reported)
	}
	tl.keystore.mu.Lock()
	tl.keystore.checked = time.Time{}
	tl.keystore.mu.Unlock()
	serial()
	if len(reported) != 1 {
		t.Fatalf("the same bad file reported again: %v", reported)
	}
	// A file gone is said once too, however many handshakes look for it.
	os.Rename(p.serverPEM, p.serverPEM+".moved")
	for range 3 {
		tl.keystore.mu.Lock()
		tl.keystore.checked = time.Time{}
		tl.keystore.mu.Unlock()
		if got := serial(); got != second {
			t.Fatal("the certificate changed while its file was gone")
		}
	}
	if len(reported) != 2 {
		t.Fatalf("reported %v", reported)
	}
	os.Rename(p.serverPEM+".moved", p.serverPEM)
	// Within a second of the last look the file is not even looked at.
	p.write(t, "server.pem", append(append([]byte{}, p.serverKey...), p.serverCert...))
	tl.keystore.mu.Lock()
	tl.keystore.checked = time.Now()
	tl.keystore.mu.Unlock()
	if got := serial(); got != second {
		t.Fatal("the keystore was re-read within a second")
	}
	if err := tl.Reload(); err != nil || serial() != first {
		t.Fatalf("Reload: %v", err)
	}
}

// keytool makes the PKCS12 stores a Kafka operator has: AES-256/PBKDF2
// since Java 12's defaults.
func TestTLSKeytoolPKCS12(t *testing.T) {
	keytool, err := exec.LookPath("keytool")
	if err != nil {
		t.Skip("keytool not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(keytool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("keytool %v: %v\n%s", args, err, out)
		}
	}
	ks, ts, crt := filepath.Join(dir, "server.p12"), filepath.Join(dir, "trust.p12"), filepath.Join(dir, "server.crt")
	run("-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=localhost,OU=eng,O=acme",
		"-ext", "SAN=dns:localhost", "-validity", "2", "-storetype", "PKCS12", "-keystore", ks, "-storepass", "ks-secret", "-noprompt")
	run("-exportcert", "-alias", "broker", "-keystore", ks, "-storepass", "ks-secret", "-rfc", "-file", crt)
	run("-importcert", "-alias", "ca", "-file", crt, "-storetype", "PKCS12", "-keystore", ts, "-storepass", "ts-secret", "-noprompt")

	for _, typ := range []string{"PKCS12", "JKS", ""} { // Kafka's default type is JKS; Java reads PKCS12 anyway
		keys := map[string]string{"ssl.keystore.location": ks, "ssl.keystore.password": "ks-secret", "ssl.key.password": "ks-secret",
			"ssl.truststore.location": ts, "ssl.truststore.password": "ts-secret", "ssl.truststore.type": "PKCS12"}
		if typ != "" {
			keys["ssl.keystore.type"] = typ
		}
		srv := mustTLS(t, keys, Server)
		cli := mustTLS(t, map[string]string{"ssl.truststore.location": ts, "ssl.truststore.password": "ts-secret", "ssl.truststore.type": "PKCS12"}, Client)
		if _, err := handshake(t, srv.Config(), cli.Config(), "localhost"); err != nil {
			t.Fatalf("type %q: %v", typ, err)
		}
	}
	_, err = NewTLS(keyMap(map[string]string{"ssl.keystore.location": ks, "ssl.keystore.type": "PKCS12", "ssl.keystore.password": "wrong"}), Server)
	if err == nil || !strings.Contains(err.Error(), "ssl.keystore.location="+ks) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestTLSInlineServerKeystore(t *testing.T) {
	p := newPKI(t)
	srv := mustTLS(t, map[string]string{"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": string(p.serverCert),
		"ssl.keystore.key": string(p.serverKey)}, Server)
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, srv.Config(), mustTLS(t, p.clientKeys(false), Client).Config(), "localhost"); err != nil {
		t.Fatal(err)
	}
}
