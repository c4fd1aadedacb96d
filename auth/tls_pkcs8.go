package auth

import "fmt"

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo (RFC 5208).
func decryptPKCS8(der, password []byte) ([]byte, error) {
	return nil, fmt.Errorf("encrypted PEM private keys are not supported yet; decrypt it with openssl pkcs8")
}
