// Package cli runs the gokafka command-line tool as a subprocess against a
// three-node cluster and checks what it prints, as an operator would see it.
package cli

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

var fast = []string{
	"broker.session.timeout.ms=3000",
	"broker.heartbeat.interval.ms=500",
	"replica.lag.time.max.ms=3000",
	"group.initial.rebalance.delay.ms=0",
}

type result struct {
	out, err string
	code     int
}

// gokafka runs the CLI with args (and --bootstrap-server naming every node
// unless args name one), feeding stdin.
func gokafka(t *testing.T, c *harness.Cluster, stdin string, args ...string) result {
	t.Helper()
	if c != nil && !strings.Contains(strings.Join(args, " "), "--bootstrap-server") {
		args = append(args, "--bootstrap-server", strings.Join(c.Seeds(), ","))
	}
	cmd := exec.Command(harness.CLI(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out: out.String(), err: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("gokafka %v: %v", args, err)
	}
	return r
}

// ok runs the CLI and fails the test unless it exits 0.
func ok(t *testing.T, c *harness.Cluster, stdin string, args ...string) string {
	t.Helper()
	r := gokafka(t, c, stdin, args...)
	if r.code != 0 {
		t.Fatalf("gokafka %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// fails runs the CLI, wants exit code and one line on stderr containing msg.
func fails(t *testing.T, c *harness.Cluster, code int, msg string, args ...string) {
	t.Helper()
	r := gokafka(t, c, "", args...)
	lines := strings.Split(strings.TrimSpace(r.err), "\n")
	if r.code != code || len(lines) != 1 || !strings.Contains(r.err, msg) {
		t.Fatalf("gokafka %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(args, " "), r.code, r.err, code, msg)
	}
}

// topicFails runs gokafka topics and wants what kafka-topics.sh prints
// for a failure: exit 1 and one line on stdout with the broker's message.
func topicFails(t *testing.T, c *harness.Cluster, msg string, args ...string) {
	t.Helper()
	r := gokafka(t, c, "", append([]string{"topics"}, args...)...)
	if r.code != 1 || r.err != "" || !strings.HasPrefix(r.out, "Error while executing topic command : ") ||
		strings.Count(r.out, "\n") != 1 || !strings.Contains(r.out, msg) {
		t.Fatalf("gokafka topics %s: exit %d, stdout %q, stderr %q; want exit 1 and Kafka's error line with %q", strings.Join(args, " "), r.code, r.out, r.err, msg)
	}
}

// TestTopicsCommand creates, lists, describes (in Kafka 3.x's exact format,
// with the partition filters), alters and deletes topics.
func TestTopicsCommand(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	if out := ok(t, c, "", "topics", "--create", "--topic", "topic-A", "--partitions", "2", "--replication-factor", "3"); out != "Created topic topic-A.\n" {
		t.Fatalf("create printed %q", out)
	}
	ok(t, c, "", "topics", "--create", "--topic", "solo", "--replica-assignment", "3", "--config", "retention.ms=3600000")
	topicFails(t, c, "already exists", "--create", "--topic", "topic-A", "--partitions", "2")
	// More partitions than one controller operation may create (KRaft's
	// bound, 10,000) violate the controller's policy.
	topicFails(t, c, "10000", "--create", "--topic", "huge", "--partitions", "10001", "--replication-factor", "1")
	ok(t, c, "", "topics", "--create", "--topic", "topic-A", "--if-not-exists")
	// Metadata is answered from the broker's own copy, which may apply a
	// new topic a heartbeat after the broker that created it.
	var out string
	harness.WaitFor(t, "both topics listed", 5*time.Second, func() bool {
		out = ok(t, c, "", "topics", "--list", "--exclude-internal")
		return out == "solo\ntopic-A\n"
	})

	// Eligible leader replicas (KIP-966) come from DescribeTopicPartitions:
	// gokafka has none, so the lists are empty, as on a Kafka 4 without any.
	described := regexp.MustCompile(`^Topic: topic-A\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: \n` +
		`\tTopic: topic-A\tPartition: 0\tLeader: [123]\tReplicas: [123],[123],[123]\tIsr: [123],[123],[123]\tElr: \tLastKnownElr: \n` +
		`\tTopic: topic-A\tPartition: 1\tLeader: [123]\tReplicas: [123],[123],[123]\tIsr: [123],[123],[123]\tElr: \tLastKnownElr: \n$`)
	if out = ok(t, c, "", "topics", "--describe", "--topic", "topic-A"); !described.MatchString(out) {
		t.Fatalf("describe printed\n%s", out)
	}
	if out := ok(t, c, "", "topics", "--describe", "--topic", "solo"); !strings.Contains(out, "\tConfigs: retention.ms=3600000\n") ||
		!strings.Contains(out, "\tTopic: solo\tPartition: 0\tLeader: 3\tReplicas: 3\tIsr: 3\tElr: \tLastKnownElr: \n") {
		t.Fatalf("describe solo printed\n%s", out)
	}

	topicFails(t, c, "The topic topic-A currently has 2 partition(s); 1 would not be an increase.", "--alter", "--topic", "topic-A", "--partitions", "1")
	ok(t, c, "", "topics", "--alter", "--topic", "topic-A", "--partitions", "3")
	harness.WaitFor(t, "three partitions described", 5*time.Second, func() bool {
		return strings.Contains(ok(t, c, "", "topics", "--describe", "--topic", "topic-A"), "PartitionCount: 3\t")
	})

	ok(t, c, "", "topics", "--create", "--topic", "strict", "--partitions", "1", "--replication-factor", "3",
		"--config", "min.insync.replicas=3")
	// Node 3 dies: partitions it replicates are under-replicated once it
	// leaves their ISRs, "strict" is also under its min.insync.replicas,
	// and "solo", which only node 3 holds, is unavailable.
	c.Nodes[2].Kill()
	harness.WaitFor(t, "topic-A under-replicated", 20*time.Second, func() bool {
		out := ok(t, c, "", "topics", "--describe", "--under-replicated-partitions", "--bootstrap-server", c.Nodes[0].KafkaAddr)
		return strings.Count(out, "\tTopic: topic-A\t") == 3 && strings.Contains(out, "\tTopic: strict\t") && !strings.Contains(out, "PartitionCount")
	})
	harness.WaitFor(t, "strict under min ISR", 20*time.Second, func() bool {
		out := ok(t, c, "", "topics", "--describe", "--under-min-isr-partitions", "--bootstrap-server", c.Nodes[0].KafkaAddr)
		return strings.Contains(out, "\tTopic: strict\tPartition: 0\t") && !strings.Contains(out, "topic-A")
	})
	harness.WaitFor(t, "solo unavailable", 20*time.Second, func() bool {
		out := ok(t, c, "", "topics", "--describe", "--unavailable-partitions", "--bootstrap-server", c.Nodes[0].KafkaAddr)
		return strings.Contains(out, "\tTopic: solo\tPartition: 0\tLeader: none\t") && !strings.Contains(out, "topic-A")
	})

	ok(t, c, "", "topics", "--delete", "--topic", "topic-A", "--bootstrap-server", c.Nodes[0].KafkaAddr)
	if out := ok(t, c, "", "topics", "--list", "--bootstrap-server", c.Nodes[0].KafkaAddr); strings.Contains(out, "topic-A") {
		t.Fatalf("topic-A still listed after delete:\n%s", out)
	}
	fails(t, c, 2, "--bogus", "topics", "--bogus")
	fails(t, nil, 2, "--bootstrap-server is required", "topics", "--list")
	if r := gokafka(t, nil, "", "topics", "--help"); r.code != 0 || !strings.Contains(r.out, "--under-min-isr-partitions") {
		t.Fatalf("topics --help: exit %d\n%s", r.code, r.out)
	}
}

// TestConsumerGroupsAndConsole produces keyed lines with console-producer,
// reads them in a group with console-consumer, then describes, resets and
// deletes the group.
func TestConsumerGroupsAndConsole(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	ok(t, c, "", "topics", "--create", "--topic", "lines", "--partitions", "2", "--replication-factor", "3")
	var in strings.Builder
	for i := range 10 {
		fmt.Fprintf(&in, "key-%d:value-%d\n", i, i)
	}
	ok(t, c, in.String(), "console-producer", "--topic", "lines", "--property", "parse.key=true", "--property", "key.separator=:")
	out := ok(t, c, "", "console-consumer", "--topic", "lines", "--group", "cli-group", "--from-beginning",
		"--max-messages", "10", "--property", "print.key=true", "--property", "key.separator=:")
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != 10 {
		t.Fatalf("console-consumer printed %d lines:\n%s", len(got), out)
	}
	for _, line := range got {
		if !strings.Contains(in.String(), line+"\n") {
			t.Fatalf("console-consumer printed %q, which was not produced", line)
		}
	}
	if out := ok(t, c, "", "consumer-groups", "--list"); !strings.Contains(out, "cli-group\n") {
		t.Fatalf("list printed %q", out)
	}
	header := regexp.MustCompile(`(?m)^GROUP +TOPIC +PARTITION +CURRENT-OFFSET +LOG-END-OFFSET +LAG +CONSUMER-ID +HOST +CLIENT-ID$`)
	row := regexp.MustCompile(`(?m)^cli-group +lines +([01]) +(\d+|-) +(\d+) +(\d+|-) +- +- +-$`)
	described := gokafka(t, c, "", "consumer-groups", "--describe", "--group", "cli-group")
	out = described.out
	rows := row.FindAllStringSubmatch(out, -1)
	if !header.MatchString(out) || !strings.Contains(described.err, "Consumer group 'cli-group' has no active members.") || len(rows) != 2 {
		t.Fatalf("describe printed\n%s", out)
	}
	for _, r := range rows {
		if r[3] == "0" && r[2] == "-" {
			continue // nothing was produced to it
		}
		if r[2] != r[3] || r[4] != "0" {
			t.Fatalf("partition %s: committed %s, end %s, lag %s; want everything read", r[1], r[2], r[3], r[4])
		}
	}
	out = ok(t, c, "", "consumer-groups", "--reset-offsets", "--group", "cli-group", "--topic", "lines", "--to-earliest", "--execute")
	if n := len(regexp.MustCompile(`(?m)^cli-group +lines +[01] +0 *$`).FindAllString(out, -1)); n != 2 {
		t.Fatalf("reset printed\n%s", out)
	}
	out = ok(t, c, "", "consumer-groups", "--describe", "--group", "cli-group")
	for _, r := range row.FindAllStringSubmatch(out, -1) {
		if r[2] != "0" || r[4] != r[3] {
			t.Fatalf("after reset, partition %s: committed %s, lag %s of %s", r[1], r[2], r[4], r[3])
		}
	}
	if out := ok(t, c, "", "consumer-groups", "--delete", "--group", "cli-group"); out != "Deletion of requested consumer groups ('cli-group') was successful.\n" {
		t.Fatalf("delete printed %q", out)
	}
	// Kafka 4's tool reports a missing group (GROUP_ID_NOT_FOUND from
	// DescribeGroups v6) on stdout and exits 0.
	if out := ok(t, c, "", "consumer-groups", "--describe", "--group", "cli-group"); out !=
		"\nError: Executing consumer group command failed due to org.apache.kafka.common.errors.GroupIdNotFoundException: Group cli-group not found.\n" {
		t.Fatalf("describe of a deleted group printed %q", out)
	}
}

// TestConfigsCommand alters and describes topic configs, describes a
// broker, and shows the refusal of dynamic broker configs as one line.
func TestConfigsCommand(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	ok(t, c, "", "topics", "--create", "--topic", "cfg", "--partitions", "1", "--replication-factor", "3")
	if out := ok(t, c, "", "configs", "--alter", "--entity-type", "topics", "--entity-name", "cfg",
		"--add-config", "retention.ms=3600000,max.message.bytes=2000"); out != "Completed updating config for topic cfg.\n" {
		t.Fatalf("alter printed %q", out)
	}
	ok(t, c, "", "configs", "--alter", "--entity-type", "topics", "--entity-name", "cfg", "--delete-config", "max.message.bytes")
	want := "Dynamic configs for topic cfg are:\n" +
		"  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000, DEFAULT_CONFIG:log.retention.hours=168}\n"
	// The change is applied on the broker that took it before it answers;
	// the one describing may apply it a heartbeat later.
	var out string
	harness.WaitFor(t, "the deleted config gone from the description", 5*time.Second, func() bool {
		out = ok(t, c, "", "configs", "--describe", "--entity-type", "topics", "--entity-name", "cfg")
		return !strings.Contains(out, "max.message.bytes")
	})
	if out != want {
		t.Fatalf("describe printed\n%q\nwant\n%q", out, want)
	}
	out = ok(t, c, "", "configs", "--describe", "--entity-type", "brokers", "--entity-name", "2", "--all")
	if !strings.HasPrefix(out, "All configs for broker 2 are:\n") || !strings.Contains(out, "  node.id=2 sensitive=false") {
		t.Fatalf("broker describe printed\n%s", out)
	}

	// Dynamic broker configs: one broker's own, and the cluster default,
	// which sets the default of every topic without an override.
	if out := ok(t, c, "", "configs", "--alter", "--entity-type", "brokers", "--entity-name", "2",
		"--add-config", "log.retention.ms=7200000"); out != "Completed updating config for broker 2.\n" {
		t.Fatalf("broker alter printed %q", out)
	}
	want = "Dynamic configs for broker 2 are:\n" +
		"  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=7200000, DEFAULT_CONFIG:log.retention.hours=168}\n"
	if out := ok(t, c, "", "configs", "--describe", "--entity-type", "brokers", "--entity-name", "2"); out != want {
		t.Fatalf("broker describe printed\n%q\nwant\n%q", out, want)
	}
	ok(t, c, "", "configs", "--alter", "--entity-type", "brokers", "--entity-default", "--add-config", "log.retention.hours=5")
	harness.WaitFor(t, "the cluster default reaching topics without an override", 5*time.Second, func() bool {
		out := ok(t, c, "", "configs", "--describe", "--entity-type", "topics", "--entity-name", "cfg", "--all",
			"--bootstrap-server", c.Nodes[0].KafkaAddr)
		return strings.Contains(out, "  retention.ms=3600000 ") && // the override stays
			strings.Contains(out, "  segment.bytes=1073741824 ")
	})
	ok(t, c, "", "topics", "--create", "--topic", "plain", "--partitions", "1", "--replication-factor", "3")
	harness.WaitFor(t, "a new topic taking the dynamic default", 5*time.Second, func() bool {
		out := ok(t, c, "", "configs", "--describe", "--entity-type", "topics", "--entity-name", "plain", "--all",
			"--bootstrap-server", c.Nodes[0].KafkaAddr)
		return strings.Contains(out, "  retention.ms=18000000 ")
	})
	fails(t, c, 1, "Cannot update these configs dynamically: Set(num.partitions)", "configs", "--alter", "--entity-type", "brokers",
		"--entity-name", "2", "--add-config", "num.partitions=3")
	fails(t, c, 1, "INVALID_CONFIG", "configs", "--alter", "--entity-type", "brokers",
		"--entity-name", "2", "--add-config", "log.retention.ms=soon")
	fails(t, c, 2, "--entity-type must be topics, brokers or users", "configs", "--describe", "--entity-type", "clients", "--entity-name", "x")
}

// TestMetadataQuorumCommand describes the Raft quorum of three voters: its
// status lines in kafka-metadata-quorum.sh's format, and one replication
// row per voter once every follower has reported its progress.
func TestMetadataQuorumCommand(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	status := regexp.MustCompile(`^ClusterId: +\S+\nLeaderId: +[123]\nLeaderEpoch: +\d+\nHighWatermark: +\d+\n` +
		`MaxFollowerLag: +\d+\nMaxFollowerLagTimeMs: +-?\d+\nCurrentVoters: +\[\{"id": 1, "endpoints": \["CONTROLLER://127\.0\.0\.1:\d+"\]\}, ` +
		`\{"id": 2, "endpoints": \["CONTROLLER://127\.0\.0\.1:\d+"\]\}, \{"id": 3, "endpoints": \["CONTROLLER://127\.0\.0\.1:\d+"\]\}\]\nCurrentObservers: +\[\]\n$`)
	if out := ok(t, c, "", "metadata-quorum", "describe", "--status"); !status.MatchString(out) {
		t.Fatalf("--status printed\n%s", out)
	}
	row := regexp.MustCompile(`(?m)^([123]) *\t\S+ *\t(\d+) *\t(\d+) *\t(\d+) *\t(\d+) *\t(Leader|Follower) *\t$`)
	harness.WaitFor(t, "every voter reporting its progress", 10*time.Second, func() bool {
		out := ok(t, c, "", "metadata-quorum", "describe", "--replication")
		rows := row.FindAllStringSubmatch(out, -1)
		leaders := 0
		for _, r := range rows {
			if r[6] == "Leader" {
				leaders++
			}
		}
		return strings.HasPrefix(out, "NodeId") && len(rows) == 3 && leaders == 1
	})
}

// TestPerfTools runs producer-perf-test with Kafka's flags (several
// --producer-props after one flag) and consumer-perf-test over what it
// wrote, and checks their summary lines.
func TestPerfTools(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	ok(t, c, "", "topics", "--create", "--topic", "perf", "--partitions", "3", "--replication-factor", "3")
	out := ok(t, c, "", "producer-perf-test", "--topic", "perf", "--num-records", "3000", "--record-size", "100",
		"--throughput", "-1", "--producer-props", "bootstrap.servers="+strings.Join(c.Seeds(), ","), "acks=all", "linger.ms=5")
	summary := regexp.MustCompile(`(?m)^3000 records sent, [\d.]+ records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, ` +
		`[\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$`)
	if !summary.MatchString(out) {
		t.Fatalf("producer-perf-test printed\n%s", out)
	}
	out = ok(t, c, "", "consumer-perf-test", "--topic", "perf", "--messages", "3000")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "start.time, end.time, data.consumed.in.MB") {
		t.Fatalf("consumer-perf-test printed\n%s", out)
	}
	if fields := strings.Split(lines[1], ", "); len(fields) != 10 || fields[4] != "3000" || fields[2] != "0.2861" {
		t.Fatalf("consumer-perf-test result %q: want 3000 records, 0.2861 MB", lines[1])
	}
	fails(t, c, 2, "not a producer setting", "producer-perf-test", "--topic", "perf", "--num-records", "1",
		"--throughput", "-1", "--producer-props", "fancy=1")
}

// TestReassignPartitions moves a partition from broker 1 to brokers 2 and
// 3 while a producer writes to it with acks=all: --verify reports progress
// until the new replicas have caught up and the old one has left, and no
// acknowledged record is lost.
func TestReassignPartitions(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	ok(t, c, "", "topics", "--create", "--topic", "moving", "--replica-assignment", "1")
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic("moving"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := fmt.Sprintf("v%06d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr() == nil {
				mu.Lock()
				acked[v] = true
				mu.Unlock()
			}
			cancel()
		}
	}()
	harness.WaitFor(t, "some records written", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) > 500 })

	plan := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(plan, []byte(`{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[2,3]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := ok(t, c, "", "reassign-partitions", "--reassignment-json-file", plan, "--execute")
	if !strings.Contains(out, `{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[1],"log_dirs":["`+c.Nodes[0].DataDir()+`"]}]}`) ||
		!strings.Contains(out, "Successfully started partition reassignment for moving-0\n") {
		t.Fatalf("--execute printed\n%s", out)
	}
	harness.WaitFor(t, "the reassignment completed", 30*time.Second, func() bool {
		out := ok(t, c, "", "reassign-partitions", "--reassignment-json-file", plan, "--verify")
		// The reassignment list comes from the controller and the replica
		// set from any broker's metadata, which may trail it by a moment:
		// "no active reassignment, but replica set is [2 3 1]" right after
		// the move completes, as Kafka's tool would print it too.
		stale := strings.Contains(out, "There is no active reassignment of partition moving-0, but replica set is [2 3 1] rather than [2 3].")
		if !strings.Contains(out, "Reassignment of partition moving-0 is completed.") && !stale &&
			!regexp.MustCompile(`is still in progress \(broker [23] copied \d+ of \d+ bytes`).MatchString(out) {
			t.Fatalf("--verify printed\n%s", out)
		}
		return strings.Contains(out, "is completed.")
	})
	close(stop)
	<-produced
	out = ok(t, c, "", "topics", "--describe", "--topic", "moving")
	if !regexp.MustCompile(`\tLeader: [23]\tReplicas: 2,3\tIsr: [23],[23]\t`).MatchString(out) {
		t.Fatalf("after the reassignment:\n%s", out)
	}
	read := map[string]bool{}
	cons, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.ConsumeTopics("moving"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	deadline := time.Now().Add(20 * time.Second)
	for len(read) < len(acked) && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		cons.PollFetches(ctx).EachRecord(func(r *kgo.Record) { read[string(r.Value)] = true })
		cancel()
	}
	for v := range acked {
		if !read[v] {
			t.Fatalf("acknowledged %s lost in the move (%d acknowledged, %d read)", v, len(acked), len(read))
		}
	}
	t.Logf("moved under load: %d records acknowledged, all read back", len(acked))
	fails(t, c, 1, "NO_REASSIGNMENT_IN_PROGRESS", "reassign-partitions", "--reassignment-json-file", plan, "--cancel")
}

// TestThrottledReassignment copies 3 MiB to a new replica under
// --throttle 300000: the copy is still running seconds later (unthrottled
// it takes well under a second here), the throttle configs are in place
// meanwhile, and --verify clears them once the move completes.
func TestThrottledReassignment(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	ok(t, c, "", "topics", "--create", "--topic", "big", "--replica-assignment", "1")
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic("big"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 3 * 1024 {
		value := make([]byte, 1024) // random: kgo compresses, and 3 MiB of one letter would shrink to nothing
		for i := range value {
			value[i] = byte(rand.IntN(256))
		}
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	plan := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(plan, []byte(`{"version":1,"partitions":[{"topic":"big","partition":0,"replicas":[1,2]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := ok(t, c, "", "reassign-partitions", "--reassignment-json-file", plan, "--execute", "--throttle", "300000")
	if !strings.Contains(out, "The inter-broker throttle limit was set to 300000 B/s\n") {
		t.Fatalf("--execute --throttle printed\n%s", out)
	}
	adm := kadm.NewClient(cl)
	throttles := func() map[string]string {
		got := map[string]string{}
		rcs, err := adm.DescribeTopicConfigs(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rcs[0].Configs {
			if strings.Contains(c.Key, "throttled") && c.Source == kmsg.ConfigSourceDynamicTopicConfig {
				got[c.Key] = c.MaybeValue()
			}
		}
		bcs, err := adm.DescribeBrokerConfigs(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range bcs[0].Configs {
			if strings.Contains(c.Key, "throttled.rate") && c.Source == kmsg.ConfigSourceDynamicBrokerConfig {
				got[c.Key] = c.MaybeValue()
			}
		}
		return got
	}
	want := map[string]string{
		"leader.replication.throttled.replicas": "0:1", "follower.replication.throttled.replicas": "0:2",
		"leader.replication.throttled.rate": "300000", "follower.replication.throttled.rate": "300000",
	}
	if got := throttles(); !maps.Equal(got, want) {
		t.Fatalf("throttle configs during the move: %v, want %v", got, want)
	}
	time.Sleep(3*time.Second - time.Since(start))
	out = ok(t, c, "", "reassign-partitions", "--reassignment-json-file", plan, "--verify")
	if !strings.Contains(out, "is still in progress (broker 2 copied") || strings.Contains(out, "Clearing") {
		t.Fatalf("3 MiB at 300 kB/s, 3 s in: --verify printed\n%s", out)
	}
	t.Logf("3 s in: %s", strings.TrimSpace(out))
	harness.WaitFor(t, "the throttled reassignment completing", 60*time.Second, func() bool {
		out = ok(t, c, "", "reassign-partitions", "--reassignment-json-file", plan, "--verify")
		return strings.Contains(out, "is completed.")
	})
	t.Logf("completed after %v", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(out, "Clearing broker-level throttles on brokers 1,2,3\n") || !strings.Contains(out, "Clearing topic-level throttles on topic big\n") {
		t.Fatalf("--verify after completion printed\n%s", out)
	}
	if got := throttles(); len(got) != 0 {
		t.Fatalf("throttle configs left after --verify: %v", got)
	}
}

// TestConsumerGroupsAllGroups makes two inactive groups by resetting their
// offsets, then lists them with their state, resets both at once and
// deletes both at once, as an operator clearing a cluster would.
func TestConsumerGroupsAllGroups(t *testing.T) {
	c := harness.StartT(t, 1, fast...)
	ok(t, c, "", "topics", "--create", "--topic", "t", "--partitions", "2", "--replication-factor", "1")
	for _, g := range []string{"g-a", "g-b"} {
		ok(t, c, "", "consumer-groups", "--reset-offsets", "--group", g, "--topic", "t", "--to-earliest", "--execute")
	}
	out := ok(t, c, "", "consumer-groups", "--list", "--state", "Empty")
	want := "GROUP                     STATE               \ng-a                       Empty               \ng-b                       Empty               \n"
	if out != want {
		t.Fatalf("--list --state Empty printed %q, want %q", out, want)
	}
	if out := ok(t, c, "", "consumer-groups", "--list", "--state", "Stable"); out != "GROUP                     STATE               \n" {
		t.Fatalf("--list --state Stable printed %q", out)
	}
	out = ok(t, c, "", "consumer-groups", "--reset-offsets", "--all-groups", "--all-topics", "--to-latest", "--execute")
	if n := len(regexp.MustCompile(`(?m)^g-[ab] +t +[01] +0 *$`).FindAllString(out, -1)); n != 4 {
		t.Fatalf("reset of all groups printed\n%s", out)
	}
	if out := ok(t, c, "", "consumer-groups", "--delete", "--all-groups"); out != "Deletion of requested consumer groups ('g-a', 'g-b') was successful.\n" {
		t.Fatalf("delete of all groups printed %q", out)
	}
	if out := ok(t, c, "", "consumer-groups", "--list"); out != "" {
		t.Fatalf("groups left after deleting all: %q", out)
	}
}
