// Package security runs gokafka secured as issue 14 asks: every client
// family over SASL_SSL (SCRAM-SHA-512 and PLAIN) and over mutual TLS,
// authentication failures in Kafka's words, and the ACL authorizer.
package security

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gokafka/gokafka/test/harness"
)

// records is how many records each client produces and reads back.
const records = 100

// secured is the cluster every client test here runs against: three
// nodes in harness.Secured's layout, ACLs on with admin as the super user
// and everyone allowed where no ACL names a resource.
type secured struct {
	*harness.Cluster
	layout *harness.Secured
	alice  *harness.Identity // mTLS client certificate CN=alice
}

// way is one way in for a client: a protocol, a mechanism and a user.
type way struct {
	name      string
	protocol  string // SASL_SSL or SSL
	mechanism string // SCRAM-SHA-512 or PLAIN; "" for mTLS
	user      string // the SASL user; CN of the certificate for mTLS
	pass      string
	cert      *harness.Identity // presented on SSL
	seeds     []string
}

// Users of the cluster, beside admin.
const (
	scramUser, scramPass = "alice", "alice-secret"
	plainUser, plainPass = "carol", "carol-secret"
)

func startSecured(t *testing.T) *secured {
	t.Helper()
	pki := harness.NewPKI(t)
	alice, err := pki.Client("alice")
	if err != nil {
		t.Fatal(err)
	}
	layout := &harness.Secured{
		PKI: pki, Admin: "admin", AdminPassword: "admin-secret",
		Scram: map[string]string{scramUser: scramPass},
		Plain: map[string]string{"admin": "admin-secret", plainUser: plainPass},
	}
	c := harness.StartSecuredT(t, layout, 3,
		"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users=User:admin",
		"allow.everyone.if.no.acl.found=true")
	return &secured{Cluster: c, layout: layout, alice: alice}
}

// ways are the three ways in that every client family takes.
func (s *secured) ways() []way {
	var ssl []string
	for _, n := range s.Nodes {
		ssl = append(ssl, s.layout.SSLAddr(n))
	}
	return []way{
		{name: "SCRAM-SHA-512", protocol: "SASL_SSL", mechanism: "SCRAM-SHA-512", user: scramUser, pass: scramPass, seeds: s.Seeds()},
		{name: "PLAIN", protocol: "SASL_SSL", mechanism: "PLAIN", user: plainUser, pass: plainPass, seeds: s.Seeds()},
		{name: "mTLS", protocol: "SSL", user: "alice", cert: s.alice, seeds: ssl},
	}
}

// admin is a way in as the super user, for setting up topics.
func (s *secured) admin() way {
	return way{name: "admin", protocol: "SASL_SSL", mechanism: "SCRAM-SHA-512", user: "admin", pass: "admin-secret", seeds: s.Seeds()}
}

// franzMechanism is franz-go's client side of w's mechanism; the sarama
// and kafka-go adapters below reuse it for SCRAM.
func franzMechanism(w way) sasl.Mechanism {
	switch w.mechanism {
	case "PLAIN":
		return plain.Auth{User: w.user, Pass: w.pass}.AsMechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: w.user, Pass: w.pass}.AsSha512Mechanism()
	}
	return nil
}

// franz is a franz-go client taking way w in.
func (s *secured) franz(t *testing.T, w way, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(w.seeds...), kgo.DialTLSConfig(s.layout.PKI.ClientTLS(w.cert))}, opts...)
	if m := franzMechanism(w); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// topic creates a one-partition topic replicated on all three nodes, as
// admin, so that each client's records come back in the order written.
func (s *secured) topic(t *testing.T, name string, configs map[string]*string) {
	t.Helper()
	cl := s.franz(t, s.admin())
	r, err := kadm.NewClient(cl).CreateTopic(ctx(t), 1, 3, configs, name)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	// Some clients (kafka-go's writer) give up on the first
	// UNKNOWN_TOPIC_OR_PARTITION from a node whose metadata is a moment
	// behind: wait until every node knows the leader.
	for _, n := range s.Nodes {
		harness.WaitFor(t, fmt.Sprintf("node %d's metadata of %s", n.ID, name), 10*time.Second, func() bool {
			req := kmsg.NewPtrMetadataRequest()
			req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(name)}}
			resp, err := cl.Broker(n.ID).Request(ctx(t), req)
			if err != nil {
				return false
			}
			md := resp.(*kmsg.MetadataResponse)
			return len(md.Topics) == 1 && md.Topics[0].ErrorCode == 0 &&
				len(md.Topics[0].Partitions) == 1 && md.Topics[0].Partitions[0].Leader >= 0
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// numbered are the records each client writes: "k<i>:v<i>" lines.
func numbered() string {
	var b strings.Builder
	for i := range records {
		fmt.Fprintf(&b, "k%d:v%d\n", i, i)
	}
	return b.String()
}

// check compares what a client read back, as "key:value" lines, with
// what was written.
func check(t *testing.T, client string, got string) {
	t.Helper()
	if want := numbered(); got != want {
		t.Fatalf("%s read back:\n%s\nwant:\n%s", client, firstLines(got, 5), firstLines(want, 5))
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		return strings.Join(lines[:n], "") + fmt.Sprintf("... (%d lines)", len(lines)-1)
	}
	return s
}

// A client family produces records numbered lines to topic taking way w
// in, reads them back the same way, and returns them as numbered lines.
type family struct {
	name string
	run  func(t *testing.T, s *secured, w way, topic string) string
}

// TestClientsSecured runs every client family over every way in, against
// one secured cluster, and then the failures and tools that need one.
func TestClientsSecured(t *testing.T) {
	s := startSecured(t)
	families := append(goFamilies(), externalFamilies()...)
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			for _, w := range s.ways() {
				t.Run(w.name, func(t *testing.T) {
					topic := strings.ToLower(f.name + "-" + w.name)
					s.topic(t, topic, nil)
					check(t, f.name, f.run(t, s, w, topic))
				})
			}
		})
	}
	for _, tc := range failures() {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
	}
}
