// Package kafka runs Apache Kafka's own broker and operator tools for
// gokafka's tests: Kafka is the reference gokafka's behaviour and output
// are compared with. kafka.sh beside this file fetches the jars with Maven
// into a cache outside the repository (once per machine) and starts KRaft
// nodes; this package drives it from Go tests.
package kafka

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gokafka/gokafka/test/harness"
)

// Kafka's tools by class, as its shell scripts run them (verified in the
// 4.4 jars: ConfigCommand moved from kafka.admin to the tools jar in 4.x).
const (
	TopicCommand              = "org.apache.kafka.tools.TopicCommand"
	ConsumerGroupCommand      = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
	ConsoleProducer           = "org.apache.kafka.tools.ConsoleProducer"
	ConsoleConsumer           = "org.apache.kafka.tools.consumer.ConsoleConsumer"
	ConfigCommand             = "org.apache.kafka.tools.ConfigCommand"
	MetadataQuorumCommand     = "org.apache.kafka.tools.MetadataQuorumCommand"
	GetOffsetShell            = "org.apache.kafka.tools.GetOffsetShell"
	LeaderElectionCommand     = "org.apache.kafka.tools.LeaderElectionCommand"
	LogDirsCommand            = "org.apache.kafka.tools.LogDirsCommand"
	DeleteRecordsCommand      = "org.apache.kafka.tools.DeleteRecordsCommand"
	ReassignPartitionsCommand = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"
	ProducerPerformance       = "org.apache.kafka.tools.ProducerPerformance"
)

// Script is the path of kafka.sh.
func Script(t testing.TB) string {
	t.Helper()
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "test", "kafka", "kafka.sh")
}

var (
	cpOnce sync.Once
	cp     string
	cpErr  error
)

// Classpath fetches Kafka's jars on first use (Maven, minutes on a fresh
// machine; nothing later) and returns the java classpath holding them.
func Classpath(t testing.TB) string {
	t.Helper()
	cpOnce.Do(func() {
		var out []byte
		out, cpErr = exec.Command(Script(t), "classpath").Output()
		if ee, ok := cpErr.(*exec.ExitError); ok {
			cpErr = fmt.Errorf("%w: %s", cpErr, ee.Stderr)
		}
		cp = strings.TrimSpace(string(out))
	})
	if cpErr != nil {
		t.Fatalf("fetching Apache Kafka's jars: %v", cpErr)
	}
	return cp
}

// StartKafka starts Apache Kafka in KRaft combined mode, nodes nodes on
// free ports, each with a 512 MiB heap, and returns the bootstrap
// addresses. Extra server.properties lines go to every node. The nodes
// stop when the test ends; if it failed, their log tails are printed.
func StartKafka(t testing.TB, nodes int, extraProps ...string) []string {
	t.Helper()
	ports, err := harness.FreePorts(2 * nodes)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{"start", dir, strconv.Itoa(nodes)}
	for _, p := range ports {
		args = append(args, strconv.Itoa(p))
	}
	Classpath(t) // fetch once here, not under every start's lock
	cmd := exec.Command(Script(t), args...)
	cmd.Env = append(os.Environ(), "KAFKA_PROPS="+strings.Join(extraProps, "\n"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t.Cleanup(func() {
		if t.Failed() {
			for i := 1; i <= nodes; i++ {
				log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("node-%d", i), "server.log"))
				t.Logf("kafka node %d log tail:\n%s", i, tail(string(log), 40))
			}
		}
		if out, err := exec.Command(Script(t), "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("stopping kafka: %v\n%s", err, out)
		}
	})
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("starting %d kafka nodes: %v\n%s", nodes, err, stderr.String())
	}
	return strings.Split(strings.TrimSpace(string(out)), ",")
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// Result is what a command printed and its exit status.
type Result struct {
	Out, Err string
	Code     int
}

// KafkaTool runs one of Kafka's tools (a class above) with args, stdin
// empty.
func KafkaTool(t testing.TB, class string, args ...string) Result {
	t.Helper()
	return KafkaToolIn(t, "", class, args...)
}

// KafkaToolIn runs one of Kafka's tools with stdin, through kafka.sh,
// which keeps the JVM's start short.
func KafkaToolIn(t testing.TB, stdin, class string, args ...string) Result {
	t.Helper()
	Classpath(t) // a failed download fails here, once, with Maven's words
	return Run(t, stdin, Script(t), append([]string{"tool", class}, args...)...)
}

// Run runs a program with stdin and returns what it printed; only a
// failure to start it fails the test.
func Run(t testing.TB, stdin, prog string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Out: out.String(), Err: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", prog, args, err)
	}
	return r
}
