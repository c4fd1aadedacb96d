package security

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/test/harness"
)

// The authorization matrix, tested from broker.Authorizations: for each
// API and kind of request, alice without a row's grant gets the row's error
// (or does not see the resource listed), and with the grants she passes.

const (
	authzTopic   = "authz"       // one partition, with a record and committed offsets
	authzGroup   = "authz-group" // has committed offsets on authzTopic
	authzTxnID   = "authz-txn"
	authzCluster = "kafka-cluster"
	// notListed is what a case reports when the resource is left out of a
	// listing; rows with Error None expect it when refused.
	notListed = -1
)

// authzJAAS is the PLAIN login line of the broker's one listener.
const authzJAAS = `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ` +
	`username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`

// authzEnv is a one-node broker on SASL_PLAINTEXT with the authorizer on,
// and a client as admin (super user) and as alice.
type authzEnv struct {
	c            *harness.Cluster
	admin, alice *kgo.Client
	// aliceV3 is alice as a client that sends AddPartitionsToTxn at v3,
	// the client's form, rather than the brokers' v4+.
	aliceV3 *kgo.Client
}

func startAuthz(t *testing.T, extra ...string) *authzEnv {
	t.Helper()
	listen := func(nd *harness.Node) ([]string, error) {
		return []string{
			fmt.Sprintf("listeners=SASL_PLAINTEXT://%s,CONTROLLER://%s", nd.KafkaAddr, nd.CtrlAddr),
			"advertised.listeners=SASL_PLAINTEXT://" + nd.KafkaAddr,
		}, nil
	}
	props := append([]string{
		"listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name=SASL_PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN",
		"sasl.mechanism.inter.broker.protocol=PLAIN",
		authzJAAS,
		"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users=User:admin",
		"auto.create.topics.enable=true",
	}, extra...)
	c := harness.StartWithT(t, harness.Binary(t), 1, listen, props...)
	v3 := kversion.Stable()
	v3.SetMaxKeyVersion(int16(kmsg.AddPartitionsToTxn), 3)
	e := &authzEnv{c: c, admin: authzClient(t, c, "admin", "admin-secret"), alice: authzClient(t, c, "alice", "alice-secret"),
		aliceV3: authzClient(t, c, "alice", "alice-secret", kgo.MaxVersions(v3))}
	return e
}

func authzClient(t *testing.T, c *harness.Cluster, user, pass string, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Seeds()...), kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()),
		kgo.RequestRetries(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	// Requests go to broker 1 directly (not routed by kgo, which would
	// turn a refused FindCoordinator into an error of its own), so load
	// the broker list first.
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx(t), cl); err != nil {
		t.Fatalf("metadata as %s: %v", user, err)
	}
	return cl
}

// send issues req on broker 1 as cl.
func send[R kmsg.Response](t *testing.T, cl *kgo.Client, req kmsg.Request) R {
	t.Helper()
	resp, err := cl.Broker(1).Request(ctx(t), req)
	if err != nil {
		t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp.(R)
}

// first is the first non-zero code, or 0.
func first(codes ...int16) int16 {
	for _, c := range codes {
		if c != 0 {
			return c
		}
	}
	return 0
}

// authzCase is how the test exercises one API and kind of request.
type authzCase struct {
	key  kmsg.Key
	when string
	// topic and group name the resources the rows grant on; authzTopic
	// and authzGroup unless set.
	topic, group string
	// freshTopic, when set, names a new topic for each grant of a check
	// (freshTopic-1, -2, …): a request that creates its topic passes only
	// once per name.
	freshTopic string
	fresh      int
	// setup runs as admin before each attempt, to put back what a passing
	// request took away.
	setup func(t *testing.T, e *authzEnv)
	// run sends alice's request and returns the code the matrix speaks of.
	run func(t *testing.T, e *authzEnv, c *authzCase) int16
	// granted is the code once every check passes: 0 unless the request
	// goes on to fail for a reason of its own, past authorization.
	granted int16
	// untestable says why a granted request cannot be told from a refused
	// one; only the refusal is then checked.
	untestable string
}

func (c *authzCase) renew() {
	if c.freshTopic != "" {
		c.fresh++
		c.topic = fmt.Sprintf("%s-%d", c.freshTopic, c.fresh)
	}
}

func (c *authzCase) name(rt kmsg.ACLResourceType) string {
	switch rt {
	case kmsg.ACLResourceTypeTopic:
		return cmpOr(c.topic, authzTopic)
	case kmsg.ACLResourceTypeGroup:
		return cmpOr(c.group, authzGroup)
	case kmsg.ACLResourceTypeTransactionalId:
		return authzTxnID
	}
	return authzCluster
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestAuthorizationMatrix(t *testing.T) {
	e := startAuthz(t)
	e.createTopic(t, authzTopic)
	e.produce(t, authzTopic)
	e.commit(t, authzGroup, authzTopic)

	cases := map[string]*authzCase{}
	for _, c := range authzCases() {
		cases[shape(c.key, c.when)] = c
	}
	shapes := map[string][]broker.Authorization{}
	var order []string
	for _, a := range broker.Authorizations() {
		s := shape(a.Key, a.When)
		if shapes[s] == nil {
			order = append(order, s)
		}
		shapes[s] = append(shapes[s], a)
	}
	for s := range cases {
		if shapes[s] == nil {
			t.Errorf("case %q has no row in broker.Authorizations", s)
		}
	}
	for _, s := range order {
		t.Run(s, func(t *testing.T) {
			c := cases[s]
			if c == nil {
				t.Fatalf("the matrix has rows for %q but the test has no case", s)
			}
			e.checkShape(t, c, alternatives(shapes[s]))
		})
	}
}

func shape(key kmsg.Key, when string) string {
	return strings.TrimSpace(kmsg.NameForKey(int16(key)) + " " + when)
}

// alternatives groups rows into checks that must all pass, each passed by
// any one of its alternatives.
func alternatives(rows []broker.Authorization) [][]broker.Authorization {
	var out [][]broker.Authorization
	for _, r := range rows {
		if r.Resource == kmsg.ACLResourceTypeUnknown {
			continue
		}
		if r.OrPrevious {
			out[len(out)-1] = append(out[len(out)-1], r)
		} else {
			out = append(out, []broker.Authorization{r})
		}
	}
	return out
}

// checkShape refuses each check in turn, with the others granted, then
// grants each of its alternatives in turn.
func (e *authzEnv) checkShape(t *testing.T, c *authzCase, checks [][]broker.Authorization) {
	if len(checks) == 0 {
		e.expect(t, c, "no ACLs", c.granted)
		return
	}
	for i, alts := range checks {
		var others []broker.Authorization
		for j, o := range checks {
			if j != i {
				others = append(others, o[0])
			}
		}
		e.revoke(t)
		c.renew()
		e.grant(t, c, others...)
		want := int16(alts[0].Error)
		if alts[0].Error == protocol.None {
			want = notListed
		}
		e.expect(t, c, fmt.Sprintf("without %s on %s", alts[0].Operation, alts[0].Resource), want)
		if c.untestable != "" {
			t.Logf("granted: not checked: %s", c.untestable)
			continue
		}
		for _, a := range alts {
			e.revoke(t)
			c.renew()
			e.grant(t, c, append(others, a)...)
			e.expect(t, c, fmt.Sprintf("with %s on %s", a.Operation, a.Resource), c.granted)
		}
	}
	e.revoke(t)
}

// expect runs the case until it answers want: ACLs reach the broker through
// the quorum a moment after CreateAcls returns.
func (e *authzEnv) expect(t *testing.T, c *authzCase, what string, want int16) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c.setup != nil {
			c.setup(t, e)
		}
		got := c.run(t, e, c)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: alice got %s, want %s", what, codeName(got), codeName(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func codeName(code int16) string {
	if code == notListed {
		return "the resource left out"
	}
	if err := kerr.ErrorForCode(code); err != nil {
		return err.Error()
	}
	return "no error"
}

// grant gives alice each row's operation on the case's resource.
func (e *authzEnv) grant(t *testing.T, c *authzCase, rows ...broker.Authorization) {
	t.Helper()
	var acls []aclSpec
	for _, a := range rows {
		acls = append(acls, aclSpec{a.Resource, c.name(a.Resource), kmsg.ACLResourcePatternTypeLiteral, "User:alice", a.Operation, kmsg.ACLPermissionTypeAllow})
	}
	e.createACLs(t, acls...)
}

type aclSpec struct {
	rt      kmsg.ACLResourceType
	name    string
	pattern kmsg.ACLResourcePatternType
	who     string
	op      kmsg.ACLOperation
	perm    kmsg.ACLPermissionType
}

func (e *authzEnv) createACLs(t *testing.T, acls ...aclSpec) {
	t.Helper()
	if len(acls) == 0 {
		return
	}
	req := kmsg.NewPtrCreateACLsRequest()
	for _, a := range acls {
		cr := kmsg.NewCreateACLsRequestCreation()
		cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = a.rt, a.name, a.pattern
		cr.Principal, cr.Host, cr.Operation, cr.PermissionType = a.who, "*", a.op, a.perm
		req.Creations = append(req.Creations, cr)
	}
	resp := send[*kmsg.CreateACLsResponse](t, e.admin, req)
	for _, r := range resp.Results {
		if r.ErrorCode != 0 {
			t.Fatalf("CreateAcls: %s", codeName(r.ErrorCode))
		}
	}
}

// revoke deletes every ACL (the tests grant to alice and User:*).
func (e *authzEnv) revoke(t *testing.T) {
	t.Helper()
	req := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	req.Filters = append(req.Filters, f)
	resp := send[*kmsg.DeleteACLsResponse](t, e.admin, req)
	if resp.Results[0].ErrorCode != 0 {
		t.Fatalf("DeleteAcls: %s", codeName(resp.Results[0].ErrorCode))
	}
}

func (e *authzEnv) createTopic(t *testing.T, name string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
	req.Topics = append(req.Topics, rt)
	resp := send[*kmsg.CreateTopicsResponse](t, e.admin, req)
	if c := resp.Topics[0].ErrorCode; c != 0 && c != kerr.TopicAlreadyExists.Code {
		t.Fatalf("creating %s: %s", name, codeName(c))
	}
}

func (e *authzEnv) produce(t *testing.T, topic string) {
	t.Helper()
	code := kerr.UnknownTopicID.Code
	// A topic just created may not be in the metadata yet: no id.
	for deadline := time.Now().Add(10 * time.Second); code == kerr.UnknownTopicID.Code && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		code = produceAs(t, e.admin, topic, e.topicID(t, topic), nil)
	}
	if code != 0 {
		t.Fatalf("producing to %s: %s", topic, codeName(code))
	}
}

// commit commits an offset as admin, waiting for the group coordinator
// (FindCoordinator creates __consumer_offsets on first use).
func (e *authzEnv) commit(t *testing.T, group, topic string) {
	t.Helper()
	var code int16
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey, req.CoordinatorKeys = group, []string{group}
		send[*kmsg.FindCoordinatorResponse](t, e.admin, req)
		if code = commitAs(t, e.admin, group, topic, e.topicID(t, topic)); code == 0 {
			return
		}
	}
	t.Fatalf("committing for %s: %s", group, codeName(code))
}

// produceAs produces one record to partition 0 of the topic, named by name
// before Produce v13 and by id from v13.
func produceAs(t *testing.T, cl *kgo.Client, topic string, id [16]byte, txn *string) int16 {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis, req.TransactionID = 1, 5000, txn
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = protocol.BuildBatch(time.Now().UnixMilli(), []protocol.KV{{Value: []byte("v")}})
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := send[*kmsg.ProduceResponse](t, cl, req)
	return resp.Topics[0].Partitions[0].ErrorCode
}

// commitAs commits offset 1 of the topic's partition 0 for group, the
// topic by name before OffsetCommit v10 and by id from v10.
func commitAs(t *testing.T, cl *kgo.Client, group, topic string, id [16]byte) int16 {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = group, -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Offset = 1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := send[*kmsg.OffsetCommitResponse](t, cl, req)
	return resp.Topics[0].Partitions[0].ErrorCode
}

// listing is a listing's code: its error, else whether it lists what
// match finds.
func listing[T any](code int16, items []T, match func(T) bool) int16 {
	if code != 0 {
		return code
	}
	return listed(slices.ContainsFunc(items, match))
}

// listed turns "is it in the listing" into a case's code.
func listed(ok bool) int16 {
	if ok {
		return 0
	}
	return notListed
}

// topicID is the topic's ID, as admin sees it.
func (e *authzEnv) topicID(t *testing.T, name string) [16]byte {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = append(req.Topics, kmsg.MetadataRequestTopic{Topic: &name})
	return send[*kmsg.MetadataResponse](t, e.admin, req).Topics[0].TopicID
}
