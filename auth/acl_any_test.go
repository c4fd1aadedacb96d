package auth

import (
	"net/netip"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Each rule of Kafka's authorizeByResourceType, as a case that fails when
// the rule is broken.
func TestAuthorizeAny(t *testing.T) {
	allow, deny := kmsg.ACLPermissionTypeAllow, kmsg.ACLPermissionTypeDeny
	lit, pre := kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLResourcePatternTypePrefixed
	topic, write := kmsg.ACLResourceTypeTopic, kmsg.ACLOperationWrite
	alice := User("alice")
	host := netip.MustParseAddr("10.0.0.1")
	entry := func(name string, pt kmsg.ACLResourcePatternType, principal string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) ACL {
		return ACL{ResourceType: topic, ResourceName: name, PatternType: pt, Principal: principal, Host: "*", Operation: op, Permission: perm}
	}
	for _, tc := range []struct {
		name         string
		acls         []ACL
		allowIfNoACL bool
		want         bool
	}{
		{"no acls", nil, false, false},
		{"no acls, allow.everyone.if.no.acl.found", nil, true, true},
		{"a literal allow", []ACL{entry("t", lit, "User:alice", write, allow)}, false, true},
		{"a prefixed allow", []ACL{entry("t-", pre, "User:alice", write, allow)}, false, true},
		{"ALL allows", []ACL{entry("t", lit, "User:alice", kmsg.ACLOperationAll, allow)}, false, true},
		{"User:* allows", []ACL{entry("t", lit, "User:*", write, allow)}, false, true},
		{"another principal's allow", []ACL{entry("t", lit, "User:bob", write, allow)}, false, false},
		{"another operation's allow", []ACL{entry("t", lit, "User:alice", kmsg.ACLOperationRead, allow)}, false, false},
		{"the same literal denied", []ACL{entry("t", lit, "User:alice", write, allow), entry("t", lit, "User:alice", write, deny)}, false, false},
		{"a prefix denies the literal", []ACL{entry("t-1", lit, "User:alice", write, allow), entry("t-", pre, "User:*", write, deny)}, false, false},
		{"a shorter prefix denies the prefix", []ACL{entry("t-1", pre, "User:alice", write, allow), entry("t", pre, "User:alice", write, deny)}, false, false},
		{"a longer prefix does not deny", []ACL{entry("t-", pre, "User:alice", write, allow), entry("t-1", pre, "User:alice", write, deny)}, false, true},
		{"a wildcard deny wins", []ACL{entry("*", lit, "User:alice", write, deny), entry("t", lit, "User:alice", write, allow)}, false, false},
		{"a wildcard allow", []ACL{entry("*", lit, "User:alice", write, allow), entry("t", lit, "User:alice", write, deny)}, false, true},
		{"one of two literals left", []ACL{entry("a", lit, "User:alice", write, allow), entry("b", lit, "User:alice", write, allow),
			entry("a", lit, "User:alice", write, deny)}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAuthorizer([]string{"User:admin"}, tc.allowIfNoACL)
			if err != nil {
				t.Fatal(err)
			}
			s := NewACLSet(tc.acls)
			if got := a.AuthorizeAny(s, alice, host, write, topic); got != tc.want {
				t.Fatalf("AuthorizeAny = %v, want %v", got, tc.want)
			}
			if !a.AuthorizeAny(s, User("admin"), host, write, topic) {
				t.Fatal("a super user is refused")
			}
		})
	}
}
