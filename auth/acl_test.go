package auth

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	topicT   = kmsg.ACLResourceTypeTopic
	groupT   = kmsg.ACLResourceTypeGroup
	literal  = kmsg.ACLResourcePatternTypeLiteral
	prefixed = kmsg.ACLResourcePatternTypePrefixed
	allow    = kmsg.ACLPermissionTypeAllow
	deny     = kmsg.ACLPermissionTypeDeny
	opRead   = kmsg.ACLOperationRead
	opWrite  = kmsg.ACLOperationWrite
	opDesc   = kmsg.ACLOperationDescribe
)

func acl(rt kmsg.ACLResourceType, name string, pt kmsg.ACLResourcePatternType, principal, host string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) ACL {
	return ACL{ResourceType: rt, ResourceName: name, PatternType: pt, Principal: principal, Host: host, Operation: op, Permission: perm}
}

// allowAlice is the usual grant the cases vary.
func allowAlice(op kmsg.ACLOperation) ACL {
	return acl(topicT, "orders", literal, "User:alice", "*", op, allow)
}

var (
	alice   = User("alice")
	bob     = User("bob")
	clientA = netip.MustParseAddr("10.0.0.1")
	clientB = netip.MustParseAddr("10.0.0.2")
)

// Each rule of StandardAuthorizer, as a case that fails when the rule is
// broken.
func TestAuthorize(t *testing.T) {
	type req struct {
		p    Principal
		host netip.Addr
		op   kmsg.ACLOperation
		rt   kmsg.ACLResourceType
		name string
	}
	aliceReads := req{alice, clientA, opRead, topicT, "orders"}
	cases := []struct {
		name         string
		acls         []ACL
		allowIfNoACL bool
		req          req
		want         bool
	}{
		{"no ACL, default deny", nil, false, aliceReads, false},
		{"no ACL, allow.everyone.if.no.acl.found", nil, true, aliceReads, true},
		{"ACL for someone else on the resource: no default", []ACL{acl(topicT, "orders", literal, "User:bob", "*", opRead, allow)}, true, aliceReads, false},
		{"ACL on another resource: default applies", []ACL{acl(topicT, "other", literal, "User:bob", "*", opRead, allow)}, true, aliceReads, true},
		{"ACL on another resource type: default applies", []ACL{acl(groupT, "orders", literal, "User:bob", "*", opRead, allow)}, true, aliceReads, true},
		{"literal allow", []ACL{allowAlice(opRead)}, false, aliceReads, true},
		{"literal allow is for its operation only", []ACL{allowAlice(opWrite)}, false, aliceReads, false},
		{"literal is the whole name", []ACL{acl(topicT, "order", literal, "User:alice", "*", opRead, allow)}, false, aliceReads, false},
		{"deny beats allow", []ACL{allowAlice(opRead), acl(topicT, "orders", literal, "User:alice", "*", opRead, deny)}, false, aliceReads, false},
		{"deny beats allow, deny first", []ACL{acl(topicT, "orders", literal, "User:alice", "*", opRead, deny), allowAlice(opRead)}, false, aliceReads, false},
		{"wildcard deny beats literal allow", []ACL{allowAlice(opRead), acl(topicT, "*", literal, "User:*", "*", kmsg.ACLOperationAll, deny)}, false, aliceReads, false},
		{"prefixed deny beats literal allow", []ACL{allowAlice(opRead), acl(topicT, "ord", prefixed, "User:alice", "*", opRead, deny)}, false, aliceReads, false},
		{"deny of another operation leaves allow", []ACL{allowAlice(opRead), acl(topicT, "orders", literal, "User:alice", "*", opWrite, deny)}, false, aliceReads, true},
		{"ALL allows every operation", []ACL{allowAlice(kmsg.ACLOperationAll)}, false, req{alice, clientA, kmsg.ACLOperationAlterConfigs, topicT, "orders"}, true},
		{"ALL denies every operation", []ACL{allowAlice(opRead), acl(topicT, "orders", literal, "User:alice", "*", kmsg.ACLOperationAll, deny)}, false, aliceReads, false},
		{"Read implies Describe", []ACL{allowAlice(opRead)}, false, req{alice, clientA, opDesc, topicT, "orders"}, true},
		{"Write implies Describe", []ACL{allowAlice(opWrite)}, false, req{alice, clientA, opDesc, topicT, "orders"}, true},
		{"Delete implies Describe", []ACL{allowAlice(kmsg.ACLOperationDelete)}, false, req{alice, clientA, opDesc, topicT, "orders"}, true},
		{"Alter implies Describe", []ACL{allowAlice(kmsg.ACLOperationAlter)}, false, req{alice, clientA, opDesc, topicT, "orders"}, true},
		{"Create does not imply Describe", []ACL{allowAlice(kmsg.ACLOperationCreate)}, false, req{alice, clientA, opDesc, topicT, "orders"}, false},
		{"Describe does not imply Read", []ACL{allowAlice(opDesc)}, false, aliceReads, false},
		{"AlterConfigs implies DescribeConfigs", []ACL{allowAlice(kmsg.ACLOperationAlterConfigs)}, false, req{alice, clientA, kmsg.ACLOperationDescribeConfigs, topicT, "orders"}, true},
		{"DescribeConfigs does not imply AlterConfigs", []ACL{allowAlice(kmsg.ACLOperationDescribeConfigs)}, false, req{alice, clientA, kmsg.ACLOperationAlterConfigs, topicT, "orders"}, false},
		{"AlterConfigs does not imply Describe", []ACL{allowAlice(kmsg.ACLOperationAlterConfigs)}, false, req{alice, clientA, opDesc, topicT, "orders"}, false},
		{"deny Read does not deny Describe", []ACL{allowAlice(opDesc), acl(topicT, "orders", literal, "User:alice", "*", opRead, deny)}, false, req{alice, clientA, opDesc, topicT, "orders"}, true},
		{"literal * matches every name", []ACL{acl(topicT, "*", literal, "User:alice", "*", opRead, allow)}, false, aliceReads, true},
		{"prefixed * is only a prefix '*'", []ACL{acl(topicT, "*", prefixed, "User:alice", "*", opRead, allow)}, false, aliceReads, false},
		{"prefix matches", []ACL{acl(topicT, "ord", prefixed, "User:alice", "*", opRead, allow)}, false, aliceReads, true},
		{"prefix as long as the name matches", []ACL{acl(topicT, "orders", prefixed, "User:alice", "*", opRead, allow)}, false, aliceReads, true},
		{"longer prefix does not match", []ACL{acl(topicT, "orders-eu", prefixed, "User:alice", "*", opRead, allow)}, true, aliceReads, true},
		{"other prefix does not match", []ACL{acl(topicT, "pay", prefixed, "User:alice", "*", opRead, allow)}, true, aliceReads, true},
		{"User:* matches everyone", []ACL{acl(topicT, "orders", literal, "User:*", "*", opRead, allow)}, false, req{bob, clientA, opRead, topicT, "orders"}, true},
		{"other principal does not match", []ACL{allowAlice(opRead)}, false, req{bob, clientA, opRead, topicT, "orders"}, false},
		{"principal type counts", []ACL{acl(topicT, "orders", literal, "Group:alice", "*", opRead, allow)}, false, aliceReads, false},
		{"exact host matches", []ACL{acl(topicT, "orders", literal, "User:alice", "10.0.0.1", opRead, allow)}, false, aliceReads, true},
		{"other host does not", []ACL{acl(topicT, "orders", literal, "User:alice", "10.0.0.1", opRead, allow)}, false, req{alice, clientB, opRead, topicT, "orders"}, false},
		{"deny for another host leaves allow", []ACL{allowAlice(opRead), acl(topicT, "orders", literal, "User:alice", "10.0.0.2", opRead, deny)}, false, aliceReads, true},
		{"IPv4-mapped client matches the IPv4 ACL", []ACL{acl(topicT, "orders", literal, "User:alice", "10.0.0.1", opRead, allow)}, false, req{alice, netip.MustParseAddr("::ffff:10.0.0.1"), opRead, topicT, "orders"}, true},
		{"a host name never matches", []ACL{acl(topicT, "orders", literal, "User:alice", "client.example", opRead, allow)}, false, aliceReads, false},
		{"resource type counts", []ACL{acl(groupT, "orders", literal, "User:alice", "*", opRead, allow)}, false, aliceReads, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAuthorizer(nil, tc.allowIfNoACL)
			if err != nil {
				t.Fatal(err)
			}
			r := tc.req
			if got := a.Authorize(NewACLSet(tc.acls), r.p, r.host, r.op, r.rt, r.name); got != tc.want {
				t.Fatalf("Authorize = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSuperUsers(t *testing.T) {
	a, err := NewAuthorizer([]string{" User:admin ; User:ops;", "User:broker"}, false)
	if err != nil {
		t.Fatal(err)
	}
	denyAll := NewACLSet([]ACL{acl(topicT, "*", literal, "User:*", "*", kmsg.ACLOperationAll, deny)})
	for _, name := range []string{"admin", "ops", "broker"} {
		if !a.Authorize(denyAll, User(name), clientA, opWrite, topicT, "t") {
			t.Errorf("super user %s refused", name)
		}
	}
	if a.Authorize(denyAll, alice, clientA, opWrite, topicT, "t") || a.Authorize(nil, alice, clientA, opWrite, topicT, "t") {
		t.Error("alice is no super user")
	}
	if _, err := NewAuthorizer([]string{"User:a;admin"}, false); err == nil {
		t.Error("a super user without a type was accepted")
	}
}

func TestValidateACL(t *testing.T) {
	ok := allowAlice(opRead)
	cases := []struct {
		change func(*ACL)
		msg    string
	}{
		{func(a *ACL) {}, ""},
		{func(a *ACL) { a.ResourceType, a.ResourceName = kmsg.ACLResourceTypeCluster, "kafka-cluster" }, ""},
		{func(a *ACL) { a.ResourceType = kmsg.ACLResourceTypeCluster }, "The only valid name for the CLUSTER resource is kafka-cluster"},
		{func(a *ACL) { a.ResourceName = "" }, "Invalid empty resource name"},
		{func(a *ACL) { a.ResourceType = kmsg.ACLResourceTypeAny }, "Invalid resourceType ANY"},
		{func(a *ACL) { a.ResourceType = 99 }, "Invalid resourceType UNKNOWN"},
		{func(a *ACL) { a.PatternType = kmsg.ACLResourcePatternTypeMatch }, "Invalid patternType MATCH"},
		{func(a *ACL) { a.Operation = kmsg.ACLOperationAny }, "Invalid operation ANY"},
		{func(a *ACL) { a.Operation = -3 }, "Invalid operation UNKNOWN"},
		{func(a *ACL) { a.Permission = kmsg.ACLPermissionTypeAny }, "Invalid permissionType ANY"},
		{func(a *ACL) { a.Principal = "alice" }, "Could not parse principal from `alice` (no colon is present separating the principal type from the principal name)"},
	}
	for _, tc := range cases {
		a := ok
		tc.change(&a)
		code, msg := ValidateACL(a)
		if msg != tc.msg || (code == 0) != (tc.msg == "") || (code != 0 && code != invalidRequest) {
			t.Errorf("%+v: (%d, %q), want %q", a, code, msg, tc.msg)
		}
	}
}

func ptr(s string) *string { return &s }

func TestACLFilter(t *testing.T) {
	lit := acl(topicT, "orders", literal, "User:alice", "10.0.0.1", opRead, allow)
	star := acl(topicT, "*", literal, "User:bob", "*", opWrite, deny)
	pre := acl(topicT, "ord", prefixed, "User:alice", "*", opRead, allow)
	grp := acl(groupT, "orders", literal, "User:alice", "*", opRead, allow)
	all := []ACL{lit, star, pre, grp}
	anyF := ACLFilter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny,
		Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
	with := func(change func(*ACLFilter)) ACLFilter { f := anyF; change(&f); return f }
	cases := []struct {
		name string
		f    ACLFilter
		want []ACL
	}{
		{"any", anyF, all},
		{"resource type", with(func(f *ACLFilter) { f.ResourceType = groupT }), []ACL{grp}},
		{"any pattern, exact name", with(func(f *ACLFilter) { f.ResourceName = ptr("orders") }), []ACL{lit, grp}},
		{"literal pattern", with(func(f *ACLFilter) { f.PatternType = literal }), []ACL{lit, star, grp}},
		{"prefixed pattern", with(func(f *ACLFilter) { f.PatternType = prefixed }), []ACL{pre}},
		{"prefixed pattern, name is exact", with(func(f *ACLFilter) { f.PatternType, f.ResourceName = prefixed, ptr("orders") }), nil},
		{"match: literal, wildcard and prefixes", with(func(f *ACLFilter) {
			f.ResourceType, f.PatternType, f.ResourceName = topicT, kmsg.ACLResourcePatternTypeMatch, ptr("orders")
		}), []ACL{lit, star, pre}},
		{"match without a name", with(func(f *ACLFilter) { f.PatternType = kmsg.ACLResourcePatternTypeMatch }), all},
		{"principal", with(func(f *ACLFilter) { f.Principal = ptr("User:bob") }), []ACL{star}},
		{"host", with(func(f *ACLFilter) { f.Host = ptr("10.0.0.1") }), []ACL{lit}},
		{"operation", with(func(f *ACLFilter) { f.Operation = opWrite }), []ACL{star}},
		{"permission", with(func(f *ACLFilter) { f.Permission = deny }), []ACL{star}},
		{"unknown enums match nothing", ACLFilter{}, nil},
	}
	for _, tc := range cases {
		var got []ACL
		for _, a := range all {
			if tc.f.Matches(a) {
				got = append(got, a)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: matched %v, want %v", tc.name, got, tc.want)
		}
	}
	if code, _ := ValidateFilter(anyF); code != 0 {
		t.Errorf("the any filter is refused: %d", code)
	}
	for _, f := range []ACLFilter{{}, with(func(f *ACLFilter) { f.PatternType = 9 }), with(func(f *ACLFilter) { f.Operation = 0 }), with(func(f *ACLFilter) { f.Permission = 7 })} {
		if code, _ := ValidateFilter(f); code != invalidRequest {
			t.Errorf("%+v: code %d, want INVALID_REQUEST", f, code)
		}
	}
}

// aclFixture is n ACLs spread over topics, prefixes and the wildcard, as a
// busy cluster might hold.
func aclFixture(n int) *ACLSet {
	var acls []ACL
	for i := range n {
		name := fmt.Sprintf("topic-%d", i)
		acls = append(acls, acl(topicT, name, literal, fmt.Sprintf("User:u%d", i%50), "*", opWrite, allow))
		if i%10 == 0 {
			acls = append(acls, acl(topicT, name[:len(name)-1], prefixed, "User:ops", "10.0.0.9", opRead, allow))
		}
	}
	acls = append(acls, acl(topicT, "*", literal, "User:monitor", "*", opDesc, allow))
	return NewACLSet(acls)
}

// The produce path's check allocates nothing.
func TestAuthorizeAllocatesNothing(t *testing.T) {
	s := aclFixture(1000)
	a, _ := NewAuthorizer([]string{"User:admin"}, false)
	p := User("u7")
	allocs := testing.AllocsPerRun(100, func() {
		if !a.Authorize(s, p, clientA, opWrite, topicT, "topic-7") {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Fatalf("Authorize allocated %.1f times per call", allocs)
	}
}

func BenchmarkAuthorize(b *testing.B) {
	s := aclFixture(10000)
	a, _ := NewAuthorizer([]string{"User:admin"}, false)
	p := User("u7")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !a.Authorize(s, p, clientA, opWrite, topicT, "topic-1207") {
			b.Fatal("refused")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}
