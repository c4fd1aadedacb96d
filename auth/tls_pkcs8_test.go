package auth

import (
	"encoding/asn1"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// openssl writes the encrypted PEM keys operators have; each must load
// with the right ssl.key.password and be refused with a wrong one.
func TestEncryptedPEMKey(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	p := newPKI(t)
	plainKey := filepath.Join(p.dir, "key.pem")
	os.WriteFile(plainKey, p.serverKey, 0o600)
	for _, args := range [][]string{
		{"-v2", "aes-256-cbc"},
		{"-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"},
		{"-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512", "-iter", "1000"},
	} {
		out, err := exec.Command(openssl, append([]string{"pkcs8", "-topk8", "-in", plainKey, "-passout", "pass:key-secret"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
		keys := map[string]string{"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": string(p.serverCert),
			"ssl.keystore.key": string(out), "ssl.key.password": "key-secret"}
		tl, err := NewTLS(keyMap(keys), Server)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if _, err := handshake(t, tl.Config(), mustTLS(t, p.clientKeys(false), Client).Config(), "localhost"); err != nil {
			t.Fatalf("%v: handshake: %v", args, err)
		}
		keys["ssl.key.password"] = "wrong"
		if _, err := NewTLS(keyMap(keys), Server); err == nil {
			t.Fatalf("%v: a wrong ssl.key.password accepted", args)
		}
		delete(keys, "ssl.key.password")
		if _, err := NewTLS(keyMap(keys), Server); err == nil || !strings.Contains(err.Error(), "ssl.key.password is not set") {
			t.Fatalf("%v: no password: %v", args, err)
		}
	}
}

func TestDecryptPKCS8Hostile(t *testing.T) {
	for _, der := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x02, 0x01, 0x01}, []byte("garbage")} {
		if _, err := decryptPKCS8(der, []byte("x")); err == nil {
			t.Errorf("%x decrypted", der)
		}
	}
	// A PBES1 key (what openssl -v1 writes) is refused by name.
	pbes1 := encryptedPKCS8{Algo: algorithmIdentifier{Algorithm: []int{1, 2, 840, 113549, 1, 5, 3}}, Data: make([]byte, 16)}
	der, err := asn1.Marshal(pbes1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decryptPKCS8(der, []byte("x")); err == nil || !strings.Contains(err.Error(), "is not supported") {
		t.Errorf("PBES1: %v", err)
	}
}

func FuzzDecryptPKCS8(f *testing.F) {
	f.Add([]byte{0x30, 0x00}, "x")
	f.Add([]byte("0\x81\x9c0@\x06\t*\x86H\x86\xf7\r\x01\x05\r030\x1b\x06\t*\x86H\x86\xf7\r\x01\x05\x0c0\x0e\x04\x08saltsalt\x02\x02\x08\x000\x14\x06\x08*\x86H\x86\xf7\r\x03\x07\x04\x08ivivivivi"), "x")
	f.Fuzz(func(t *testing.T, der []byte, password string) {
		decryptPKCS8(der, []byte(password)) // must not panic
	})
}
