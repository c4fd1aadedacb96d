package harness

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNetCutHeal serves HTTP from a host's namespace and reaches it from
// the root namespace by the host's address; Cut makes it unreachable and
// Heal brings it back, and the other host's name resolves inside the
// namespace.
func TestNetCutHeal(t *testing.T) {
	n := NewNetT(t, "alpha", "beta")
	a, b := n.Hosts[0], n.Hosts[1]
	srv := exec.Command("ip", "netns", "exec", a.NS, "python3", "-m", "http.server", "--bind", a.Addr, "8000")
	srv.Dir = t.TempDir()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	hc := &http.Client{Timeout: 300 * time.Millisecond}
	url := fmt.Sprintf("http://%s:8000/", a.Addr)
	reachable := func() bool {
		resp, err := hc.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	WaitFor(t, "alpha's server answering from its namespace", 10*time.Second, reachable)
	if err := n.Cut(a); err != nil {
		t.Fatal(err)
	}
	if reachable() {
		t.Fatal("alpha answered while cut off")
	}
	if err := n.Heal(a); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, "alpha answering after Heal", 10*time.Second, reachable)
	out, err := exec.Command("ip", "netns", "exec", b.NS, "getent", "hosts", "alpha").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), a.Addr+" ") {
		t.Fatalf("alpha does not resolve to %s on beta: %q %v", a.Addr, out, err)
	}
}
