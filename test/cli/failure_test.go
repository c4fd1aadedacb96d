package cli

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// TestOneBootstrapBrokerDead kills one of three nodes and runs
// consumer-groups --list and --describe ten times each with all three
// nodes as bootstrap servers: any reachable broker must do, as with
// Kafka's tool.
func TestOneBootstrapBrokerDead(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	ok(t, c, "", "topics", "--create", "--topic", "topic-A", "--partitions", "3", "--replication-factor", "3")
	ok(t, c, "a\nb\nc\nd\n", "console-producer", "--topic", "topic-A")
	ok(t, c, "", "console-consumer", "--topic", "topic-A", "--group", "group-01", "--from-beginning", "--max-messages", "4")
	// Only producers ask for auto-creation: a describe of a missing
	// topic creates nothing.
	if r := gokafka(t, c, "", "topics", "--describe", "--topic", "nosuch"); r.code != 1 ||
		r.out != "Error while executing topic command : Topic 'nosuch' does not exist as expected\n" {
		t.Errorf("describe a missing topic: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if out := ok(t, c, "", "topics", "--list"); strings.Contains(out, "nosuch") {
		t.Errorf("describe created the topic it was asked about:\n%s", out)
	}
	c.Nodes[1].Kill()
	start := time.Now()
	for i := range 10 {
		for _, args := range [][]string{{"consumer-groups", "--list"}, {"consumer-groups", "--describe", "--group", "group-01"}} {
			r := gokafka(t, c, "", args...)
			if i == 0 {
				t.Logf("%v, first run, %v after the kill: exit %d", args, time.Since(start), r.code)
			}
			if r.code != 0 || !strings.Contains(r.out, "group-01") {
				t.Errorf("%s run %d with node 2 dead: exit %d\n%s%s", strings.Join(args, " "), i, r.code, r.out, r.err)
			}
		}
	}
}

// TestTwoNodesDead kills two of three nodes, so that the metadata quorum
// has lost its majority: topics --describe shows no dead leader as live
// and --unavailable-partitions lists what they led; topics --create says so, naming the nodes it
// cannot reach, well before --command-timeout; a console consumer in a
// group keeps retrying, as Kafka's does, and consumes once the nodes are
// back.
func TestTwoNodesDead(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	ok(t, c, "", "topics", "--create", "--topic", "topic-A", "--partitions", "1", "--replication-factor", "3")
	ok(t, c, "", "topics", "--create", "--topic", "led-by-2", "--replica-assignment", "2:3:1")
	// The survivor must have applied the topic before the others die: a
	// commit needs only two of the three nodes.
	harness.WaitFor(t, "node 1 knows node 2 leads led-by-2", 10*time.Second, func() bool {
		r := gokafka(t, c, "", "topics", "--describe", "--topic", "led-by-2", "--bootstrap-server", c.Seeds()[0])
		return r.code == 0 && strings.Contains(r.out, "\tLeader: 2\t")
	})
	c.Nodes[1].Kill()
	c.Nodes[2].Kill()

	// The survivor's metadata still names node 2 the leader of led-by-2;
	// describe must not present it as live.
	r := gokafka(t, c, "", "topics", "--describe", "--topic", "led-by-2")
	if r.code != 0 || !strings.Contains(r.out, "\tPartition: 0\tLeader: none\tReplicas: 2,3,1\t") ||
		!strings.Contains(r.err, "WARN: the metadata quorum has no majority: 2 of 3 nodes are unreachable") {
		t.Errorf("describe without a quorum: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = gokafka(t, c, "", "topics", "--describe", "--unavailable-partitions")
	if r.code != 0 || !strings.Contains(r.out, "\tTopic: led-by-2\tPartition: 0\tLeader: none\t") {
		t.Errorf("--unavailable-partitions without a quorum: exit %d\n%s%s", r.code, r.out, r.err)
	}

	start := time.Now()
	r = gokafka(t, c, "", "topics", "--create", "--topic", "topic-B", "--partitions", "1", "--replication-factor", "1")
	took := time.Since(start)
	t.Logf("create without a quorum: exit %d after %v: %s", r.code, took, r.out)
	want := regexp.MustCompile(`^Error while executing topic command : the metadata quorum has no majority: 2 of 3 nodes are unreachable \(node 2 at [^,]+, node 3 at [^,]+\)\n$`)
	if r.code != 1 || !want.MatchString(r.out) || took > 15*time.Second {
		t.Errorf("create without a quorum: exit %d after %v\n%s%s", r.code, took, r.out, r.err)
	}

	start = time.Now()
	r = gokafka(t, c, "", "console-consumer", "--topic", "topic-A", "--group", "g", "--timeout-ms", "3000")
	if took := time.Since(start); r.code != 0 || took < 3*time.Second || !strings.Contains(r.err, "Processed a total of 0 messages\n") {
		t.Errorf("consumer without a quorum: exit %d after %v (want 0 after --timeout-ms)\n%s%s", r.code, took, r.out, r.err)
	}

	// A consumer started now waits; the nodes come back and it consumes.
	cmd := exec.Command(harness.CLI(t), "console-consumer", "--topic", "topic-A", "--group", "g", "--from-beginning",
		"--max-messages", "1", "--bootstrap-server", c.Nodes[0].KafkaAddr)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	time.Sleep(2 * time.Second)
	select {
	case err := <-exited:
		t.Fatalf("the consumer gave up with two nodes dead: %v\n%s%s", err, out.String(), errb.String())
	default:
	}
	for _, nd := range c.Nodes[1:] {
		if err := nd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	ok(t, c, "back\n", "console-producer", "--topic", "topic-A")
	select {
	case err := <-exited:
		if err != nil || out.String() != "back\n" {
			t.Errorf("the consumer after the nodes came back: %v\n%s%s", err, out.String(), errb.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Errorf("the consumer consumed nothing within 30s of the nodes' return\n%s%s", out.String(), errb.String())
	}
}
