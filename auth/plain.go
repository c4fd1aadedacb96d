package auth

// plainSession is the server side of SASL/PLAIN (RFC 4616) as Kafka's
// PlainSaslServer runs it against the user_<name> options of a JAAS line.
type plainSession struct {
	users     map[string]string
	principal Principal
	ended     bool
}

func (s *plainSession) Principal() Principal { return s.principal }

func (s *plainSession) Step(msg []byte) ([]byte, bool, error) {
	return nil, false, &AuthError{Message: "Authentication failed: Invalid username or password", Reason: "PLAIN not implemented yet"}
}
