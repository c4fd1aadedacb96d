package auth

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// keystore is the certificate a TLS end presents. One read from a file is
// re-read when the file's modification time or size changes, looked at at
// most once a second, so that a certificate renewed on disk is served
// without a restart (Kafka needs an AlterConfigs call for that).
type keystore struct {
	path string                           // "" for inline PEM: never reloaded
	load func() (*tls.Certificate, error) // reads path afresh

	mu      sync.Mutex
	cert    *tls.Certificate
	checked time.Time   // last stat
	seen    os.FileInfo // the file version last loaded or refused
	onError func(error)
	told    string // the last error given to onError, not to repeat it
}

// keystoreRecheck is how often a handshake may stat the keystore file.
const keystoreRecheck = time.Second

// maxStoreFile bounds a keystore or truststore file: real ones are a few
// KiB, and a path pointed at a huge file must not eat the heap.
const maxStoreFile = 16 << 20

// jksMagic starts a JKS keystore file.
var jksMagic = []byte{0xfe, 0xed, 0xfe, 0xed}

func newKeystore(keys Keys) (*keystore, error) {
	typ := keyOr(keys, "ssl.keystore.type", "JKS")
	path, _ := keys("ssl.keystore.location")
	chain, _ := keys("ssl.keystore.certificate.chain")
	key, _ := keys("ssl.keystore.key")
	storePass, _ := keys("ssl.keystore.password")
	keyPass, _ := keys("ssl.key.password")
	if storePass != "" && strings.EqualFold(typ, "PEM") && (path != "" || chain != "" || key != "") {
		// Kafka's rule and words: a PEM store has no password of its own.
		return nil, fmt.Errorf("ssl.keystore.password: SSL key store password cannot be specified with PEM format, only key password may be specified")
	}
	switch {
	case chain != "" || key != "":
		if path != "" {
			return nil, fmt.Errorf("ssl.keystore.location=%s: both a keystore location and ssl.keystore.key are set", path)
		}
		if !strings.EqualFold(typ, "PEM") {
			return nil, fmt.Errorf("ssl.keystore.type=%s: ssl.keystore.key and ssl.keystore.certificate.chain need type PEM", typ)
		}
		cert, err := pemKeyPair([]byte(chain), []byte(key), keyPass)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.key: %w", err)
		}
		return &keystore{cert: cert}, nil
	case path == "":
		return nil, nil
	}
	ks := &keystore{path: path}
	ks.load = func() (*tls.Certificate, error) {
		data, err := readStoreFile(path)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(typ, "PEM") {
			return pemKeyPair(data, data, keyPass)
		}
		return pkcs12KeyPair(typ, data, storePass)
	}
	if err := ks.reload(); err != nil {
		return nil, err
	}
	return ks, nil
}

func keyOr(keys Keys, key, def string) string {
	if v, ok := keys(key); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func readStoreFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxStoreFile+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxStoreFile {
		return nil, fmt.Errorf("file larger than %d bytes", maxStoreFile)
	}
	return buf.Bytes(), nil
}

// current is the certificate to present, re-read first if the file
// changed. The error callback runs outside the lock, so that it may call
// Reload or log slowly.
func (k *keystore) current() *tls.Certificate {
	k.mu.Lock()
	var err error
	if k.path != "" && time.Since(k.checked) >= keystoreRecheck {
		err = k.reloadLocked()
	}
	var onError func(error)
	if err != nil && err.Error() != k.told {
		// A missing file fails every second; it is said once.
		k.told, onError = err.Error(), k.onError
	}
	cert := k.cert
	k.mu.Unlock()
	if onError != nil {
		onError(err)
	}
	return cert
}

func (k *keystore) setOnError(fn func(error)) {
	k.mu.Lock()
	k.onError = fn
	k.mu.Unlock()
}

func (k *keystore) reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reloadLocked()
}

// reloadLocked loads the file if it is not the version last seen. A
// version that fails to load is remembered too, so it is reported once.
func (k *keystore) reloadLocked() error {
	if k.path == "" {
		return nil
	}
	k.checked = time.Now()
	fi, err := os.Stat(k.path)
	if err != nil {
		return fmt.Errorf("ssl.keystore.location=%s: %w", k.path, err)
	}
	if k.seen != nil && fi.ModTime().Equal(k.seen.ModTime()) && fi.Size() == k.seen.Size() {
		return nil
	}
	k.seen = fi
	cert, err := k.load()
	if err != nil {
		return fmt.Errorf("ssl.keystore.location=%s: %w", k.path, err)
	}
	k.cert, k.told = cert, ""
	return nil
}

// pemKeyPair reads a certificate chain and a private key from PEM: PKCS#8
// ("PRIVATE KEY", as Kafka reads), or PKCS#1 and SEC 1 keys. An encrypted
// PKCS#8 key ("ENCRYPTED PRIVATE KEY") is decrypted with ssl.key.password.
func pemKeyPair(chainPEM, keyPEM []byte, keyPass string) (*tls.Certificate, error) {
	var chain [][]byte
	var keyDER []byte
	for rest := chainPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	for rest := keyPEM; keyDER == nil; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			keyDER = b.Bytes
		case "ENCRYPTED PRIVATE KEY":
			if keyPass == "" {
				return nil, fmt.Errorf("the private key is encrypted and ssl.key.password is not set")
			}
			der, err := decryptPKCS8(b.Bytes, []byte(keyPass))
			if err != nil {
				return nil, err
			}
			keyDER = der
		}
	}
	switch {
	case len(chain) == 0:
		return nil, fmt.Errorf("no CERTIFICATE in the PEM data")
	case keyDER == nil:
		return nil, fmt.Errorf("no PRIVATE KEY in the PEM data")
	}
	cert, err := tls.X509KeyPair(
		pemEncode("CERTIFICATE", chain...),
		pem.EncodeToMemory(&pem.Block{Type: keyType(keyDER), Bytes: keyDER}))
	if err != nil {
		return nil, err
	}
	return &cert, nil
}

// keyType names a DER key's PEM block for tls.X509KeyPair.
func keyType(der []byte) string {
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return "RSA PRIVATE KEY"
	}
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return "EC PRIVATE KEY"
	}
	return "PRIVATE KEY"
}

func pemEncode(typ string, ders ...[]byte) []byte {
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	return out
}

// pkcs12KeyPair reads a PKCS#12 keystore, including the AES/PBKDF2 ones
// keytool writes today. Java 9+ reads a PKCS#12 file whatever
// ssl.keystore.type says, so JKS (Kafka's default type) is tried as
// PKCS#12 too; a real JKS file is refused with the way to convert it. The
// key must be under the store password, as keytool makes it for PKCS#12.
func pkcs12KeyPair(typ string, data []byte, password string) (*tls.Certificate, error) {
	switch {
	case bytes.HasPrefix(data, jksMagic):
		return nil, fmt.Errorf("a JKS keystore; convert it with keytool -importkeystore -deststoretype PKCS12")
	case !strings.EqualFold(typ, "PKCS12") && !strings.EqualFold(typ, "JKS"):
		return nil, fmt.Errorf("ssl.keystore.type=%s: want PEM or PKCS12", typ)
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, fmt.Errorf("reading PKCS12 (ssl.keystore.password): %w", err)
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, c := range cas {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// loadTruststore reads the certificates peers are verified against; nil
// without a truststore, which means the system's roots, as Java falls
// back to its cacerts.
func loadTruststore(keys Keys) (*x509.CertPool, error) {
	typ := keyOr(keys, "ssl.truststore.type", "JKS")
	path, _ := keys("ssl.truststore.location")
	inline, _ := keys("ssl.truststore.certificates")
	password, _ := keys("ssl.truststore.password")
	switch {
	case inline != "":
		if path != "" {
			return nil, fmt.Errorf("ssl.truststore.location=%s: both a truststore location and ssl.truststore.certificates are set", path)
		}
		if !strings.EqualFold(typ, "PEM") {
			return nil, fmt.Errorf("ssl.truststore.type=%s: ssl.truststore.certificates needs type PEM", typ)
		}
		pool, err := pemPool([]byte(inline))
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.certificates: %w", err)
		}
		return pool, nil
	case path == "":
		return nil, nil
	}
	data, err := readStoreFile(path)
	if err != nil {
		return nil, fmt.Errorf("ssl.truststore.location=%s: %w", path, err)
	}
	pool, err := truststorePool(typ, data, password)
	if err != nil {
		return nil, fmt.Errorf("ssl.truststore.location=%s: %w", path, err)
	}
	return pool, nil
}

func truststorePool(typ string, data []byte, password string) (*x509.CertPool, error) {
	switch {
	case strings.EqualFold(typ, "PEM"):
		return pemPool(data)
	case bytes.HasPrefix(data, jksMagic):
		return nil, fmt.Errorf("a JKS truststore; convert it with keytool -importkeystore -deststoretype PKCS12")
	case !strings.EqualFold(typ, "PKCS12") && !strings.EqualFold(typ, "JKS"):
		return nil, fmt.Errorf("ssl.truststore.type=%s: want PEM or PKCS12", typ)
	}
	certs, err := pkcs12.DecodeTrustStore(data, password)
	if err != nil {
		return nil, fmt.Errorf("reading PKCS12 (ssl.truststore.password): %w", err)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no trusted certificate in the truststore")
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func pemPool(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no CERTIFICATE in the PEM data")
	}
	return pool, nil
}
