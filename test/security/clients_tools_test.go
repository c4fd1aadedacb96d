package security

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/kafka"
)

// aclCommand is kafka-acls.sh's class in Kafka 4.4's tools jar.
const aclCommand = "org.apache.kafka.tools.AclCommand"

// tool runs one of Kafka's tools against the cluster as admin over
// SASL_SSL, failing the test on a non-zero exit.
func tool(t *testing.T, s *secured, class string, args ...string) string {
	t.Helper()
	args = append([]string{"--bootstrap-server", strings.Join(s.Seeds(), ","), "--command-config", javaProps(t, s, s.admin())}, args...)
	r := kafka.KafkaTool(t, class, args...)
	if r.Code != 0 {
		t.Fatalf("%s %s: exit %d\n%s\n%s", class, strings.Join(args, " "), r.Code, r.Out, r.Err)
	}
	return r.Out
}

// kafkaTools: Kafka's own kafka-configs.sh creates a SCRAM user that then
// authenticates, and kafka-acls.sh adds, lists and removes an ACL that
// the broker enforces meanwhile.
func kafkaTools(t *testing.T, s *secured) {
	tool(t, s, kafka.ConfigCommand, "--alter", "--entity-type", "users", "--entity-name", "bob",
		"--add-config", "SCRAM-SHA-512=[iterations=8192,password=bob-secret]")
	// kafka-configs --describe of users asks DescribeClientQuotas too,
	// which gokafka does not serve (reported); DescribeUserScramCredentials
	// is the part that tells whether the --alter took.
	scrams, err := kadm.NewClient(s.franz(t, s.admin())).DescribeUserSCRAMs(ctx(t), "bob")
	if err == nil {
		err = scrams.Error()
	}
	if err != nil || len(scrams["bob"].CredInfos) != 1 || scrams["bob"].CredInfos[0].Iterations != 8192 {
		t.Errorf("bob's SCRAM credentials after kafka-configs --alter: %+v, %v", scrams["bob"], err)
	}
	bob := way{name: "bob", protocol: "SASL_SSL", mechanism: "SCRAM-SHA-512", user: "bob", pass: "bob-secret", seeds: s.Seeds()}
	if err := pingErr(t, s, bob); err != nil {
		t.Errorf("bob, created by kafka-configs, cannot authenticate: %v", err)
	}

	const topic = "tools"
	s.topic(t, topic, nil)
	acl := []string{"--topic", topic, "--allow-principal", "User:bob", "--operation", "Read"}
	tool(t, s, aclCommand, append([]string{"--add"}, acl...)...)
	out := tool(t, s, aclCommand, "--list", "--topic", topic)
	if !strings.Contains(out, "principal=User:bob, host=*, operation=READ, permissionType=ALLOW") {
		t.Errorf("kafka-acls --list after --add:\n%s", out)
	}
	// With an ACL on the topic, allow.everyone.if.no.acl.found no longer
	// lets alice write to it.
	alice := s.franz(t, s.ways()[0], kgo.DefaultProduceTopic(topic), kgo.RecordRetries(1))
	if err := alice.ProduceSync(ctx(t), &kgo.Record{Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("alice producing to %s under bob's ACL: %v, want TOPIC_AUTHORIZATION_FAILED", topic, err)
	}
	tool(t, s, aclCommand, append([]string{"--remove", "--force"}, acl...)...)
	if out = tool(t, s, aclCommand, "--list", "--topic", topic); strings.Contains(out, "User:bob") {
		t.Errorf("kafka-acls --list after --remove:\n%s", out)
	}
}
