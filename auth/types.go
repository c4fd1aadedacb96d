package auth

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Principal is who a connection authenticated as, Kafka's KafkaPrincipal:
// ACLs and super.users name it as "Type:Name", e.g. "User:alice".
type Principal struct {
	Type string // "User" for every principal Kafka's builders produce
	Name string
}

// Anonymous is the principal of a PLAINTEXT connection, and of an SSL one
// whose client sent no certificate.
var Anonymous = Principal{Type: "User", Name: "ANONYMOUS"}

func (p Principal) String() string { return p.Type + ":" + p.Name }

// User is the principal of an authenticated user name.
func User(name string) Principal { return Principal{Type: "User", Name: name} }

// ScramMechanism numbers the SCRAM mechanisms as DescribeUserScramCredentials
// and AlterUserScramCredentials do.
type ScramMechanism int8

const (
	ScramSHA256 ScramMechanism = 1
	ScramSHA512 ScramMechanism = 2
)

func (m ScramMechanism) String() string {
	switch m {
	case ScramSHA256:
		return "SCRAM-SHA-256"
	case ScramSHA512:
		return "SCRAM-SHA-512"
	}
	return fmt.Sprintf("UNKNOWN(%d)", int8(m))
}

// ScramCredential is what the quorum stores for one user and mechanism
// (RFC 5802 section 3): never the password, only what verifies a proof.
type ScramCredential struct {
	Mechanism  ScramMechanism
	Iterations int32
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// ACL is one access control entry bound to a resource pattern, as
// CreateAcls carries it. The enums are Kafka's wire values.
type ACL struct {
	ResourceType kmsg.ACLResourceType
	ResourceName string
	PatternType  kmsg.ACLResourcePatternType // Literal or Prefixed when stored
	Principal    string                      // "User:alice", or "User:*"
	Host         string                      // an IP address, or "*"
	Operation    kmsg.ACLOperation
	Permission   kmsg.ACLPermissionType
}
