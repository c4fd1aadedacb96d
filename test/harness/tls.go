package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/coordinator"
)

// PKI is a throwaway certificate authority for tests: it issues server
// certificates for the nodes and client certificates for mTLS users, and
// writes each in the two keystore formats Kafka reads, so that the same
// files serve gokafka, Kafka, librdkafka, Python and the Java client.
//
// Keys are ECDSA P-256: quick to make, and every client we test speaks it.
type PKI struct {
	Dir string
	// CAFile is the CA certificate in PEM: ssl.truststore.type=PEM with
	// ssl.truststore.location, librdkafka's ssl.ca.location, Python's cafile.
	CAFile string
	// TrustStoreP12 is the CA in a PKCS12 truststore (password Password),
	// for ssl.truststore.type=PKCS12.
	TrustStoreP12 string
	// Password protects every PKCS12 file (store and key alike).
	Password string

	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pool  *x509.CertPool
}

// Identity is one issued certificate and its key, written out.
type Identity struct {
	Name string
	// PEMFile holds the unencrypted PKCS8 key then the chain (leaf, CA):
	// ssl.keystore.type=PEM, librdkafka's ssl.key.location and
	// ssl.certificate.location, Python's certfile.
	PEMFile string
	// P12File is the same key and chain in PKCS12 (password
	// PKI.Password): ssl.keystore.type=PKCS12.
	P12File string
	Cert    tls.Certificate
}

// NewPKI makes a CA in a directory of the test's.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	p, err := NewPKIIn(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// NewPKIIn makes a CA whose files go in dir, for callers without a
// testing.TB (the bench).
func NewPKIIn(dir string) (*PKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "gokafka test CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	ca, err := sign(tmpl, &key.PublicKey, nil, key)
	if err != nil {
		return nil, err
	}
	p := &PKI{Dir: dir, Password: "test-secret", ca: ca, caKey: key, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.CAFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o644); err != nil {
		return nil, err
	}
	trust, err := pkcs12.Modern2023.EncodeTrustStore([]*x509.Certificate{ca}, p.Password)
	if err != nil {
		return nil, fmt.Errorf("encoding the PKCS12 truststore: %w", err)
	}
	p.TrustStoreP12 = filepath.Join(dir, "truststore.p12")
	return p, os.WriteFile(p.TrustStoreP12, trust, 0o644)
}

// sign issues tmpl for pub, signed by parent's key (self-signed when parent
// is nil), valid from an hour ago (clock skew) for a day.
func sign(tmpl *x509.Certificate, pub any, parent *x509.Certificate, key *ecdsa.PrivateKey) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Server issues a server certificate named name whose SANs are 127.0.0.1,
// localhost and hosts (addresses or DNS names, e.g. a netns host's
// address). It also serves as a client certificate, as a broker's does on
// the inter-broker and controller listeners.
func (p *PKI) Server(name string, hosts ...string) (*Identity, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range append([]string{"127.0.0.1", "localhost"}, hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return p.issue(name, tmpl)
}

// Client issues a client certificate with subject CN=cn, whose principal
// under Kafka's default mapping is User:CN=cn.
func (p *PKI) Client(cn string) (*Identity, error) {
	return p.issue(cn, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// issue signs tmpl for a new key and writes name.pem and name.p12.
func (p *PKI) issue(name string, tmpl *x509.Certificate) (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := sign(tmpl, &key.PublicKey, p.ca, p.caKey)
	if err != nil {
		return nil, fmt.Errorf("issuing %s: %w", name, err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var pemData []byte
	pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
	pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.ca.Raw})...)
	p12, err := pkcs12.Modern2023.Encode(key, cert, []*x509.Certificate{p.ca}, p.Password)
	if err != nil {
		return nil, fmt.Errorf("encoding %s as PKCS12: %w", name, err)
	}
	id := &Identity{
		Name:    name,
		PEMFile: filepath.Join(p.Dir, name+".pem"),
		P12File: filepath.Join(p.Dir, name+".p12"),
		Cert:    tls.Certificate{Certificate: [][]byte{cert.Raw, p.ca.Raw}, PrivateKey: key, Leaf: cert},
	}
	// The PEM file holds an unencrypted key: owner-only, as a real one.
	if err := os.WriteFile(id.PEMFile, pemData, 0o600); err != nil {
		return nil, err
	}
	return id, os.WriteFile(id.P12File, p12, 0o600)
}

// ServerProps are the server.properties lines that give listener (its name
// in listeners=) the identity's PEM keystore and the CA as truststore, and
// ssl.client.auth=clientAuth unless it is "". The listener's protocol is
// the caller's to map.
func (p *PKI) ServerProps(listener string, id *Identity, clientAuth string) []string {
	pre := "listener.name." + strings.ToLower(listener) + "."
	lines := []string{
		pre + "ssl.keystore.type=PEM",
		pre + "ssl.keystore.location=" + id.PEMFile,
		pre + "ssl.truststore.type=PEM",
		pre + "ssl.truststore.location=" + p.CAFile,
	}
	if clientAuth != "" {
		lines = append(lines, pre+"ssl.client.auth="+clientAuth)
	}
	return lines
}

// ClientTLS is a crypto/tls client configuration that trusts the CA and,
// when id is not nil, presents id's certificate. The server name is left
// empty for the client library to fill from the address it dials.
func (p *PKI) ClientTLS(id *Identity) *tls.Config {
	cfg := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	if id != nil {
		cfg.Certificates = []tls.Certificate{id.Cert}
	}
	return cfg
}

// JavaClientProps are a Java client's properties for protocol (SSL or
// SASL_SSL) with PKCS12 stores: the truststore, and id's keystore when id
// is not nil. SASL lines are the caller's.
func (p *PKI) JavaClientProps(protocol string, id *Identity) []string {
	lines := []string{
		"security.protocol=" + protocol,
		"ssl.truststore.type=PKCS12",
		"ssl.truststore.location=" + p.TrustStoreP12,
		"ssl.truststore.password=" + p.Password,
	}
	if id != nil {
		lines = append(lines,
			"ssl.keystore.type=PKCS12",
			"ssl.keystore.location="+id.P12File,
			"ssl.keystore.password="+p.Password,
			"ssl.key.password="+p.Password)
	}
	return lines
}

// Secured is the listener layout of a secured cluster, as issue 14 runs
// one: SASL_SSL on KafkaAddr with SCRAM-SHA-512 and PLAIN, which is also
// the inter-broker listener (brokers authenticate as Admin with
// SCRAM-SHA-512); SSL with ssl.client.auth=required (mTLS) on a port of
// its own; and the controller listener on SSL with client certificates
// required. Each node gets its own server certificate.
type Secured struct {
	PKI           *PKI
	Admin         string
	AdminPassword string
	// Scram are further SCRAM-SHA-512 users (name → password) created with
	// Admin before the cluster first starts, as
	// `kafka-storage format --add-scram` does.
	Scram map[string]string
	// Plain are the users (name → password) of the PLAIN login line.
	Plain map[string]string

	mu       sync.Mutex
	sslAddrs map[*Node]string
}

// scramIterations is the fewest SCRAM-SHA-512 iterations Kafka accepts.
const scramIterations = 4096

// Listen is the Listen of the layout, for StartWith.
func (s *Secured) Listen(nd *Node) ([]string, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return nil, err
	}
	sslAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	id, err := s.PKI.Server(fmt.Sprintf("node-%d-%s", nd.ID, filepath.Base(nd.Dir)))
	if err != nil {
		return nil, err
	}
	if err := s.bootstrapScram(nd); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.sslAddrs == nil {
		s.sslAddrs = map[*Node]string{}
	}
	s.sslAddrs[nd] = sslAddr
	s.mu.Unlock()
	lines := []string{
		fmt.Sprintf("listeners=SASL_SSL://%s,SSL://%s,CONTROLLER://%s", nd.KafkaAddr, sslAddr, nd.CtrlAddr),
		fmt.Sprintf("advertised.listeners=SASL_SSL://%s,SSL://%s", nd.KafkaAddr, sslAddr),
	}
	lines = append(lines, s.PKI.ServerProps("SASL_SSL", id, "")...)
	lines = append(lines, s.PKI.ServerProps("SSL", id, "required")...)
	return append(lines, s.PKI.ServerProps("CONTROLLER", id, "required")...), nil
}

// bootstrapScram records the SCRAM users in the node's metadata directory
// before its first start, as `gokafka-server format --add-scram` would.
func (s *Secured) bootstrapScram(nd *Node) error {
	users := map[string]string{s.Admin: s.AdminPassword}
	maps.Copy(users, s.Scram)
	var creds []coordinator.UserScram
	for name, pass := range users {
		salt := make([]byte, 32)
		rand.Read(salt)
		cred, err := auth.NewScramCredential(auth.ScramSHA512, []byte(pass), salt, scramIterations)
		if err != nil {
			return err
		}
		creds = append(creds, coordinator.UserScram{User: name, Credential: cred})
	}
	return coordinator.WriteBootstrapScram(filepath.Join(nd.DataDir(), "__cluster_metadata-0"), creds)
}

// Props are the lines every node shares: protocols, mechanisms, the
// inter-broker listener and the JAAS lines.
func (s *Secured) Props() []string {
	plain := `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required`
	for _, name := range slices.Sorted(maps.Keys(s.Plain)) {
		plain += fmt.Sprintf(` user_%s="%s"`, name, s.Plain[name])
	}
	return []string{
		"listener.security.protocol.map=SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:SSL",
		"inter.broker.listener.name=SASL_SSL",
		"sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN",
		"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
		fmt.Sprintf(`listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`,
			s.Admin, s.AdminPassword),
		plain + ";",
	}
}

// SSLAddr is the node's mTLS listener.
func (s *Secured) SSLAddr(nd *Node) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sslAddrs[nd]
}

// StartSecuredT starts n nodes in the layout s for a test, as StartT does.
func StartSecuredT(t testing.TB, s *Secured, n int, extra ...string) *Cluster {
	t.Helper()
	return StartWithT(t, Binary(t), n, s.Listen, append(s.Props(), extra...)...)
}
