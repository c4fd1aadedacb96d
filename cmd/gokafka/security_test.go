package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommandConfigSecurity reads client configs as Kafka's tools take
// them: each protocol and mechanism builds, and a bad value fails with
// one line naming the key and the value, never the password.
func TestCommandConfigSecurity(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, selfSignedPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	const scram = `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cret";`
	const plainJAAS = `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cret";`
	for _, tt := range []struct {
		name, config string
		opts         int    // client options it yields
		err          string // else a substring of the error
	}{
		{"plaintext", "security.protocol=PLAINTEXT\nclient.id=x", 1, ""},
		{"scram-256", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n" + scram, 1, ""},
		{"scram-512 over tls", "security.protocol=sasl_ssl\nsasl.mechanism=SCRAM-SHA-512\nssl.truststore.type=PEM\nssl.truststore.location=" + ca + "\n" + scram, 2, ""},
		{"plain with the scram module", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n" + scram, 1, ""},
		{"plain", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n" + plainJAAS, 1, ""},
		{"ssl", "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=" + ca + "\nssl.endpoint.identification.algorithm=", 1, ""},
		{"unknown protocol", "security.protocol=SASL_TLS", 0, "security.protocol=SASL_TLS: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},
		{"kafka's default mechanism", "security.protocol=SASL_PLAINTEXT\n" + scram, 0, "sasl.mechanism=GSSAPI: want PLAIN"},
		{"unknown mechanism", "security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\n" + scram, 0, "sasl.mechanism=OAUTHBEARER"},
		{"no jaas", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN", 0, "sasl.jaas.config: needed for sasl.mechanism=PLAIN"},
		{"bad jaas", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=x required password=\"s3cret\"", 0, "sasl.jaas.config"},
		{"other module", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=com.example.Login required password=\"s3cret\";", 0, "sasl.jaas.config=com.example.Login"},
		{"no user", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required password=\"s3cret\";", 0, "needs username and password"},
		{"missing truststore", "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=" + dir + "/none.pem", 0, "ssl.truststore.location=" + dir + "/none.pem"},
		{"unknown key", "security.protocol=SSL\nssl.provider=x", 0, "ssl.provider: not a client setting"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".properties")
		if err := os.WriteFile(path, []byte(tt.config+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		opts, err := clientProperties(path)
		switch {
		case tt.err == "" && (err != nil || len(opts) != tt.opts):
			t.Errorf("%s: %d options, %v; want %d", tt.name, len(opts), err, tt.opts)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: %v; want an error with %q", tt.name, err, tt.err)
		case err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s: the error shows the password or spans lines: %v", tt.name, err)
		}
	}
	code, _, stderr := runCLI("topics", "--list", "--bootstrap-server", "x:1", "--command-config", filepath.Join(dir, "unknown-protocol.properties"))
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "security.protocol=SASL_TLS") {
		t.Errorf("gokafka with a bad --command-config: exit %d, %q; want 1 and one line naming the key", code, stderr)
	}
}

// selfSignedPEM is a CA certificate for a truststore.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
