package auth

import (
	"errors"
	"fmt"
)

// Credentials is where a SCRAM exchange finds a user's stored credential:
// the metadata quorum on a broker, a map in tests.
type Credentials interface {
	ScramCredential(user string, m ScramMechanism) (ScramCredential, bool)
}

// Session is the server side of one SASL exchange. The broker feeds it each
// client token (SaslAuthenticate's auth_bytes, or a bare token after a
// SaslHandshake v0) and sends back what Step returns.
type Session interface {
	// Step consumes one client message. done is true when the exchange
	// succeeded; serverMsg is then the last token to send (possibly
	// empty). An error ends the exchange: it is an *AuthError, whose
	// Error() is the message Kafka sends with SASL_AUTHENTICATION_FAILED,
	// or ErrIllegalSaslState for a Step after the end.
	Step(clientMsg []byte) (serverMsg []byte, done bool, err error)
	// Principal is who authenticated; valid once Step returned done.
	Principal() Principal
}

// Mechanism names as sasl.enabled.mechanisms and SaslHandshake spell them.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// maxClientMessage bounds one client token. Kafka's own clients send a
// few hundred bytes; anything much larger is not a SASL client.
const maxClientMessage = 64 << 10

// ErrUnsupportedMechanism is returned by NewSession for a mechanism this
// package does not implement; the broker answers UNSUPPORTED_SASL_MECHANISM.
var ErrUnsupportedMechanism = errors.New("unsupported SASL mechanism")

// ErrIllegalSaslState is a client token after the exchange ended; the
// broker answers ILLEGAL_SASL_STATE.
var ErrIllegalSaslState = errors.New("SASL exchange already ended")

// AuthError is a failed exchange. Error() is what the client is told, in
// Kafka's words, and never says which part of the credentials was wrong;
// Reason is the detail for the broker's own log.
type AuthError struct {
	Message string
	Reason  string
}

func (e *AuthError) Error() string { return e.Message }

// NewSession starts the server side of one exchange of mechanism:
// "PLAIN" checks against plainUsers (user name → password, from the
// listener's PlainLoginModule line), the SCRAM mechanisms against creds.
func NewSession(mechanism string, plainUsers map[string]string, creds Credentials) (Session, error) {
	switch mechanism {
	case MechanismPlain:
		return &plainSession{users: plainUsers}, nil
	case MechanismScramSHA256:
		return newScramSession(ScramSHA256, creds), nil
	case MechanismScramSHA512:
		return newScramSession(ScramSHA512, creds), nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnsupportedMechanism, mechanism)
}
