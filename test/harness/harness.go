// Package harness starts real gokafka-server processes on free local ports,
// for the integration tests and the bench. Nodes are killed with real
// signals; nothing here stands in for the broker.
package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildServer compiles ./cmd/gokafka-server the way it ships: static, no cgo.
func BuildServer(moduleRoot, dir string) (string, error) {
	return build(moduleRoot, dir, "gokafka-server")
}

// BuildServerWith is BuildServer with go build flags; with -race it links
// with cgo, which the race detector needs.
func BuildServerWith(moduleRoot, dir string, flags ...string) (string, error) {
	return build(moduleRoot, dir, "gokafka-server", flags...)
}

// BuildCLI compiles the gokafka operator CLI into dir.
func BuildCLI(moduleRoot, dir string) (string, error) {
	return build(moduleRoot, dir, "gokafka")
}

// build compiles ./cmd/<name> into dir, statically unless flags ask for
// the race detector.
func build(moduleRoot, dir, name string, flags ...string) (string, error) {
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, flags...), "./cmd/"+name)...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if slices.Contains(flags, "-race") {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
	}
	return bin, nil
}

// ModuleRoot finds the directory holding go.mod, so that tools can be run
// from anywhere inside the checkout.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the gokafka module: run from the checkout")
	}
	return filepath.Dir(gomod), nil
}

// Node is one gokafka-server process.
type Node struct {
	ID        int
	KafkaAddr string // PLAINTEXT listener, what clients bootstrap from
	CtrlAddr  string // CONTROLLER listener
	HTTPAddr  string // /readyz and /metrics
	Dir       string // holds server.properties, stderr.log and data/
	Started   time.Time

	bin    string
	netns  string // the network namespace it runs in; "" for this one
	cmd    *exec.Cmd
	stderr *os.File
	exited chan struct{}
}

// Cluster is a set of nodes forming one metadata quorum, every node both
// broker and controller.
type Cluster struct {
	Nodes []*Node

	bin, dir string
	voters   string   // controller.quorum.voters
	extra    []string // lines every node's server.properties ends with
	// listen gives a node its listener lines; nil for PLAINTEXT on
	// KafkaAddr and CONTROLLER on CtrlAddr (see StartWith).
	listen Listen
}

// Listen gives a node the server.properties lines of its listeners
// (listeners=, advertised.listeners=, and any keys that are its own, such
// as its keystore) in place of PLAINTEXT://KafkaAddr and
// CONTROLLER://CtrlAddr. Clients bootstrap from KafkaAddr and the quorum
// dials CtrlAddr, whose listener must be named CONTROLLER. It runs once per
// node, before its first start, and may write files into the node's Dir.
type Listen func(nd *Node) ([]string, error)

// Seeds are the bootstrap addresses a client is given.
func (c *Cluster) Seeds() []string {
	s := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		s[i] = n.KafkaAddr
	}
	return s
}

// Start writes a server.properties per node under dir (fresh data
// directories, free ports on 127.0.0.1, extra lines appended verbatim) and
// starts n nodes that are each broker and controller; WaitReady waits for
// /readyz.
func Start(bin, dir string, n int, extra ...string) (*Cluster, error) {
	return StartWith(bin, dir, n, nil, extra...)
}

// StartWith is Start with each node's listeners given by listen (nil for
// Start's).
func StartWith(bin, dir string, n int, listen Listen, extra ...string) (*Cluster, error) {
	ports, err := FreePorts(3 * n)
	if err != nil {
		return nil, err
	}
	var voters []string
	for i := range n {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, ports[3*i]))
	}
	c := &Cluster{bin: bin, dir: dir, voters: strings.Join(voters, ","), extra: extra, listen: listen}
	for i := range n {
		if _, err := c.add(i+1, "broker,controller", ports[3*i:3*i+3]); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// AddBroker starts one more node with process.roles=broker: a Raft
// non-voter that joins through the voters. id need not be new, to test
// what a duplicate node.id does.
func (c *Cluster) AddBroker(id int) (*Node, error) {
	ports, err := FreePorts(3)
	if err != nil {
		return nil, err
	}
	return c.add(id, "broker", ports)
}

// add starts a node on ports: controller, Kafka and HTTP.
func (c *Cluster) add(id int, roles string, ports []int) (*Node, error) {
	nd := &Node{
		ID:        id,
		CtrlAddr:  fmt.Sprintf("127.0.0.1:%d", ports[0]),
		KafkaAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		HTTPAddr:  fmt.Sprintf("127.0.0.1:%d", ports[2]),
		Dir:       filepath.Join(c.dir, fmt.Sprintf("node-%d-%d", id, len(c.Nodes))),
		bin:       c.bin,
	}
	listen := []string{
		fmt.Sprintf("listeners=PLAINTEXT://%s,CONTROLLER://%s", nd.KafkaAddr, nd.CtrlAddr),
		"advertised.listeners=PLAINTEXT://" + nd.KafkaAddr,
	}
	if roles == "broker" {
		listen[1] += ",CONTROLLER://" + nd.CtrlAddr // a non-voter's Raft address
	}
	if c.listen != nil {
		var err error
		if listen, err = c.listen(nd); err != nil {
			return nil, fmt.Errorf("node %d's listeners: %w", id, err)
		}
	}
	props := append([]string{
		"node.id=" + strconv.Itoa(id),
		"process.roles=" + roles,
	}, listen...)
	props = append(props,
		"controller.listener.names=CONTROLLER",
		"controller.quorum.voters="+c.voters,
		"log.dirs="+filepath.Join(nd.Dir, "data"),
		"http.listener="+nd.HTTPAddr,
		fmt.Sprintf("default.replication.factor=%d", min(strings.Count(c.voters, "@"), 3)),
		fmt.Sprintf("offsets.topic.replication.factor=%d", min(strings.Count(c.voters, "@"), 3)),
		"offsets.topic.num.partitions=10",
		fmt.Sprintf("transaction.state.log.replication.factor=%d", min(strings.Count(c.voters, "@"), 3)),
		fmt.Sprintf("transaction.state.log.min.isr=%d", min(strings.Count(c.voters, "@"), 2)),
		"transaction.state.log.num.partitions=10",
	)
	props = append(props, c.extra...)
	if err := nd.startWith(props); err != nil {
		return nil, err
	}
	c.Nodes = append(c.Nodes, nd)
	return nd, nil
}

// startWith writes props as the node's server.properties and starts it.
func (n *Node) startWith(props []string) error {
	err := os.MkdirAll(n.Dir, 0o755)
	if err == nil {
		err = os.WriteFile(n.PropsPath(), []byte(strings.Join(props, "\n")+"\n"), 0o644)
	}
	if err == nil {
		err = n.Start()
	}
	return err
}

// PropsPath is the node's server.properties.
func (n *Node) PropsPath() string { return filepath.Join(n.Dir, "server.properties") }

// DataDir is the node's log.dirs.
func (n *Node) DataDir() string { return filepath.Join(n.Dir, "data") }

// Start execs the node (again, after Kill or Stop), appending to its log.
func (n *Node) Start() error {
	f, err := os.OpenFile(filepath.Join(n.Dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	n.stderr, n.exited = f, make(chan struct{})
	n.cmd = exec.Command(n.bin, "--config", n.PropsPath())
	if n.netns != "" {
		// ip netns exec enters the namespace and execs the server, so the
		// pid stays the server's own and SIGKILL reaches it directly.
		n.cmd = exec.Command("ip", "netns", "exec", n.netns, n.bin, "--config", n.PropsPath())
	}
	n.cmd.Stdout, n.cmd.Stderr = f, f
	n.Started = time.Now()
	if err := n.cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting node %d: %w", n.ID, err)
	}
	exited := n.exited
	go func() { n.cmd.Wait(); close(exited) }()
	return nil
}

// Pid is the node's process id.
func (n *Node) Pid() int { return n.cmd.Process.Pid }

// Running reports whether the process is alive.
func (n *Node) Running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return n.cmd != nil
	}
}

// Kill sends SIGKILL and waits for the process to go.
func (n *Node) Kill() {
	if n.Running() {
		n.cmd.Process.Kill()
		<-n.exited
	}
	n.stderr.Close()
}

// stopGrace is how long Stop waits after SIGTERM. A node's controlled
// shutdown waits up to 5 s for a controller (none answers once the other
// voters have stopped), and closing hundreds of logs under the race
// detector on a loaded two-core machine has taken 4 s more.
const stopGrace = 20 * time.Second

// Stop sends SIGTERM, then SIGKILL after stopGrace; it reports a node that
// needed the kill or exited non-zero.
func (n *Node) Stop() error {
	if !n.Running() {
		return nil
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	defer n.stderr.Close()
	select {
	case <-n.exited:
		if !n.cmd.ProcessState.Success() {
			return fmt.Errorf("node %d exited with %v after SIGTERM\n%s", n.ID, n.cmd.ProcessState, n.Tail(20))
		}
		return nil
	case <-time.After(stopGrace):
		n.cmd.Process.Kill()
		<-n.exited
		return fmt.Errorf("node %d ignored SIGTERM for %v and was killed\n%s", n.ID, stopGrace, n.Tail(20))
	}
}

// Pause sends SIGSTOP: the process keeps its sockets but does nothing, as
// in a long GC pause or a frozen VM.
func (n *Node) Pause() { n.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume sends SIGCONT to a paused process.
func (n *Node) Resume() { n.cmd.Process.Signal(syscall.SIGCONT) }

// Exited is closed when the current process ends.
func (n *Node) Exited() <-chan struct{} { return n.exited }

// ExitCode is the exit status of an ended process, or -1.
func (n *Node) ExitCode() int {
	if n.Running() || n.cmd.ProcessState == nil {
		return -1
	}
	return n.cmd.ProcessState.ExitCode()
}

// WaitReady polls the node's /readyz every 5ms until it answers 200.
func (n *Node) WaitReady(timeout time.Duration) error {
	hc := &http.Client{Timeout: 250 * time.Millisecond}
	url := "http://" + n.HTTPAddr + "/readyz"
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-n.exited:
			return fmt.Errorf("node %d exited before ready: %v\n%s", n.ID, n.cmd.ProcessState, n.Tail(20))
		default:
		}
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d not ready after %v\n%s", n.ID, timeout, n.Tail(20))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// WaitReady waits for every running node.
func (c *Cluster) WaitReady(timeout time.Duration) error {
	for _, n := range c.Nodes {
		if n.Running() {
			if err := n.WaitReady(timeout); err != nil {
				return err
			}
		}
	}
	return nil
}

// Exited reports the first node whose process has ended unasked, with its
// last log lines.
func (c *Cluster) Exited() error {
	for _, n := range c.Nodes {
		if n.cmd != nil && !n.Running() && n.cmd.ProcessState != nil && !n.cmd.ProcessState.Success() &&
			n.cmd.ProcessState.ExitCode() != -1 {
			return fmt.Errorf("node %d exited: %v\n%s", n.ID, n.cmd.ProcessState, n.Tail(20))
		}
	}
	return nil
}

// Stop stops every node; it returns the first problem seen.
func (c *Cluster) Stop() error {
	var first error
	for _, n := range c.Nodes {
		if err := n.Stop(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Tail returns the last lines the node logged, for error messages. A
// race-enabled server prints its first race report long before it exits,
// so when there is one, that report is what the lines show.
func (n *Node) Tail(lines int) string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "stderr.log"))
	if i := bytes.Index(b, []byte("WARNING: DATA RACE")); i >= 0 {
		b, lines = b[i:], 4*lines
		if j := bytes.Index(b, []byte("\n==================")); j >= 0 {
			b = b[:j]
		}
		ls := bytes.Split(b, []byte("\n"))
		if len(ls) > lines {
			ls = ls[:lines]
		}
		return "  " + string(bytes.Join(ls, []byte("\n  ")))
	}
	ls := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return "  " + string(bytes.Join(ls, []byte("\n  ")))
}

// Log returns everything the node logged.
func (n *Node) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "stderr.log"))
	return string(b)
}

var quorumReadyLine = regexp.MustCompile(`time=(\S+) level=INFO msg="metadata quorum ready"`)

// QuorumReadyAfter is the time from the node's last exec to the last
// "metadata quorum ready" line it logged (its coordinator caught up with
// the quorum), or -1 if it logged none.
func (n *Node) QuorumReadyAfter() time.Duration {
	m := quorumReadyLine.FindAllStringSubmatch(n.Log(), -1)
	if len(m) == 0 {
		return -1
	}
	at, err := time.Parse(time.RFC3339Nano, m[len(m)-1][1])
	if err != nil {
		return -1
	}
	return at.Sub(n.Started)
}

// RSS reads VmRSS of a process from /proc: resident memory, what an
// operator sees in top.
func RSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// FreePorts picks n free ports for servers to bind and reserves them for
// the life of this test process, so that no other test here or in another
// package's process running beside it takes one, even while the node that
// owns it is down between a SIGKILL and its restart. A reservation is an
// flock on a file named after the port, which the kernel drops when the
// process ends. Ports come from below the kernel's ephemeral range, where
// outgoing connections never land.
func FreePorts(n int) ([]int, error) {
	lo, hi := 10000, ephemeralPortStart()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000*n {
			return nil, fmt.Errorf("no %d free ports in %d-%d", n, lo, hi-1)
		}
		if port := lo + rand.IntN(hi-lo); reservePort(port) {
			ports = append(ports, port)
		}
	}
	return ports, nil
}

var reservedPorts struct {
	sync.Mutex
	files map[int]*os.File // held open, and locked, until the process ends
}

// reservePort takes port for this process if no process holds it and
// nothing listens on it.
func reservePort(port int) bool {
	reservedPorts.Lock()
	defer reservedPorts.Unlock()
	if _, ok := reservedPorts.files[port]; ok {
		return false
	}
	dir := filepath.Join(os.TempDir(), "gokafka-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return false
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		f.Close() // drops the lock
		return false
	}
	l.Close()
	if reservedPorts.files == nil {
		reservedPorts.files = map[int]*os.File{}
	}
	reservedPorts.files[port] = f
	return true
}

// ephemeralPortStart is where the kernel's range for outgoing connections
// begins (Linux's default when it cannot be read).
func ephemeralPortStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	if f := strings.Fields(string(b)); len(f) == 2 {
		if start, err := strconv.Atoi(f[0]); err == nil && start > 11000 {
			return start
		}
	}
	return 32768
}
