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

// A server binary built at most once per test process.
type serverBuild struct {
	env   string   // the variable that names a prebuilt one
	flags []string // go build flags of one built here
	once  sync.Once
	path  string
	err   error
}

func (sb *serverBuild) get(t testing.TB) string {
	t.Helper()
	sb.once.Do(func() {
		if p := os.Getenv(sb.env); p != "" {
			sb.path, sb.err = filepath.Abs(p)
			return
		}
		root, err := ModuleRoot()
		if err != nil {
			sb.err = err
			return
		}
		dir, err := os.MkdirTemp("", "gokafka-bin-")
		if err != nil {
			sb.err = err
			return
		}
		sb.path, sb.err = BuildServerWith(root, dir, sb.flags...)
	})
	if sb.err != nil {
		t.Fatalf("building gokafka-server: %v", sb.err)
	}
	return sb.path
}

var (
	testBuild    = serverBuild{env: "GOKAFKA_BIN"}
	shippedBuild = serverBuild{env: "GOKAFKA_SHIPPED_BIN"}
	faultBuild   = serverBuild{env: "GOKAFKA_FAULTFS_BIN", flags: []string{"-race", "-tags", "faultfs"}}
)

// FaultBinary returns a gokafka-server built with -tags faultfs, whose
// http.listener takes disk faults and clock skews (/debug/faultfs,
// /debug/clock): $GOKAFKA_FAULTFS_BIN when set, else one built for this
// test process, with the race detector as make test's.
func FaultBinary(t testing.TB) string {
	t.Helper()
	return faultBuild.get(t)
}

// Binary returns the gokafka-server binary the tests run: $GOKAFKA_BIN when
// set (make test builds it once for every package, with the race
// detector), else one built for this test process.
func Binary(t testing.TB) string {
	t.Helper()
	return testBuild.get(t)
}

// ShippedBinary returns gokafka-server as it ships (static, no race
// detector): $GOKAFKA_SHIPPED_BIN when set, else one built for this test
// process. Tests that bound the process's memory run it, since the race
// detector multiplies memory several times over.
func ShippedBinary(t testing.TB) string {
	t.Helper()
	return shippedBuild.get(t)
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
	return StartBinT(t, Binary(t), n, extra...)
}

// StartBinT is StartT with the server binary bin.
func StartBinT(t testing.TB, bin string, n int, extra ...string) *Cluster {
	t.Helper()
	return StartWithT(t, bin, n, nil, extra...)
}

// StartWithT is StartBinT with each node's listeners given by listen.
func StartWithT(t testing.TB, bin string, n int, listen Listen, extra ...string) *Cluster {
	t.Helper()
	c, err := StartWith(bin, t.TempDir(), n, listen, extra...)
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
