package auth

import (
	"bytes"
	"crypto/subtle"
	"fmt"
)

// plainSession is the server side of SASL/PLAIN (RFC 4616) as Kafka's
// PlainSaslServer runs it against the user_<name> options of a JAAS line:
// one client message, authzid NUL user NUL password, and no answer.
type plainSession struct {
	users     map[string]string
	principal Principal
	ended     bool
}

// plainFailed is Kafka's message for a wrong user or password alike.
const plainFailed = "Authentication failed: Invalid username or password"

func (s *plainSession) Principal() Principal { return s.principal }

func (s *plainSession) Step(msg []byte) ([]byte, bool, error) {
	if s.ended {
		return nil, false, ErrIllegalSaslState
	}
	s.ended = true
	if len(msg) > maxClientMessage {
		return nil, false, &AuthError{Message: "Authentication failed: SASL/PLAIN message too large", Reason: fmt.Sprintf("%d bytes", len(msg))}
	}
	tokens := bytes.Split(msg, []byte{0})
	if len(tokens) != 3 {
		m := fmt.Sprintf("Invalid SASL/PLAIN response: expected 3 tokens, got %d", len(tokens))
		return nil, false, &AuthError{Message: m, Reason: m}
	}
	authzid, user, password := string(tokens[0]), string(tokens[1]), tokens[2]
	if user == "" {
		return nil, false, &AuthError{Message: "Authentication failed: username not specified", Reason: "empty user"}
	}
	if len(password) == 0 {
		return nil, false, &AuthError{Message: "Authentication failed: password not specified", Reason: "empty password"}
	}
	if !s.passwordMatches(user, password) {
		return nil, false, &AuthError{Message: plainFailed, Reason: "invalid credentials for user " + quoteName(user)}
	}
	if authzid != "" && authzid != user {
		return nil, false, &AuthError{Message: "Authentication failed: Client requested an authorization id that is different from username", Reason: "authzid " + quoteName(authzid)}
	}
	s.principal = User(user)
	return []byte{}, true, nil
}

// passwordMatches compares in constant time, and compares against
// something even for an unknown user, so that timing does not tell a
// client which user names exist.
func (s *plainSession) passwordMatches(user string, password []byte) bool {
	want, ok := s.users[user]
	if !ok {
		want = string(password) + "\x00" // never equal, same work
	}
	eq := subtle.ConstantTimeCompare([]byte(want), password) == 1
	return ok && eq
}

// quoteName bounds and quotes a client-chosen name for a log line.
func quoteName(s string) string {
	const max = 256
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}
