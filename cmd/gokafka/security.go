package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/properties"
)

// clientTLSKeys are the ssl.* keys of a client config that auth.NewTLS
// reads; the others of Kafka's ssl.* keys are refused rather than ignored.
var clientTLSKeys = []string{
	"ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
	"ssl.keystore.certificate.chain", "ssl.keystore.key",
	"ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.certificates",
	"ssl.enabled.protocols", "ssl.cipher.suites", "ssl.endpoint.identification.algorithm",
}

// clientSecurity is the security part of a client config, as Kafka's
// clients read it: security.protocol, sasl.mechanism (Kafka's default is
// GSSAPI, which gokafka does not speak), sasl.jaas.config and ssl.*.
type clientSecurity struct {
	protocol  string
	mechanism string
	jaas      string
	ssl       map[string]string
}

// clientProperties reads a --command-config file as Kafka's tools read
// their client config. A key it does not know, or a value it cannot use,
// is an error that names the key and the value (never a password).
func clientProperties(path string) ([]kgo.Opt, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	p, err := properties.Parse(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sec := clientSecurity{protocol: "PLAINTEXT", mechanism: "GSSAPI", ssl: map[string]string{}}
	var opts []kgo.Opt
	for _, k := range p.Keys() {
		e, _ := p.Entry(k)
		v := strings.TrimSpace(e.Value)
		switch {
		case k == "client.id":
			opts = append(opts, kgo.ClientID(v))
		case k == "request.timeout.ms":
			d, err := time.ParseDuration(v + "ms")
			if err != nil {
				return nil, fmt.Errorf("%s: request.timeout.ms=%s: not a number", path, v)
			}
			opts = append(opts, kgo.RequestTimeoutOverhead(d))
		case k == "security.protocol":
			sec.protocol = strings.ToUpper(v)
		case k == "sasl.mechanism":
			sec.mechanism = v
		case k == "sasl.jaas.config":
			sec.jaas = v
		case slices.Contains(clientTLSKeys, k):
			sec.ssl[k] = v
		default:
			return nil, fmt.Errorf("%s: %s: not a client setting this tool knows", path, k)
		}
	}
	more, err := sec.options()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return append(opts, more...), nil
}

// options are the client options of the security settings: TLS for SSL
// and SASL_SSL, a SASL mechanism for SASL_PLAINTEXT and SASL_SSL.
func (c clientSecurity) options() ([]kgo.Opt, error) {
	var useTLS, useSASL bool
	switch c.protocol {
	case "PLAINTEXT":
	case "SSL":
		useTLS = true
	case "SASL_PLAINTEXT":
		useSASL = true
	case "SASL_SSL":
		useTLS, useSASL = true, true
	default:
		return nil, fmt.Errorf("security.protocol=%s: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", c.protocol)
	}
	var opts []kgo.Opt
	if useTLS {
		t, err := auth.NewTLS(func(k string) (string, bool) { v, ok := c.ssl[k]; return v, ok }, auth.Client)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(t.Config()))
	}
	if useSASL {
		m, err := c.saslMechanism()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// saslMechanism is the client side of sasl.mechanism, with the user name
// and password from the username and password options of
// sasl.jaas.config. Kafka's clients take them from PlainLoginModule and
// ScramLoginModule alike, whichever the mechanism.
func (c clientSecurity) saslMechanism() (sasl.Mechanism, error) {
	switch c.mechanism {
	case auth.MechanismPlain, auth.MechanismScramSHA256, auth.MechanismScramSHA512:
	default:
		return nil, fmt.Errorf("sasl.mechanism=%s: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.mechanism)
	}
	if c.jaas == "" {
		return nil, fmt.Errorf("sasl.jaas.config: needed for sasl.mechanism=%s", c.mechanism)
	}
	j, err := auth.ParseJAAS(c.jaas)
	if err != nil {
		// The value holds a password: say what is wrong, not the value.
		return nil, fmt.Errorf("sasl.jaas.config: %w", err)
	}
	if j.LoginModule != plainLoginModule && j.LoginModule != scramLoginModule {
		return nil, fmt.Errorf("sasl.jaas.config=%s ...: want %s or %s", j.LoginModule, plainLoginModule, scramLoginModule)
	}
	user, okUser := j.Options["username"]
	pass, okPass := j.Options["password"]
	if !okUser || !okPass {
		return nil, fmt.Errorf("sasl.jaas.config=%s ...: needs username and password options", j.LoginModule)
	}
	switch c.mechanism {
	case auth.MechanismPlain:
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case auth.MechanismScramSHA256:
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	}
	return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
}

// The login modules whose username and password a client sends.
const (
	plainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
	scramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
)
