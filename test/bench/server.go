package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildServer compiles ./cmd/gokafka-server the way it ships: static, no cgo.
func buildServer(moduleRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "gokafka-server")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gokafka-server")
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gokafka-server: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot finds the directory holding go.mod, so that the bench can be
// run from anywhere inside the checkout.
func moduleRoot() (string, error) {
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

// node is one running gokafka-server process.
type node struct {
	id        int
	cmd       *exec.Cmd
	kafkaAddr string // PLAINTEXT listener, what clients bootstrap from
	httpAddr  string // /readyz and /metrics
	dir       string
	stderr    *os.File
	exited    chan struct{}
	started   time.Time // just before exec, for start-to-ready
}

// cluster is a set of local server processes forming one metadata quorum,
// every node both broker and controller.
type cluster struct {
	nodes []*node
}

// Seeds are the bootstrap addresses a client is given.
func (c *cluster) Seeds() []string {
	s := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		s[i] = n.kafkaAddr
	}
	return s
}

// startCluster starts n nodes under dir with fresh data directories and
// returns once every node's process has been exec'd; use waitReady to wait
// for /readyz. Ports are picked free on 127.0.0.1.
func startCluster(bin, dir string, n int) (*cluster, error) {
	type ports struct{ kafka, ctrl, http int }
	ps := make([]ports, n)
	var voters []string
	for i := range ps {
		p, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		ps[i] = ports{p[0], p[1], p[2]}
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, p[1]))
	}
	c := &cluster{}
	for i, p := range ps {
		nd := &node{
			id:        i + 1,
			kafkaAddr: fmt.Sprintf("127.0.0.1:%d", p.kafka),
			httpAddr:  fmt.Sprintf("127.0.0.1:%d", p.http),
			dir:       filepath.Join(dir, fmt.Sprintf("node-%d", i+1)),
			exited:    make(chan struct{}),
		}
		props := strings.Join([]string{
			"node.id=" + strconv.Itoa(nd.id),
			"process.roles=broker,controller",
			fmt.Sprintf("listeners=PLAINTEXT://%s,CONTROLLER://127.0.0.1:%d", nd.kafkaAddr, p.ctrl),
			"advertised.listeners=PLAINTEXT://" + nd.kafkaAddr,
			"controller.listener.names=CONTROLLER",
			"controller.quorum.voters=" + strings.Join(voters, ","),
			"log.dirs=" + filepath.Join(nd.dir, "data"),
			"http.listener=" + nd.httpAddr,
			fmt.Sprintf("default.replication.factor=%d", min(n, 3)),
			"",
		}, "\n")
		if err := os.MkdirAll(nd.dir, 0o755); err != nil {
			c.stop()
			return nil, err
		}
		propsPath := filepath.Join(nd.dir, "server.properties")
		if err := os.WriteFile(propsPath, []byte(props), 0o644); err != nil {
			c.stop()
			return nil, err
		}
		f, err := os.Create(filepath.Join(nd.dir, "stderr.log"))
		if err != nil {
			c.stop()
			return nil, err
		}
		nd.stderr = f
		nd.cmd = exec.Command(bin, "--config", propsPath)
		nd.cmd.Stdout, nd.cmd.Stderr = f, f
		nd.started = time.Now()
		if err := nd.cmd.Start(); err != nil {
			f.Close()
			c.stop()
			return nil, fmt.Errorf("starting node %d: %w", nd.id, err)
		}
		go func() { nd.cmd.Wait(); close(nd.exited) }()
		c.nodes = append(c.nodes, nd)
	}
	return c, nil
}

// waitReady polls every node's /readyz every 5ms until all answer 200.
func (c *cluster) waitReady(timeout time.Duration) error {
	hc := &http.Client{Timeout: 250 * time.Millisecond}
	deadline := time.Now().Add(timeout)
	for _, n := range c.nodes {
		url := "http://" + n.httpAddr + "/readyz"
		for {
			select {
			case <-n.exited:
				return fmt.Errorf("node %d exited before ready: %v\n%s", n.id, n.cmd.ProcessState, n.tail())
			default:
			}
			if resp, err := hc.Get(url); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("node %d not ready after %v\n%s", n.id, timeout, n.tail())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// exited reports the first node whose process has ended, with its last log
// lines: a crash mid-bench is a finding, so it is shown, not hidden by a
// restart.
func (c *cluster) exited() error {
	for _, n := range c.nodes {
		select {
		case <-n.exited:
			return fmt.Errorf("node %d exited: %v\n%s", n.id, n.cmd.ProcessState, n.tail())
		default:
		}
	}
	return nil
}

// stop sends SIGTERM (controlled shutdown), then SIGKILL after 10 s.
func (c *cluster) stop() {
	for _, n := range c.nodes {
		if n.cmd.Process != nil {
			n.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, n := range c.nodes {
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			fmt.Fprintf(os.Stderr, "node %d ignored SIGTERM for 10s; killing it\n", n.id)
			n.cmd.Process.Kill()
			<-n.exited
		}
		n.stderr.Close()
	}
}

// tail returns the last lines the node logged, for error messages.
func (n *node) tail() string {
	b, _ := os.ReadFile(n.stderr.Name())
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "  " + string(bytes.Join(lines, []byte("\n  ")))
}

// rssBytes reads VmRSS of the process from /proc: resident memory, which is
// what an operator sees in top and what the 40 MB target is about.
func rssBytes(pid int) (int64, error) {
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

// freePorts reserves n distinct ports by listening on them, then releases
// them for the server. Another process could take one in between; on this
// loopback-only machine that is rare enough for a bench.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startupSample is one cold start: exec to ready, and RSS after idling.
type startupSample struct {
	ready time.Duration
	rss   int64
}

// measureStartup starts a fresh single node, times exec → /readyz 200, lets
// it idle, reads its RSS and stops it.
func measureStartup(ctx context.Context, bin, dir string, idle time.Duration) (startupSample, error) {
	c, err := startCluster(bin, dir, 1)
	if err != nil {
		return startupSample{}, err
	}
	defer c.stop()
	if err := c.waitReady(30 * time.Second); err != nil {
		return startupSample{}, err
	}
	s := startupSample{ready: time.Since(c.nodes[0].started)}
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return s, ctx.Err()
	}
	s.rss, err = rssBytes(c.nodes[0].cmd.Process.Pid)
	return s, err
}
