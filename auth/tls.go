package auth

import (
	"crypto/tls"
	"errors"
)

// Keys returns the effective value of one ssl.* or sasl.* key for a
// listener; the caller has already resolved listener.name.<l>. prefixes.
type Keys func(key string) (value string, ok bool)

// Role says which end of a TLS connection a configuration is for.
type Role int

const (
	Server Role = iota
	Client
)

// TLS is one listener's (or one client's) TLS configuration built from
// Kafka's ssl.* keys.
type TLS struct {
	cfg *tls.Config
}

// NewTLS builds the TLS configuration of role from keys. Its errors name
// the key and the value they are about.
func NewTLS(keys Keys, role Role) (*TLS, error) {
	return nil, errors.New("auth: TLS not implemented yet")
}

// Config is the crypto/tls configuration to hand to tls.Server or
// tls.Client.
func (t *TLS) Config() *tls.Config { return t.cfg }
