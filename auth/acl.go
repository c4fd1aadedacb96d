package auth

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The authorizer follows Kafka's StandardAuthorizer (KRaft):
//   - a super user (super.users) may do everything;
//   - the ACLs that apply to a resource are its literal ones, the literal
//     "*" of its type and the prefixed ones whose prefix starts its name;
//   - of those, an ACL matches a request when its principal is the
//     request's or "User:*", its host is the client's address or "*", and
//     its operation is the request's or ALL; an ALLOW ACL also matches
//     DESCRIBE when it grants READ, WRITE, DELETE or ALTER, and
//     DESCRIBE_CONFIGS when it grants ALTER_CONFIGS (a DENY matches only
//     its own operation or ALL);
//   - a matching DENY refuses, whatever allows; else a matching ALLOW
//     allows; else, if any ACL applies to the resource (for anyone), the
//     request is refused; else allow.everyone.if.no.acl.found decides.

// WildcardResource is the literal resource name that applies to every
// resource of its type.
const WildcardResource = "*"

// WildcardHost is the ACL host that matches every client address.
const WildcardHost = "*"

// wildcardPrincipal is "User:*", which matches every principal (Kafka
// uses the User type whatever the request's principal type is).
var wildcardPrincipal = Principal{Type: "User", Name: "*"}

// entry is one stored ACL as Authorize reads it, parsed once.
type entry struct {
	principal Principal
	anyHost   bool
	host      netip.Addr // invalid when the ACL names no IP (it never matches then)
	op        kmsg.ACLOperation
	allow     bool
}

// typeIndex holds the ACLs of one resource type.
type typeIndex struct {
	literal  map[string][]entry // by exact name, "*" included
	prefixed map[string][]entry // by prefix
	// prefixLens are the distinct lengths of the prefixes, ascending, so
	// that a name is looked up once per length without allocating.
	prefixLens []int
}

// ACLSet is an immutable index of the stored ACLs, built once per change
// of them and shared by every connection.
type ACLSet struct {
	all    []ACL
	byType map[kmsg.ACLResourceType]*typeIndex
}

// NewACLSet indexes acls. Each is taken as stored (CreateAcls validated
// it); one with a pattern type other than LITERAL or PREFIXED applies to
// nothing.
func NewACLSet(acls []ACL) *ACLSet {
	s := &ACLSet{all: slices.Clone(acls), byType: map[kmsg.ACLResourceType]*typeIndex{}}
	for _, a := range acls {
		idx := s.byType[a.ResourceType]
		if idx == nil {
			idx = &typeIndex{literal: map[string][]entry{}, prefixed: map[string][]entry{}}
			s.byType[a.ResourceType] = idx
		}
		e := newEntry(a)
		switch a.PatternType {
		case kmsg.ACLResourcePatternTypeLiteral:
			idx.literal[a.ResourceName] = append(idx.literal[a.ResourceName], e)
		case kmsg.ACLResourcePatternTypePrefixed:
			idx.prefixed[a.ResourceName] = append(idx.prefixed[a.ResourceName], e)
			if !slices.Contains(idx.prefixLens, len(a.ResourceName)) {
				idx.prefixLens = append(idx.prefixLens, len(a.ResourceName))
			}
		}
	}
	for _, idx := range s.byType {
		slices.Sort(idx.prefixLens)
	}
	return s
}

func newEntry(a ACL) entry {
	e := entry{op: a.Operation, allow: a.Permission == kmsg.ACLPermissionTypeAllow}
	e.principal, _ = ParsePrincipal(a.Principal)
	if a.Host == WildcardHost {
		e.anyHost = true
	} else if ip, err := netip.ParseAddr(a.Host); err == nil {
		e.host = ip.Unmap()
	}
	return e
}

// All returns the ACLs of the set, in the order given to NewACLSet.
func (s *ACLSet) All() []ACL {
	if s == nil {
		return nil
	}
	return slices.Clone(s.all)
}

// Len is the number of ACLs in the set.
func (s *ACLSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.all)
}

// ParsePrincipal reads "Type:Name" as Kafka's SecurityUtils does: the
// first colon separates the type from the name.
func ParsePrincipal(s string) (Principal, error) {
	typ, name, ok := strings.Cut(s, ":")
	if !ok {
		return Principal{}, fmt.Errorf("expected a string in format principalType:principalName but got %s", s)
	}
	return Principal{Type: typ, Name: name}, nil
}

// Authorizer decides requests against an ACLSet: super.users and
// allow.everyone.if.no.acl.found are its configuration.
type Authorizer struct {
	superUsers   map[Principal]struct{}
	allowIfNoACL bool
}

// NewAuthorizer takes super.users as Kafka writes it, "User:a;User:b":
// each element may itself hold several principals separated by ';'.
// Blank entries are skipped; one without a colon is refused.
func NewAuthorizer(superUsers []string, allowIfNoACL bool) (*Authorizer, error) {
	a := &Authorizer{superUsers: map[Principal]struct{}{}, allowIfNoACL: allowIfNoACL}
	for _, list := range superUsers {
		for _, s := range strings.Split(list, ";") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			p, err := ParsePrincipal(s)
			if err != nil {
				return nil, fmt.Errorf("super.users: %w", err)
			}
			a.superUsers[p] = struct{}{}
		}
	}
	return a, nil
}

// IsSuperUser reports whether p is one of super.users.
func (a *Authorizer) IsSuperUser(p Principal) bool {
	_, ok := a.superUsers[p]
	return ok
}

// Authorize reports whether principal p, connected from host, may do op on
// the resource of type rt named name, under the ACLs of s (nil = none). It
// runs on every produce and fetch, so it allocates nothing: the lookups
// are map reads with the name or its prefixes as keys.
func (a *Authorizer) Authorize(s *ACLSet, p Principal, host netip.Addr, op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	if a.IsSuperUser(p) {
		return true
	}
	var idx *typeIndex
	if s != nil {
		idx = s.byType[rt]
	}
	if idx == nil {
		return a.allowIfNoACL
	}
	m := matcher{p: p, host: host.Unmap(), op: op}
	m.check(idx.literal[name])
	if name != WildcardResource {
		m.check(idx.literal[WildcardResource])
	}
	for _, n := range idx.prefixLens {
		if n > len(name) {
			break
		}
		m.check(idx.prefixed[name[:n]])
	}
	switch {
	case m.denied:
		return false
	case m.allowed:
		return true
	case m.applies:
		return false
	}
	return a.allowIfNoACL
}

// matcher accumulates, over the ACLs that apply to one resource, whether
// any exists and whether one allows or denies the request.
type matcher struct {
	p       Principal
	host    netip.Addr
	op      kmsg.ACLOperation
	applies bool
	allowed bool
	denied  bool
}

func (m *matcher) check(es []entry) {
	if len(es) > 0 {
		m.applies = true
	}
	for i := range es {
		e := &es[i]
		if m.denied || !m.matches(e) {
			continue
		}
		if e.allow {
			m.allowed = true
		} else {
			m.denied = true
		}
	}
}

func (m *matcher) matches(e *entry) bool {
	return e.appliesTo(m.p, m.host) &&
		(e.op == kmsg.ACLOperationAll || e.op == m.op || (e.allow && implies(e.op, m.op)))
}

// appliesTo reports whether the ACL names principal p (or "User:*") and
// host (or "*"); host must be unmapped.
func (e *entry) appliesTo(p Principal, host netip.Addr) bool {
	return (e.principal == p || e.principal == wildcardPrincipal) &&
		(e.anyHost || (e.host.IsValid() && e.host == host))
}

// implies reports whether granting acl also grants op: READ, WRITE,
// DELETE and ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS.
func implies(acl, op kmsg.ACLOperation) bool {
	switch op {
	case kmsg.ACLOperationDescribe:
		switch acl {
		case kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter:
			return true
		}
	case kmsg.ACLOperationDescribeConfigs:
		return acl == kmsg.ACLOperationAlterConfigs
	}
	return false
}

// ClusterResourceName is the one name of the CLUSTER resource.
const ClusterResourceName = "kafka-cluster"

// invalidRequest is Kafka's INVALID_REQUEST (auth is a leaf: no protocol).
const invalidRequest int16 = 42

// ValidateACL says what CreateAcls refuses, with Kafka's error code and
// words (AclApis and AclControlManager.validateNewAcl): 0 and "" when a is
// acceptable.
func ValidateACL(a ACL) (code int16, msg string) {
	switch {
	case a.ResourceType == kmsg.ACLResourceTypeCluster && a.ResourceName != ClusterResourceName:
		return invalidRequest, "The only valid name for the CLUSTER resource is " + ClusterResourceName
	case a.ResourceName == "":
		return invalidRequest, "Invalid empty resource name"
	case a.ResourceType < kmsg.ACLResourceTypeTopic || a.ResourceType > kmsg.ACLResourceTypeUser:
		return invalidRequest, "Invalid resourceType " + a.ResourceType.String()
	case a.PatternType != kmsg.ACLResourcePatternTypeLiteral && a.PatternType != kmsg.ACLResourcePatternTypePrefixed:
		return invalidRequest, "Invalid patternType " + a.PatternType.String()
	case a.Operation < kmsg.ACLOperationAll || a.Operation > kmsg.ACLOperationDescribeTokens:
		return invalidRequest, "Invalid operation " + a.Operation.String()
	case a.Permission != kmsg.ACLPermissionTypeAllow && a.Permission != kmsg.ACLPermissionTypeDeny:
		return invalidRequest, "Invalid permissionType " + a.Permission.String()
	case !strings.Contains(a.Principal, ":"):
		return invalidRequest, "Could not parse principal from `" + a.Principal +
			"` (no colon is present separating the principal type from the principal name)"
	}
	return 0, ""
}

// ACLFilter selects ACLs as DescribeAcls and DeleteAcls filters do
// (Kafka's AclBindingFilter). The enums take Any to match every value;
// PatternType Match selects the patterns that apply to ResourceName
// (literal, the literal "*" and matching prefixes). A nil string matches
// every value.
type ACLFilter struct {
	ResourceType kmsg.ACLResourceType
	ResourceName *string
	PatternType  kmsg.ACLResourcePatternType // Any, Match, Literal or Prefixed
	Principal    *string
	Host         *string
	Operation    kmsg.ACLOperation
	Permission   kmsg.ACLPermissionType
}

// ValidateFilter says what DescribeAcls and DeleteAcls refuse in a filter,
// with Kafka's code and words: an enum that is UNKNOWN, or one outside
// Kafka's values (Java reads those as UNKNOWN).
func ValidateFilter(f ACLFilter) (code int16, msg string) {
	if f.ResourceType < kmsg.ACLResourceTypeAny || f.ResourceType > kmsg.ACLResourceTypeUser ||
		f.PatternType < kmsg.ACLResourcePatternTypeAny || f.PatternType > kmsg.ACLResourcePatternTypePrefixed {
		return invalidRequest, "Unknown patternFilter."
	}
	if f.Operation < kmsg.ACLOperationAny || f.Operation > kmsg.ACLOperationDescribeTokens ||
		f.Permission < kmsg.ACLPermissionTypeAny || f.Permission > kmsg.ACLPermissionTypeAllow {
		return invalidRequest, "Unknown entryFilter."
	}
	return 0, ""
}

// Matches reports whether the stored ACL a passes f.
func (f ACLFilter) Matches(a ACL) bool {
	return f.matchesPattern(a) &&
		(f.Principal == nil || *f.Principal == a.Principal) &&
		(f.Host == nil || *f.Host == a.Host) &&
		(f.Operation == kmsg.ACLOperationAny || f.Operation == a.Operation) &&
		(f.Permission == kmsg.ACLPermissionTypeAny || f.Permission == a.Permission)
}

// matchesPattern is Kafka's ResourcePatternFilter.matches.
func (f ACLFilter) matchesPattern(a ACL) bool {
	if f.ResourceType != kmsg.ACLResourceTypeAny && f.ResourceType != a.ResourceType {
		return false
	}
	if f.PatternType != kmsg.ACLResourcePatternTypeAny && f.PatternType != kmsg.ACLResourcePatternTypeMatch &&
		f.PatternType != a.PatternType {
		return false
	}
	if f.ResourceName == nil {
		return true
	}
	name := *f.ResourceName
	if f.PatternType != kmsg.ACLResourcePatternTypeMatch {
		return name == a.ResourceName
	}
	switch a.PatternType {
	case kmsg.ACLResourcePatternTypeLiteral:
		return name == a.ResourceName || a.ResourceName == WildcardResource
	case kmsg.ACLResourcePatternTypePrefixed:
		return strings.HasPrefix(name, a.ResourceName)
	}
	return false
}
