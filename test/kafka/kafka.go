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
	"syscall"
	"testing"
	"time"

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
	s, err := script()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func script() (string, error) {
	root, err := harness.ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "test", "kafka", "kafka.sh"), nil
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
	cp, err := classpath()
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func classpath() (string, error) {
	cpOnce.Do(func() {
		var sh string
		if sh, cpErr = script(); cpErr != nil {
			return
		}
		var out []byte
		out, cpErr = exec.Command(sh, "classpath").Output()
		if ee, ok := cpErr.(*exec.ExitError); ok {
			cpErr = fmt.Errorf("%w: %s", cpErr, ee.Stderr)
		}
		cp = strings.TrimSpace(string(out))
	})
	if cpErr != nil {
		return "", fmt.Errorf("fetching Apache Kafka's jars: %w", cpErr)
	}
	return cp, nil
}

// StartKafka starts Apache Kafka in KRaft combined mode, nodes nodes on
// free ports, each with a 512 MiB heap, and returns the bootstrap
// addresses. Extra server.properties lines go to every node. The nodes
// stop when the test ends; if it failed, their log tails are printed.
func StartKafka(t testing.TB, nodes int, extraProps ...string) []string {
	t.Helper()
	c, err := Launch(t.TempDir(), nodes, "512m", extraProps...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.LogTails(40))
		}
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	return c.Seeds
}

// Cluster is Apache Kafka as kafka.sh starts it: nodes KRaft nodes, each
// broker and controller, under Dir/node-1 .. node-N. It serves the tests
// (through StartKafka) and the bench, which has no testing.T.
type Cluster struct {
	Dir   string
	Seeds []string // bootstrap addresses, node 1 first
	nodes int
	cmd   *exec.Cmd // kafka.sh start, until Wait
	out   bytes.Buffer
	err   bytes.Buffer
	// argv holds a killed node's command line, read from /proc before
	// the kill, for Restart.
	argv map[int][]string
}

// Start starts a cluster under dir, each node with heap (a -Xmx value
// such as "512m"), and waits until every node listens.
func Start(dir string, nodes int, heap string, extraProps ...string) (*Cluster, error) {
	c, err := Launch(dir, nodes, heap, extraProps...)
	if err != nil {
		return nil, err
	}
	if err := c.Wait(); err != nil {
		err = fmt.Errorf("%w\n%s", err, c.LogTails(20))
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Launch starts a cluster without waiting for it, so that a caller can
// time its start from outside: Seeds are known at once, Wait returns when
// every node listens. Stop it even if Wait fails.
func Launch(dir string, nodes int, heap string, extraProps ...string) (*Cluster, error) {
	ports, err := harness.FreePorts(2 * nodes)
	if err != nil {
		return nil, err
	}
	// Fetch once here, not under every start's lock, and fail with Maven's words.
	if _, err := classpath(); err != nil {
		return nil, err
	}
	sh, err := script()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, nodes: nodes}
	args := []string{"start", dir, strconv.Itoa(nodes)}
	for i, p := range ports {
		args = append(args, strconv.Itoa(p))
		if i < nodes {
			c.Seeds = append(c.Seeds, fmt.Sprintf("127.0.0.1:%d", p))
		}
	}
	c.cmd = exec.Command(sh, args...)
	c.cmd.Env = append(os.Environ(), "KAFKA_PROPS="+strings.Join(extraProps, "\n"), "KAFKA_HEAP="+heap)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.err
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %d kafka nodes: %w", nodes, err)
	}
	return c, nil
}

// Wait waits until every node listens (kafka.sh gives up after 180 s).
func (c *Cluster) Wait() error {
	if c.cmd == nil {
		return nil
	}
	err := c.cmd.Wait()
	c.cmd = nil
	if err != nil {
		return fmt.Errorf("starting %d kafka nodes: %v\n%s", c.nodes, err, c.err.String())
	}
	if got := strings.TrimSpace(c.out.String()); got != strings.Join(c.Seeds, ",") {
		return fmt.Errorf("kafka.sh start printed %q, want %q", got, strings.Join(c.Seeds, ","))
	}
	return nil
}

// Pid is node i's (1-based) process id, and Started the wall-clock time
// kafka.sh exec'd it; both are known once Wait has returned.
func (c *Cluster) Pid(i int) (int, error) {
	b, err := os.ReadFile(c.nodeFile(i, "pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Started is when node i (1-based) was exec'd, as kafka.sh or Restart
// recorded it.
func (c *Cluster) Started(i int) (time.Time, error) {
	b, err := os.ReadFile(c.nodeFile(i, "started"))
	if err != nil {
		return time.Time{}, err
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Unix(0, ns), err
}

func (c *Cluster) nodeFile(i int, name string) string {
	return filepath.Join(c.Dir, fmt.Sprintf("node-%d", i), name)
}

// Exited says which node is no longer running, if any.
func (c *Cluster) Exited() error {
	for i := 1; i <= c.nodes; i++ {
		pid, err := c.Pid(i)
		if err == nil {
			err = syscall.Kill(pid, 0)
		}
		if err != nil {
			return fmt.Errorf("kafka node %d: %w\n%s", i, err, c.LogTails(10))
		}
	}
	return nil
}

// Version is the Kafka version kafka.sh runs (pom.xml's kafka.version).
func Version() (string, error) {
	sh, err := script()
	if err != nil {
		return "", err
	}
	out, err := exec.Command(sh, "version").Output()
	return strings.TrimSpace(string(out)), err
}

// Log is everything node i (1-based) logged, over all its restarts.
func (c *Cluster) Log(i int) string {
	log, _ := os.ReadFile(c.nodeFile(i, "server.log"))
	return string(log)
}

// LogTails is the last lines of every node's server.log, to explain a
// failure.
func (c *Cluster) LogTails(lines int) string {
	var b strings.Builder
	for i := 1; i <= c.nodes; i++ {
		fmt.Fprintf(&b, "kafka node %d log tail:\n%s\n", i, tail(c.Log(i), lines))
	}
	return b.String()
}

// Kill SIGKILLs node i (1-based) and waits until its process is gone,
// keeping its command line for Restart.
func (c *Cluster) Kill(i int) error {
	pid, err := c.Pid(i)
	if err != nil {
		return err
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return fmt.Errorf("kafka node %d: %w", i, err)
	}
	var argv []string
	for _, a := range bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0}) {
		argv = append(argv, string(a))
	}
	if c.argv == nil {
		c.argv = map[int][]string{}
	}
	c.argv[i] = argv
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kafka node %d: %w", i, err)
	}
	// kafka.sh's nodes are not our children, and Restart's are reaped by
	// its own goroutine: poll until the pid is gone.
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Restart execs a node Kill killed with the command line it ran with
// (kafka.sh start would format its storage anew), appending to its
// server.log, and records its pid and start time where Pid, Started and
// kafka.sh stop look for them. It returns when the process was exec'd.
func (c *Cluster) Restart(i int) (time.Time, error) {
	argv := c.argv[i]
	if len(argv) == 0 {
		return time.Time{}, fmt.Errorf("kafka node %d: restart without a kill", i)
	}
	log, err := os.OpenFile(c.nodeFile(i, "server.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return time.Time{}, err
	}
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return started, fmt.Errorf("restarting kafka node %d: %w", i, err)
	}
	go cmd.Wait()
	err = os.WriteFile(c.nodeFile(i, "pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	if err == nil {
		err = os.WriteFile(c.nodeFile(i, "started"), []byte(strconv.FormatInt(started.UnixNano(), 10)), 0o644)
	}
	return started, err
}

// Stop stops every node that started (SIGTERM, SIGKILL after 10 s).
func (c *Cluster) Stop() error {
	if c.cmd != nil {
		c.Wait() // kafka.sh start writes the pid files; let it finish first
	}
	sh, err := script()
	if err != nil {
		return err
	}
	if out, err := exec.Command(sh, "stop", c.Dir).CombinedOutput(); err != nil {
		return fmt.Errorf("stopping kafka: %v\n%s", err, out)
	}
	return nil
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
