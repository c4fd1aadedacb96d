package interop

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// runServer starts the binary on a config made of a valid single-node base
// plus extra lines, and returns its exit code and output once it exits
// (or -1 if it is still running after wait, when it is killed).
func runServer(t *testing.T, wait time.Duration, extra ...string) (int, string) {
	t.Helper()
	ports, err := harness.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: subtest names hold commas, which log.dirs would split.
	dir, err := os.MkdirTemp("", "gokafka-config-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	lines := append([]string{
		"node.id=1",
		"process.roles=broker,controller",
		fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", ports[0], ports[1]),
		fmt.Sprintf("controller.quorum.voters=1@127.0.0.1:%d", ports[1]),
		"controller.listener.names=CONTROLLER",
		"log.dirs=" + filepath.Join(dir, "data"),
		fmt.Sprintf("http.listener=127.0.0.1:%d", ports[2]),
	}, extra...)
	props := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(props, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), "--config", props)
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return -1, string(out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestBadConfigExitsWithOneLine checks that each bad value stops the
// server before it serves, with one error line naming the key and the
// value (warnings may come beside it) and a last line saying that nothing
// started.
func TestBadConfigExitsWithOneLine(t *testing.T) {
	cases := []struct {
		line string
		want []string // substrings of the single error line
	}{
		{"num.partitions=abc", []string{"num.partitions", "abc"}},
		{"message.max.bytes=1MB", []string{"message.max.bytes", "1MB"}},
		{"listeners=PLAINTEXT://localhost", []string{"listeners", "PLAINTEXT://localhost", "port"}},
		{"listeners=PLAINTEXT://:19092,EXTRA://:19092", []string{"listeners", "19092"}},
		{"controller.quorum.voters=2@127.0.0.1:19093", []string{"node.id", "controller.quorum.voters"}},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			code, out := runServer(t, 20*time.Second, tc.line)
			if code <= 0 {
				t.Fatalf("exit code %d, want non-zero; output:\n%s", code, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var errs []string
			for _, l := range lines {
				if strings.HasPrefix(l, "gokafka-server: error: ") {
					errs = append(errs, l)
				}
			}
			if len(errs) != 1 || lines[len(lines)-1] != "gokafka-server: nothing started" {
				t.Fatalf("want one error line and \"nothing started\" last, got:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs[0], w) {
					t.Fatalf("error line lacks %q:\n%s", w, errs[0])
				}
			}
		})
	}
}

// TestUnknownKeyWarnsAndStarts checks that an unknown key costs one
// warning line and not the start, and that a leftover zookeeper.connect
// (with controller.quorum.voters set) is explained, not fatal: the line
// is to go. (Without voters it is an error that suggests them.)
func TestUnknownKeyWarnsAndStarts(t *testing.T) {
	code, out := runServer(t, 3*time.Second, "log.dirz=/tmp/typo", "zookeeper.connect=zk1:2181,zk2:2181/kafka")
	if code != -1 {
		t.Fatalf("server exited (%d) on an unknown key:\n%s", code, out)
	}
	if n := strings.Count(out, "log.dirz"); n != 1 || !strings.Contains(out, "gokafka ready") {
		t.Fatalf("want one warning naming log.dirz (got %d) and a started server:\n%s", n, out)
	}
	if !strings.Contains(out, "zookeeper.connect=zk1:2181,zk2:2181/kafka: not used") || !strings.Contains(out, "remove this line") {
		t.Fatalf("zookeeper.connect not explained, with the line named and to be removed:\n%s", out)
	}
}

// TestEmbeddedDefaultConfig runs the README's first command as it runs on a
// fresh machine: no --config, so the node listens on localhost:9092 with
// its data under ./data. The node runs in a network namespace of its own,
// so that a broker already on this machine's :9092 (make run) does not
// fail the test; without root it runs here if the ports are free.
func TestEmbeddedDefaultConfig(t *testing.T) {
	inNet := ownNetwork(t, "127.0.0.1:9092", "127.0.0.1:9093", "127.0.0.1:9644")
	dir := t.TempDir()
	cmd := inNet(harness.Binary(t))
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	harness.WaitFor(t, "ready on :9644", 20*time.Second, func() bool {
		return inNet(harness.Binary(t), "--probe", "http://127.0.0.1:9644/readyz").Run() == nil
	})
	produce := inNet(harness.CLI(t), "console-producer", "--bootstrap-server", "localhost:9092", "--topic", "hello")
	produce.Stdin = strings.NewReader("world\n")
	if b, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("producing to localhost:9092: %v\n%s\n%s", err, b, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "hello-0")); err != nil {
		t.Fatalf("partition not under ./data: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, out.String())
	}
}

// ownNetwork returns how to run a command where the fixed addrs are free:
// in a fresh network namespace when running as root, else here, skipping
// the test if something already listens on one of them.
func ownNetwork(t *testing.T, addrs ...string) func(prog string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		ns := harness.NewNetT(t, "solo").Hosts[0].NS
		return func(prog string, args ...string) *exec.Cmd {
			return exec.Command("ip", append([]string{"netns", "exec", ns, prog}, args...)...)
		}
	}
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("%s is taken (%v) and, without root, the test cannot have a network of its own", addr, err)
		}
		l.Close()
	}
	return exec.Command
}
