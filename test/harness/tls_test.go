package harness

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/gokafka/gokafka/auth"
)

// TestPKIFilesServeKafkaKeys checks that gokafka's own reader of Kafka's
// ssl.* keys takes the PKI's files in both keystore formats, and that a
// client of ClientTLS completes mutual TLS against it while one without a
// certificate is refused.
func TestPKIFilesServeKafkaKeys(t *testing.T) {
	p := NewPKI(t)
	srv, err := p.Server("node-1")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := p.Client("alice")
	if err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string]map[string]string{
		"PEM": {"ssl.keystore.type": "PEM", "ssl.keystore.location": srv.PEMFile,
			"ssl.truststore.type": "PEM", "ssl.truststore.location": p.CAFile, "ssl.client.auth": "required"},
		"PKCS12": {"ssl.keystore.type": "PKCS12", "ssl.keystore.location": srv.P12File,
			"ssl.keystore.password": p.Password, "ssl.key.password": p.Password,
			"ssl.truststore.type": "PKCS12", "ssl.truststore.location": p.TrustStoreP12,
			"ssl.truststore.password": p.Password, "ssl.client.auth": "required"},
	} {
		t.Run(name, func(t *testing.T) {
			server, err := auth.NewTLS(func(k string) (string, bool) { v, ok := keys[k]; return v, ok }, auth.Server)
			if err != nil {
				t.Fatal(err)
			}
			if cn, err := handshake(server.Config(), p.ClientTLS(alice)); err != nil || cn != "alice" {
				t.Fatalf("mTLS with alice's certificate: peer %q, %v", cn, err)
			}
			if _, err := handshake(server.Config(), p.ClientTLS(nil)); err == nil {
				t.Fatal("a client without a certificate completed the handshake of ssl.client.auth=required")
			}
		})
	}
}

// handshake runs TLS between server and client over a pipe and returns
// the common name of the client certificate the server saw.
func handshake(server, client *tls.Config) (string, error) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	client = client.Clone()
	client.ServerName = "127.0.0.1"
	done := make(chan error, 1)
	sc := tls.Server(a, server)
	go func() { done <- sc.Handshake(); a.Close() }()
	cerr := tls.Client(b, client).Handshake()
	b.Close()
	if serr := <-done; serr != nil {
		return "", serr
	}
	if cerr != nil {
		return "", cerr
	}
	return sc.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}
