package auth

import (
	"errors"
	"strings"
)

// JAAS is one login module entry of a sasl.jaas.config value, e.g.
// `org.apache.kafka.common.security.plain.PlainLoginModule required
// user_admin="secret";`.
type JAAS struct {
	LoginModule string
	Flag        string // required, requisite, sufficient or optional
	Options     map[string]string
}

// plainLoginModule is the class name Kafka's PLAIN users are read from.
const plainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"

// ParseJAAS parses a sasl.jaas.config value as Kafka's JaasConfig does,
// and refuses more than one login module as Kafka does for that key.
func ParseJAAS(s string) (JAAS, error) {
	return JAAS{}, errors.New("auth: JAAS not implemented yet")
}

// PlainUsers are the user_<name>="<password>" options of a
// PlainLoginModule entry: the users a PLAIN listener accepts.
func (j JAAS) PlainUsers() map[string]string {
	users := map[string]string{}
	if j.LoginModule != plainLoginModule {
		return users
	}
	for k, v := range j.Options {
		if name, ok := strings.CutPrefix(k, "user_"); ok {
			users[name] = v
		}
	}
	return users
}
