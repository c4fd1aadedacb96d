package auth

// scramSession is the server side of SCRAM-SHA-256/512 (RFC 5802, 7677)
// as Kafka's ScramSaslServer runs it.
type scramSession struct {
	mech      ScramMechanism
	creds     Credentials
	principal Principal
}

func newScramSession(m ScramMechanism, creds Credentials) *scramSession {
	return &scramSession{mech: m, creds: creds}
}

func (s *scramSession) Principal() Principal { return s.principal }

func (s *scramSession) Step(msg []byte) ([]byte, bool, error) {
	return nil, false, &AuthError{Message: "Authentication failed during authentication due to invalid credentials with SASL mechanism " + s.mech.String(), Reason: "SCRAM not implemented yet"}
}
