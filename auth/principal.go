package auth

import (
	"crypto/x509"
	"errors"
)

// PrincipalRules are ssl.principal.mapping.rules: how the subject of a
// client certificate becomes a principal name, as Kafka's
// SslPrincipalMapper applies them.
type PrincipalRules struct {
	rules []principalRule
}

type principalRule struct{}

// ParsePrincipalRules parses ssl.principal.mapping.rules; "" is Kafka's
// default, "DEFAULT".
func ParsePrincipalRules(s string) (PrincipalRules, error) {
	return PrincipalRules{}, errors.New("auth: principal rules not implemented yet")
}

// FromCert is the principal of a client certificate: its subject's RFC
// 2253 name ("CN=alice,OU=eng,O=acme") mapped by the rules.
func (r PrincipalRules) FromCert(cert *x509.Certificate) (Principal, error) {
	return Principal{}, errors.New("auth: principal rules not implemented yet")
}
