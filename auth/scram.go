package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// Kafka's bounds on SCRAM iterations (ScramMechanism.minIterations and
// maxIterations): a credential outside them is refused at creation, and
// one below the minimum is refused at authentication too.
const (
	ScramMinIterations = 4096
	ScramMaxIterations = 16384
)

// newHash is the hash a mechanism is named after.
func (m ScramMechanism) newHash() (func() hash.Hash, error) {
	switch m {
	case ScramSHA256:
		return sha256.New, nil
	case ScramSHA512:
		return sha512.New, nil
	}
	return nil, fmt.Errorf("unknown SCRAM mechanism %v", m)
}

// NewScramCredential salts password (RFC 5802 Hi(), PBKDF2 with HMAC) and
// derives what the quorum stores. The password itself is not kept.
func NewScramCredential(m ScramMechanism, password []byte, salt []byte, iterations int32) (ScramCredential, error) {
	h, err := m.newHash()
	if err != nil {
		return ScramCredential{}, err
	}
	if err := checkIterations(m, iterations); err != nil {
		return ScramCredential{}, err
	}
	salted, err := pbkdf2.Key(h, string(password), salt, int(iterations), h().Size())
	if err != nil {
		return ScramCredential{}, fmt.Errorf("%v: salting the password: %w", m, err)
	}
	return ScramFromSalted(m, salted, salt, iterations)
}

// ScramFromSalted derives the stored credential from a salted password, as
// AlterUserScramCredentials carries it: StoredKey = H(HMAC(salted,
// "Client Key")), ServerKey = HMAC(salted, "Server Key").
func ScramFromSalted(m ScramMechanism, saltedPassword, salt []byte, iterations int32) (ScramCredential, error) {
	h, err := m.newHash()
	if err != nil {
		return ScramCredential{}, err
	}
	if err := checkIterations(m, iterations); err != nil {
		return ScramCredential{}, err
	}
	if len(salt) == 0 {
		return ScramCredential{}, fmt.Errorf("%v: empty salt", m)
	}
	if len(saltedPassword) != h().Size() {
		return ScramCredential{}, fmt.Errorf("%v: salted password is %d bytes, want %d", m, len(saltedPassword), h().Size())
	}
	clientKey := mac(h, saltedPassword, []byte("Client Key"))
	sum := h()
	sum.Write(clientKey)
	return ScramCredential{
		Mechanism:  m,
		Iterations: iterations,
		Salt:       append([]byte(nil), salt...),
		StoredKey:  sum.Sum(nil),
		ServerKey:  mac(h, saltedPassword, []byte("Server Key")),
	}, nil
}

func checkIterations(m ScramMechanism, iterations int32) error {
	if iterations < ScramMinIterations || iterations > ScramMaxIterations {
		return fmt.Errorf("%v: iterations %d outside [%d, %d]", m, iterations, ScramMinIterations, ScramMaxIterations)
	}
	return nil
}

func mac(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}
