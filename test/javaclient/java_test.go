// Package javaclient runs Apache Kafka's Java client (kafka-clients 4.x,
// the reference every other client copies) against a real 3-node gokafka:
// the JUnit suite in test/java, one Maven run per test class, each against
// a fresh cluster because some classes SIGKILL a broker.
package javaclient

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// classes are the JUnit classes under test/java, each run on its own cluster.
var classes = []string{"ProducerTest", "LeaderKillTest", "ConsumerTest", "ConsumerKillTest", "AdminTest", "StreamsEosTest", "TransactionsTest"}

func TestJavaClient(t *testing.T) {
	pom := pomPath(t)
	for _, class := range classes {
		t.Run(class, func(t *testing.T) {
			c := harness.StartT(t, 3)
			runMaven(t, pom, class, c)
		})
	}
}

func pomPath(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("mvn"); err != nil {
		t.Fatal("the Java client suite needs Maven (Debian: apt-get install maven) and a JDK 17+")
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "test", "java", "pom.xml")
}

// online is set once a Maven run found ~/.m2 missing an artifact: the
// later runs of this process go online straight away.
var (
	onlineMu sync.Mutex
	online   bool
)

// runMaven runs one JUnit class against the cluster: offline first, so
// that a machine whose ~/.m2 holds the artifacts starts fast and needs no
// network, and online when Maven says the offline run lacked something.
// On failure the test log gets Maven's whole output and the failure
// summary JUnit printed.
func runMaven(t *testing.T, pom, class string, c *harness.Cluster) {
	t.Helper()
	var nodes []string
	for _, n := range c.Nodes {
		nodes = append(nodes, fmt.Sprintf("%d=%d", n.ID, n.Pid()))
	}
	args := []string{"-q", "-B", "-f", pom, "test", "-Dtest=" + class,
		"-Dgokafka.bootstrap=" + strings.Join(c.Seeds(), ","),
		"-Dgokafka.nodes=" + strings.Join(nodes, ",")}

	onlineMu.Lock()
	offline := !online
	onlineMu.Unlock()
	start := time.Now()
	var out []byte
	var err error
	if offline {
		out, err = maven(append([]string{"-o"}, args...))
		if err != nil && bytes.Contains(out, []byte("offline mode")) {
			t.Logf("Maven's offline run lacked artifacts; fetching them into ~/.m2")
			onlineMu.Lock()
			online = true
			onlineMu.Unlock()
			offline = false
		}
	}
	if !offline {
		out, err = maven(args)
	}
	t.Logf("%s: mvn took %v", class, time.Since(start).Round(100*time.Millisecond))
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "measured: ") {
			t.Log(l) // figures a Java test prints for the report
		}
	}
	if err != nil {
		t.Logf("mvn %s:\n%s", strings.Join(args, " "), out)
		t.Fatalf("%s failed (%v):\n%s", class, err, failureSummary(out))
	}
}

// maven runs mvn with args and returns what it printed.
func maven(args []string) ([]byte, error) {
	cmd := exec.Command("mvn", args...)
	// C1 only: Maven itself starts in half the time, and the tests it forks
	// wait on the network, not the CPU.
	cmd.Env = append(os.Environ(), "MAVEN_OPTS=-XX:+TieredCompilation -XX:TieredStopAtLevel=1")
	return cmd.CombinedOutput()
}

// failureSummary is the part of Maven's output that names the failed tests
// and their assertions, or its last lines when there is none (a build or
// resolution error).
func failureSummary(out []byte) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	for i, l := range lines {
		if strings.Contains(l, "[ERROR] Failures:") || strings.Contains(l, "[ERROR] Errors:") {
			end := i
			for end < len(lines) && !strings.Contains(lines[end], "Tests run:") {
				end++
			}
			return strings.Join(lines[i:min(end+1, len(lines))], "\n")
		}
	}
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}
