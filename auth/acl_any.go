package auth

import (
	"net/netip"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// AuthorizeAny reports whether principal p, connected from host, may do op
// on at least one resource of type rt (Kafka's authorizeByResourceType,
// which InitProducerId uses for KIP-679: Write on any topic is enough to
// produce idempotently). Kafka's rules: a super user, or a principal
// allowed on a resource nobody has ACLs for, may; a matching DENY on the
// literal "*" refuses; else it may when some matching ALLOW names a
// literal or a prefix that no matching DENY covers (a literal DENY of the
// same name, or a prefixed DENY whose prefix starts it). Only the ACL's
// own operation or ALL match here, as in Kafka.
func (a *Authorizer) AuthorizeAny(s *ACLSet, p Principal, host netip.Addr, op kmsg.ACLOperation, rt kmsg.ACLResourceType) bool {
	// Kafka asks about a name no ACL is likely to cover, so that super
	// users and allow.everyone.if.no.acl.found answer first.
	if a.Authorize(s, p, host, op, rt, "hardcode") {
		return true
	}
	var idx *typeIndex
	if s != nil {
		idx = s.byType[rt]
	}
	if idx == nil {
		return false
	}
	m := anyMatcher{p: p, host: host.Unmap(), op: op}
	if m.any(idx.literal[WildcardResource], false) {
		return false
	}
	if m.any(idx.literal[WildcardResource], true) {
		return true
	}
	for name, es := range idx.literal {
		if name != WildcardResource && m.any(es, true) && !m.any(es, false) && !m.deniedPrefix(idx, name) {
			return true
		}
	}
	for prefix, es := range idx.prefixed {
		if m.any(es, true) && !m.deniedPrefix(idx, prefix) {
			return true
		}
	}
	return false
}

type anyMatcher struct {
	p    Principal
	host netip.Addr
	op   kmsg.ACLOperation
}

// any reports whether one of es with the given permission matches.
func (m *anyMatcher) any(es []entry, allow bool) bool {
	for i := range es {
		e := &es[i]
		if e.allow == allow && e.appliesTo(m.p, m.host) && (e.op == m.op || e.op == kmsg.ACLOperationAll) {
			return true
		}
	}
	return false
}

// deniedPrefix reports whether a matching prefixed DENY starts name.
func (m *anyMatcher) deniedPrefix(idx *typeIndex, name string) bool {
	for prefix, es := range idx.prefixed {
		if strings.HasPrefix(name, prefix) && m.any(es, false) {
			return true
		}
	}
	return false
}
