package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Net is a private network of hosts on this machine: each host is a
// network namespace with its own address, joined by a veth pair to one
// bridge in the root namespace. The bridge holds the gateway address, so
// the test process (in the root namespace) reaches every host by address
// as a client reaches machines on a LAN, and each host has every port to
// itself, as a container or an EC2 instance does. Cut and Heal take a host
// off the network and put it back. Making namespaces needs root.
//
// Inside a host, each host's Name resolves to its address: `ip netns exec`
// mounts /etc/netns/<namespace>/hosts over /etc/hosts, which Net writes.
type Net struct {
	Hosts  []*Host
	bridge string
	prefix string // the /24 the hosts share, e.g. "10.213.7."
}

// Host is one network namespace on a Net.
type Host struct {
	Name string // its host name, e.g. kafka-01
	Addr string // its IPv4 address on the bridge
	NS   string // the namespace, for `ip netns exec`
	veth string // the root-namespace end of its link
}

// NewNet makes a bridge and one namespace per name. Names, bridge and
// subnet carry the process id, so that test processes running side by
// side never share them.
func NewNet(names ...string) (*Net, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("network namespaces need root (running as uid %d)", os.Geteuid())
	}
	pid := os.Getpid()
	n := &Net{bridge: fmt.Sprintf("gkbr%d", pid), prefix: fmt.Sprintf("10.%d.%d.", 200+pid%50, (pid/50)%250)}
	if err := n.ip("link", "add", n.bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	steps := [][]string{
		{"addr", "add", n.prefix + "1/24", "dev", n.bridge},
		{"link", "set", n.bridge, "up"},
	}
	for i, name := range names {
		h := &Host{Name: name, Addr: fmt.Sprintf("%s%d", n.prefix, 11+i),
			NS: fmt.Sprintf("gk%d-%d", pid, i), veth: fmt.Sprintf("gkv%d-%d", pid, i)}
		n.Hosts = append(n.Hosts, h)
		steps = append(steps,
			[]string{"netns", "add", h.NS},
			[]string{"link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.NS},
			[]string{"link", "set", h.veth, "master", n.bridge, "up"},
			[]string{"-n", h.NS, "addr", "add", h.Addr + "/24", "dev", "eth0"},
			[]string{"-n", h.NS, "link", "set", "eth0", "up"},
			[]string{"-n", h.NS, "link", "set", "lo", "up"},
		)
	}
	for _, s := range steps {
		if err := n.ip(s...); err != nil {
			n.Close()
			return nil, err
		}
	}
	if err := n.writeHosts(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// NewNetT is NewNet for a test, torn down when the test ends.
func NewNetT(t testing.TB, names ...string) *Net {
	t.Helper()
	n, err := NewNet(names...)
	if err != nil {
		t.Fatalf("making the hosts' network: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("tearing the hosts' network down: %v", err)
		}
	})
	return n
}

// writeHosts gives every namespace an /etc/hosts naming all hosts.
func (n *Net) writeHosts() error {
	lines := []string{"127.0.0.1 localhost"}
	for _, h := range n.Hosts {
		lines = append(lines, h.Addr+" "+h.Name)
	}
	for _, h := range n.Hosts {
		dir := filepath.Join("/etc/netns", h.NS)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Cut takes h off the network: its link goes down, so packets to and
// from it are lost, as when a machine's cable is pulled. Its processes
// keep running.
func (n *Net) Cut(h *Host) error { return n.ip("link", "set", h.veth, "down") }

// Heal puts a cut host back on the network.
func (n *Net) Heal(h *Host) error { return n.ip("link", "set", h.veth, "up") }

// Close deletes the namespaces, their links and the bridge. Processes
// still running in a namespace keep it alive until they end; stop them
// first.
func (n *Net) Close() error {
	var first error
	for _, h := range n.Hosts {
		os.RemoveAll(filepath.Join("/etc/netns", h.NS))
		n.ip("link", "del", h.veth) // gone already if the namespace went
		if err := n.ip("netns", "del", h.NS); err != nil && first == nil {
			first = err
		}
	}
	if err := n.ip("link", "del", n.bridge); err != nil && first == nil {
		first = err
	}
	return first
}

func (n *Net) ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// StartNode writes props as server.properties under dir and starts
// gokafka-server on host h. kafkaAddr is the listener the test's clients
// use; the HTTP listener is the host's address on httpPort.
func (h *Host) StartNode(bin, dir string, id int, props []string, kafkaAddr string, httpPort int) (*Node, error) {
	nd := &Node{ID: id, KafkaAddr: kafkaAddr, HTTPAddr: fmt.Sprintf("%s:%d", h.Addr, httpPort),
		Dir: dir, bin: bin, netns: h.NS}
	if err := nd.startWith(props); err != nil {
		return nil, err
	}
	return nd, nil
}

// StartNodeT is StartNode for a test: the node is killed when the test
// ends, and its log's tail shown if the test failed.
func (h *Host) StartNodeT(t testing.TB, bin string, id int, props []string, kafkaAddr string, httpPort int) *Node {
	t.Helper()
	nd, err := h.StartNode(bin, t.TempDir(), id, props, kafkaAddr, httpPort)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log tail:\n%s", h.Name, nd.Tail(30))
		}
		nd.Kill()
	})
	return nd
}
