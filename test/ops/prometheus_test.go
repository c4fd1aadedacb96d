// Package ops tests what an operator deploys beside the binary: the
// Prometheus config and Grafana dashboards in deploy/, evaluated by a real
// Prometheus against a live cluster.
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestDashboardQueriesReturnData runs Debian's Prometheus with
// deploy/prometheus's config against three nodes under produce and
// consume load, then evaluates every query of every Grafana dashboard in
// deploy/grafana/dashboards: each must parse and return data, or a panel
// would sit empty in front of an operator.
func TestDashboardQueriesReturnData(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("Debian's prometheus package is needed (make test-deps installs it): ", err)
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := harness.StartT(t, 3, "group.initial.rebalance.delay.ms=0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startLoad(t, ctx, c)

	prom := startPrometheus(t, promBin, filepath.Join(root, "deploy", "prometheus"), c)
	harness.WaitFor(t, "Prometheus scraping all three nodes", 30*time.Second, func() bool {
		res, err := prom.query(`sum(up{job="gokafka"})`)
		return err == nil && len(res) == 1 && res[0].Value[1] == "3"
	})
	// Rate windows below are 10s: give them a few scrapes of load.
	time.Sleep(12 * time.Second)
	if rules, err := prom.ruleCount(); err != nil || rules == 0 {
		t.Errorf("alert rules loaded: %d, %v; want deploy/prometheus/alerts.yml's", rules, err)
	}

	files, _ := filepath.Glob(filepath.Join(root, "deploy", "grafana", "dashboards", "*.json"))
	if len(files) < 5 {
		t.Fatalf("%d dashboards in deploy/grafana/dashboards, want the five the issue lists", len(files))
	}
	// A panel with no data yet is asked again until the deadline: under
	// load the group's first commit (lag needs one) can come after the
	// sleep above, and then the next scrape must take it in.
	deadline := time.Now().Add(30 * time.Second)
	queries := 0
	for _, f := range files {
		for _, q := range dashboardQueries(t, f) {
			queries++
			res, err := prom.query(q.expr)
			for err == nil && len(res) == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Second)
				res, err = prom.query(q.expr)
			}
			switch {
			case err != nil:
				t.Errorf("%s: %q: %v\n  %s", filepath.Base(f), q.panel, err, q.expr)
			case len(res) == 0:
				t.Errorf("%s: %q returns no data\n  %s", filepath.Base(f), q.panel, q.expr)
			}
		}
	}
	t.Logf("%d queries over %d dashboards evaluated", queries, len(files))
}

// startLoad creates an RF 3 topic and keeps a producer and a consumer
// group busy on it until ctx ends, so that every rate has something to
// show, lag included.
func startLoad(t *testing.T, ctx context.Context, c *harness.Cluster) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 6, 3, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.ConsumerGroup("billing"),
		kgo.ConsumeTopics("orders"), kgo.AutoCommitInterval(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(consumer.Close)
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			cl.Produce(ctx, &kgo.Record{Key: []byte(strconv.Itoa(i % 100)), Value: make([]byte, 200)}, nil)
			if i%100 == 0 {
				time.Sleep(10 * time.Millisecond) // a steady trickle, not a benchmark
			}
		}
	}()
	go func() {
		for ctx.Err() == nil {
			consumer.PollFetches(ctx)
		}
	}()
}

type query struct{ panel, expr string }

// dashboardQueries returns every target of every panel (rows included),
// with the dashboard variables set to match everything and Grafana's
// $__rate_interval to a window that holds several 1s scrapes.
func dashboardQueries(t *testing.T, path string) []query {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string
		Targets []struct{ Expr string }
		Panels  []json.RawMessage
	}
	var d struct {
		Panels     []json.RawMessage
		Templating struct {
			List []struct{ Name, Type, Definition string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	vars := regexp.MustCompile(`\$(instance|topic|consumergroup|request)\b`)
	expand := func(e string) string {
		return vars.ReplaceAllString(strings.ReplaceAll(e, "$__rate_interval", "10s"), ".*")
	}
	var out []query
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, tg := range p.Targets {
				out = append(out, query{p.Title, expand(tg.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	// A variable's label_values(metric, label) needs that metric to exist.
	lv := regexp.MustCompile(`^label_values\((\w+), *(\w+)\)$`)
	for _, v := range d.Templating.List {
		if m := lv.FindStringSubmatch(v.Definition); v.Type == "query" && m != nil {
			out = append(out, query{"variable " + v.Name, fmt.Sprintf("count by (%s) (%s)", m[2], m[1])})
		} else if v.Type == "query" {
			t.Errorf("%s: variable %s: query %q is not label_values(metric, label)", path, v.Name, v.Definition)
		}
	}
	return out
}

type prometheus struct{ addr string }

type sample struct {
	Metric map[string]string
	Value  [2]any
}

// startPrometheus writes deploy/prometheus's config with the cluster's
// addresses in place of kafka-0N:9644 and a 1s scrape interval, and runs
// Prometheus on it until the test ends.
func startPrometheus(t *testing.T, bin, deployDir string, c *harness.Cluster) *prometheus {
	cfg, err := os.ReadFile(filepath.Join(deployDir, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(cfg), "scrape_interval: 15s", "scrape_interval: 1s")
	for i, n := range c.Nodes {
		name := fmt.Sprintf("kafka-%02d:9644", i+1)
		if !strings.Contains(text, name) {
			t.Fatalf("deploy/prometheus/prometheus.yml has no target %s", name)
		}
		text = strings.ReplaceAll(text, name, n.HTTPAddr)
	}
	dir := t.TempDir()
	rules, err := os.ReadFile(filepath.Join(deployDir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"prometheus.yml": text, "alerts.yml": string(rules)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ports, err := harness.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	startProcess(t, "prometheus", filepath.Join(dir, "prometheus.log"), bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	return &prometheus{addr: addr}
}

// query evaluates expr now through the HTTP API.
func (p *prometheus) query(expr string) ([]sample, error) {
	var r struct {
		Status, Error string
		Data          struct{ Result []sample }
	}
	if err := p.get("/api/v1/query?query="+url.QueryEscape(expr), &r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.Status, r.Error)
	}
	return r.Data.Result, nil
}

func (p *prometheus) ruleCount() (int, error) {
	var r struct {
		Data struct {
			Groups []struct{ Rules []json.RawMessage }
		}
	}
	if err := p.get("/api/v1/rules", &r); err != nil {
		return 0, err
	}
	n := 0
	for _, g := range r.Data.Groups {
		n += len(g.Rules)
	}
	return n, nil
}

func (p *prometheus) get(path string, into any) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + p.addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(into)
}

// startProcess runs bin with its output in logPath until the test ends,
// then kills it; a failed test shows the end of that log.
func startProcess(t *testing.T, name, logPath, bin string, args ...string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log, last lines:\n%s", name, tail(string(b), 30))
		}
	})
}
