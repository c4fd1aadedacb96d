package security

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The authorizer's rules seen through the wire: what a principal may not
// Describe is left out of listings, DENY wins over ALLOW, prefixed ACLs
// cover the names they start, and allow.everyone.if.no.acl.found lets
// anyone at a resource no ACL names, and nobody else once one does.

const (
	authzTopicRes = kmsg.ACLResourceTypeTopic
	authzGroupRes = kmsg.ACLResourceTypeGroup
	authzLiteral  = kmsg.ACLResourcePatternTypeLiteral
	authzPrefixed = kmsg.ACLResourcePatternTypePrefixed
	authzAllow    = kmsg.ACLPermissionTypeAllow
	authzDeny     = kmsg.ACLPermissionTypeDeny
)

// eventually runs alice's request until it answers want (ACLs apply once
// the quorum commits them).
func (e *authzEnv) eventually(t *testing.T, what string, want int16, run func() int16) {
	t.Helper()
	e.expect(t, &authzCase{run: func(*testing.T, *authzEnv, *authzCase) int16 { return run() }}, what, want)
}

func TestAuthorizationRules(t *testing.T) {
	e := startAuthz(t)
	for _, name := range []string{"rules-a", "rules-b", "pre-1"} {
		e.createTopic(t, name)
	}
	e.commit(t, "group-a", "rules-a")
	e.commit(t, "group-b", "rules-b")
	produce := func(topic string) func() int16 {
		return func() int16 { return produceAs(t, e.alice, topic, e.topicID(t, topic), nil) }
	}

	t.Run("listings leave out what alice may not describe", func(t *testing.T) {
		e.revoke(t)
		e.createACLs(t, aclSpec{authzTopicRes, "rules-a", authzLiteral, "User:alice", kmsg.ACLOperationDescribe, authzAllow},
			aclSpec{authzGroupRes, "group-a", authzLiteral, "User:alice", kmsg.ACLOperationDescribe, authzAllow})
		e.eventually(t, "Metadata lists rules-a", 0, func() int16 {
			resp := send[*kmsg.MetadataResponse](t, e.alice, kmsg.NewPtrMetadataRequest())
			return listing(0, resp.Topics, func(mt kmsg.MetadataResponseTopic) bool { return *mt.Topic == "rules-a" })
		})
		resp := send[*kmsg.MetadataResponse](t, e.alice, kmsg.NewPtrMetadataRequest())
		if len(resp.Topics) != 1 {
			t.Fatalf("alice sees %d topics, want rules-a alone", len(resp.Topics))
		}
		groups := send[*kmsg.ListGroupsResponse](t, e.alice, kmsg.NewPtrListGroupsRequest())
		if len(groups.Groups) != 1 || groups.Groups[0].Group != "group-a" {
			t.Fatalf("alice lists %+v, want group-a alone", groups.Groups)
		}
		if got := metadataAs(t, e, "rules-b", false); got != kerr.TopicAuthorizationFailed.Code {
			t.Fatalf("Metadata naming rules-b: %s, want TOPIC_AUTHORIZATION_FAILED", codeName(got))
		}
	})

	t.Run("authorized operations are what alice may do", func(t *testing.T) {
		e.revoke(t)
		e.createACLs(t, aclSpec{authzTopicRes, "rules-a", authzLiteral, "User:alice", kmsg.ACLOperationRead, authzAllow})
		want := int32(1<<kmsg.ACLOperationRead | 1<<kmsg.ACLOperationDescribe) // READ implies DESCRIBE
		e.eventually(t, "rules-a's authorized operations", 0, func() int16 {
			req := kmsg.NewPtrMetadataRequest()
			req.IncludeTopicAuthorizedOperations = true
			name := "rules-a"
			req.Topics = append(req.Topics, kmsg.MetadataRequestTopic{Topic: &name})
			mt := send[*kmsg.MetadataResponse](t, e.alice, req).Topics[0]
			return listed(mt.ErrorCode == 0 && mt.AuthorizedOperations == want)
		})
	})

	t.Run("deny beats allow", func(t *testing.T) {
		e.revoke(t)
		e.createACLs(t, aclSpec{authzTopicRes, "rules-", authzPrefixed, "User:alice", kmsg.ACLOperationAll, authzAllow},
			aclSpec{authzTopicRes, "*", authzLiteral, "User:*", kmsg.ACLOperationWrite, authzAllow},
			aclSpec{authzTopicRes, "rules-a", authzLiteral, "User:alice", kmsg.ACLOperationWrite, authzDeny})
		e.eventually(t, "producing to rules-b", 0, produce("rules-b"))
		e.eventually(t, "producing to rules-a", kerr.TopicAuthorizationFailed.Code, produce("rules-a"))
	})

	t.Run("a prefixed ACL covers the names it starts", func(t *testing.T) {
		e.revoke(t)
		e.createACLs(t, aclSpec{authzTopicRes, "pre-", authzPrefixed, "User:alice", kmsg.ACLOperationWrite, authzAllow})
		e.eventually(t, "producing to pre-1", 0, produce("pre-1"))
		e.eventually(t, "producing to rules-a", kerr.TopicAuthorizationFailed.Code, produce("rules-a"))
	})
}

func TestAllowEveryoneIfNoACLFound(t *testing.T) {
	e := startAuthz(t, "allow.everyone.if.no.acl.found=true")
	e.createTopic(t, "open")
	produce := func() int16 { return produceAs(t, e.alice, "open", e.topicID(t, "open"), nil) }
	e.eventually(t, "producing where no ACL names the topic", 0, produce)
	// An ACL for someone else makes the topic one that ACLs govern.
	e.createACLs(t, aclSpec{authzTopicRes, "open", authzLiteral, "User:bob", kmsg.ACLOperationWrite, authzAllow})
	e.eventually(t, "producing once an ACL names the topic", kerr.TopicAuthorizationFailed.Code, produce)
	// Cluster-level APIs follow the same rule.
	e.eventually(t, "DescribeLogDirs without cluster ACLs", 0, func() int16 {
		return send[*kmsg.DescribeLogDirsResponse](t, e.alice, kmsg.NewPtrDescribeLogDirsRequest()).ErrorCode
	})
}
