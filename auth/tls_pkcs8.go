package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
)

// An encrypted PEM key ("ENCRYPTED PRIVATE KEY") is a PKCS#8
// EncryptedPrivateKeyInfo (RFC 5208). Kafka decrypts it with Java's
// javax.crypto; the standard library has no such function, so this reads
// the scheme every current tool writes (openssl pkcs8 -topk8 -v2, keytool,
// Java): PBES2 (RFC 8018) with PBKDF2 and AES-CBC. The legacy PBES1
// schemes (DES, RC2, MD5) are refused by name.

type encryptedPKCS8 struct {
	Algo algorithmIdentifier
	Data []byte
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type pbes2Params struct {
	KDF    algorithmIdentifier
	Scheme algorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                 `asn1:"optional"`
	PRF        algorithmIdentifier `asn1:"optional"`
}

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	aesKeySizes   = map[string]int{
		"2.16.840.1.101.3.4.1.2": 16, "2.16.840.1.101.3.4.1.22": 24, "2.16.840.1.101.3.4.1.42": 32,
	}
)

// maxPBKDF2Iterations bounds the work a key file can ask for.
const maxPBKDF2Iterations = 10_000_000

var errKeyPassword = errors.New("cannot decrypt the private key: wrong ssl.key.password or a damaged key")

// decryptPKCS8 returns the PKCS#8 PrivateKeyInfo inside an
// EncryptedPrivateKeyInfo.
func decryptPKCS8(der, password []byte) ([]byte, error) {
	var info encryptedPKCS8
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("encrypted private key: not PKCS#8 DER")
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("encrypted private key: scheme %v is not supported; re-encrypt it with openssl pkcs8 -topk8 -v2 aes-256-cbc", info.Algo.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("encrypted private key: PBES2 parameters: %v", err)
	}
	keyLen, ok := aesKeySizes[params.Scheme.Algorithm.String()]
	if !ok {
		return nil, fmt.Errorf("encrypted private key: cipher %v is not supported; want AES-CBC", params.Scheme.Algorithm)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.Scheme.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("encrypted private key: bad AES IV")
	}
	key, err := pbes2Key(params.KDF, password, keyLen)
	if err != nil {
		return nil, err
	}
	if len(info.Data) == 0 || len(info.Data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("encrypted private key: data is not whole AES blocks")
	}
	block, _ := aes.NewCipher(key)
	plain := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, info.Data)
	return unpad(plain)
}

func pbes2Key(kdf algorithmIdentifier, password []byte, keyLen int) ([]byte, error) {
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("encrypted private key: key derivation %v is not supported; want PBKDF2", kdf.Algorithm)
	}
	var p pbkdf2Params
	if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("encrypted private key: PBKDF2 parameters: %v", err)
	}
	if p.Iterations < 1 || p.Iterations > maxPBKDF2Iterations || (p.KeyLength != 0 && p.KeyLength != keyLen) {
		return nil, fmt.Errorf("encrypted private key: PBKDF2 iterations %d, key length %d", p.Iterations, p.KeyLength)
	}
	var prf func() hash.Hash
	switch a := p.PRF.Algorithm; {
	case len(a) == 0 || a.Equal(oidHMACSHA1): // the DEFAULT
		prf = sha1.New
	case a.Equal(oidHMACSHA256):
		prf = sha256.New
	case a.Equal(oidHMACSHA384):
		prf = sha512.New384
	case a.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, fmt.Errorf("encrypted private key: PRF %v is not supported", a)
	}
	return pbkdf2.Key(prf, string(password), p.Salt, p.Iterations, keyLen)
}

// unpad strips PKCS#7 padding; bad padding is almost always a wrong
// password.
func unpad(b []byte) ([]byte, error) {
	n := int(b[len(b)-1])
	if n == 0 || n > aes.BlockSize || n > len(b) {
		return nil, errKeyPassword
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, errKeyPassword
		}
	}
	return b[:len(b)-n], nil
}
