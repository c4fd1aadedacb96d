package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the gokafka-server binary the tests run: $GOKAFKA_BIN when
// set (make test builds it once for every package), else one built for
// this test process.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("GOKAFKA_BIN"); p != "" {
			binPath, buildErr = filepath.Abs(p)
			return
		}
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "gokafka-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath, buildErr = BuildServer(root, dir)
	})
	if buildErr != nil {
		t.Fatalf("building gokafka-server: %v", buildErr)
	}
	return binPath
}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// CLI returns the gokafka command-line tool, built once per test binary.
func CLI(t testing.TB) string {
	t.Helper()
	cliOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			cliErr = err
			return
		}
		dir, err := os.MkdirTemp("", "gokafka-cli-")
		if err != nil {
			cliErr = err
			return
		}
		cliPath, cliErr = BuildCLI(root, dir)
	})
	if cliErr != nil {
		t.Fatalf("building gokafka: %v", cliErr)
	}
	return cliPath
}

// StartT starts n nodes for a test and waits until they are ready. When the
// test ends the nodes are stopped; if it failed, each node's last log lines
// are printed so that the failure says what the server saw.
func StartT(t testing.TB, n int, extra ...string) *Cluster {
	t.Helper()
	c, err := Start(Binary(t), t.TempDir(), n, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, nd := range c.Nodes {
				t.Logf("node %d log tail:\n%s", nd.ID, nd.Tail(40))
				if dir := os.Getenv("GOKAFKA_KEEP_LOGS"); dir != "" {
					keep := filepath.Join(dir, fmt.Sprintf("%s-node%d.log", strings.ReplaceAll(t.Name(), "/", "_"), nd.ID))
					if err := os.WriteFile(keep, []byte(nd.Log()), 0o644); err == nil {
						t.Logf("node %d full log: %s", nd.ID, keep)
					}
				}
			}
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the cluster: %v", err)
		}
	})
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// WaitFor polls cond every 50 ms until it holds, failing the test with
// what was awaited if within passes first.
func WaitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Metric is Node.Metric for tests: a failed scrape or a missing metric
// fails the test.
func Metric(t testing.TB, n *Node, name string, labels ...string) float64 {
	t.Helper()
	v, found, err := n.Metric(name, labels...)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("node %d exports no %s%v", n.ID, name, labels)
	}
	return v
}
