package ops

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestComposeFileIsValid checks deploy/docker/compose.yaml with Debian's
// docker-compose, whose `config` parses and resolves the file without a
// Docker engine; a copy with a broken key must fail the same check.
func TestComposeFileIsValid(t *testing.T) {
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatalf("docker-compose (Debian package docker-compose) is needed: %v", err)
	}
	dir := filepath.Join(root, "deploy", "docker")
	out := run(t, dir, "docker-compose", "-f", "compose.yaml", "config")
	for _, want := range []string{"kafka-01:", "kafka-02:", "kafka-03:", "prometheus:", "published: 9192"} {
		if !strings.Contains(out, want) {
			t.Errorf("docker-compose config output lacks %q:\n%s", want, out)
		}
	}
	text, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "compose.yaml")
	os.WriteFile(broken, []byte(strings.Replace(string(text), "stop_grace_period:", "stop_grace_periodd:", 1)), 0o644)
	cmd := exec.Command("docker-compose", "-f", broken, "config", "-q")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("docker-compose config accepted a misspelt key:\n%s", out)
	}
}

// TestComposeTopologyOnHosts runs the cluster compose.yaml describes
// without a container engine: kafka-01..03 and Prometheus each on a host
// of its own (a network namespace with its own address, the other hosts'
// names in its /etc/hosts, as on compose's network), each node started on
// its compose properties file unchanged but for the data directory and
// the address its EXTERNAL listener advertises (compose publishes it on
// localhost, here it is the host's address). Clients in the test process
// use only the EXTERNAL listeners, as compose's users on the host do: an
// RF 3 topic, produce and consume, SIGKILL of kafka-02, service goes on,
// and Prometheus, scraping with compose's config, reports kafka-02 down.
func TestComposeTopologyOnHosts(t *testing.T) {
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus (Debian package prometheus) is needed: %v", err)
	}
	net := harness.NewNetT(t, "kafka-01", "kafka-02", "kafka-03", "prometheus")
	bin := harness.Binary(t)
	var nodes []*harness.Node
	var seeds []string
	for i, h := range net.Hosts[:3] {
		props, seed := composeProps(t, root, i+1, h, t.TempDir())
		nd := h.StartNodeT(t, bin, i+1, props, seed, 9644)
		nodes, seeds = append(nodes, nd), append(seeds, seed)
	}
	for _, nd := range nodes {
		if err := nd.WaitReady(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	prom := startPrometheusOn(t, net.Hosts[3], promBin, root)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic("orders"),
		kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 3, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	produce(t, ctx, cl, 0, 500)
	consume(t, ctx, cl, seen, 500)
	harness.WaitFor(t, "Prometheus scraping all three nodes", 60*time.Second, func() bool {
		res, err := prom.query(`sum(up{job="gokafka"})`)
		return err == nil && len(res) == 1 && res[0].Value[1] == "3"
	})

	nodes[1].Kill()
	produce(t, ctx, cl, 500, 1000)
	consume(t, ctx, cl, seen, 1000)
	harness.WaitFor(t, "Prometheus seeing kafka-02 down", 60*time.Second, func() bool {
		res, err := prom.query(`up{instance="kafka-02:9644"}`)
		return err == nil && len(res) == 1 && res[0].Value[1] == "0"
	})
}

// composeProps reads deploy/docker/kafka-0<id>.properties and moves its
// data directory to dataDir and its EXTERNAL listener's advertised address
// from localhost to h's address; it returns the lines and that address.
func composeProps(t *testing.T, root string, id int, h *harness.Host, dataDir string) ([]string, string) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(root, "deploy", "docker", fmt.Sprintf("kafka-%02d.properties", id)))
	if err != nil {
		t.Fatal(err)
	}
	external := fmt.Sprintf("localhost:9%d92", id)
	seed := strings.Replace(external, "localhost", h.Addr, 1)
	var props []string
	for _, line := range strings.Split(string(text), "\n") {
		switch {
		case strings.HasPrefix(line, "log.dirs="):
			line = "log.dirs=" + dataDir
		case strings.HasPrefix(line, "advertised.listeners="):
			if !strings.Contains(line, external) {
				t.Fatalf("kafka-%02d.properties no longer advertises EXTERNAL on %s: %s", id, external, line)
			}
			line = strings.Replace(line, external, seed, 1)
		}
		props = append(props, line)
	}
	return props, seed
}

// startPrometheusOn runs Prometheus on host h with deploy/prometheus's
// config and rules, as compose's Prometheus container does, scraping
// every second instead of every 15 so that the test is quick.
func startPrometheusOn(t *testing.T, h *harness.Host, promBin, root string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"prometheus.yml", "alerts.yml"} {
		text, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", f))
		if err != nil {
			t.Fatal(err)
		}
		text = []byte(strings.ReplaceAll(string(text), "scrape_interval: 15s", "scrape_interval: 1s"))
		if err := os.WriteFile(filepath.Join(dir, f), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startProcess(t, "prometheus", filepath.Join(dir, "prometheus.log"), "ip", "netns", "exec", h.NS, promBin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=:9090")
	prom := &prometheus{addr: h.Addr + ":9090"}
	harness.WaitFor(t, "Prometheus ready with the alert rules loaded", 30*time.Second, func() bool {
		n, err := prom.ruleCount()
		return err == nil && n > 0
	})
	return prom
}

// produce sends records from..to-1 with acks=all, each one acknowledged.
func produce(t *testing.T, ctx context.Context, cl *kgo.Client, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		r := &kgo.Record{Key: []byte(fmt.Sprint(i % 10)), Value: []byte(fmt.Sprint(i))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
}

// consume reads until seen holds n distinct values: every acknowledged
// record, none lost.
func consume(t *testing.T, ctx context.Context, cl *kgo.Client, seen map[string]bool, n int) {
	t.Helper()
	for len(seen) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of the %d acknowledged records: %v", len(seen), n, err)
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
}

// run runs a command in dir and returns its output, failing the test on a
// non-zero exit.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(string(out), 40))
	}
	return string(out)
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(ls[max(0, len(ls)-lines):], "\n")
}
