package security

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// servedSerial handshakes with the node's listener and returns the serial
// of the certificate it presents.
func servedSerial(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func serial(t *testing.T, id *harness.Identity) string {
	t.Helper()
	leaf, err := x509.ParseCertificate(id.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.String()
}

// replaceFile swaps path's content for data in one rename, as an operator
// (or cert-manager) rotating a keystore does.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".new", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// TestKeystoreReplacedOnDisk: a node serves a keystore replaced on disk
// from the next handshakes on, without a restart; a broken replacement
// keeps the certificate it had, and the log says so once.
func TestKeystoreReplacedOnDisk(t *testing.T) {
	pki := harness.NewPKI(t)
	first, err := pki.Server("first")
	if err != nil {
		t.Fatal(err)
	}
	second, err := pki.Server("second")
	if err != nil {
		t.Fatal(err)
	}
	keystore := t.TempDir() + "/node.pem"
	pem, _ := os.ReadFile(first.PEMFile)
	replaceFile(t, keystore, pem)
	c := harness.StartT(t, 1, append([]string{"listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:PLAINTEXT"},
		pki.ServerProps("PLAINTEXT", &harness.Identity{PEMFile: keystore}, "")...)...)
	nd := c.Nodes[0]
	client := pki.ClientTLS(nil)
	if got := servedSerial(t, nd.KafkaAddr, client); got != serial(t, first) {
		t.Fatalf("serving serial %s, want the first keystore's %s", got, serial(t, first))
	}

	pem, _ = os.ReadFile(second.PEMFile)
	replaceFile(t, keystore, pem)
	harness.WaitFor(t, "the replaced keystore to be served", 10*time.Second, func() bool {
		return servedSerial(t, nd.KafkaAddr, client) == serial(t, second)
	})

	replaceFile(t, keystore, []byte("-----BEGIN GARBAGE-----\n"))
	time.Sleep(2500 * time.Millisecond) // past the once-a-second check
	if got := servedSerial(t, nd.KafkaAddr, client); got != serial(t, second) {
		t.Errorf("after a broken replacement the node serves %s, want the last good %s", got, serial(t, second))
	}
	if n := strings.Count(nd.Log(), "keystore changed on disk but cannot be loaded"); n != 1 {
		t.Errorf("%d log lines about the broken keystore, want 1", n)
	}
}
