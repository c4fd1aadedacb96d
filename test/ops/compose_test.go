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

// composeSeeds are the EXTERNAL listeners compose.yaml publishes.
var composeSeeds = []string{"localhost:9192", "localhost:9292", "localhost:9392"}

// TestComposeCluster builds the images with `make docker`, brings
// deploy/docker/compose.yaml up, and uses the cluster from the host as a
// user would: an RF 3 topic, produce and consume, then `docker kill` of one
// node, after which service goes on and Prometheus notices the loss.
func TestComposeCluster(t *testing.T) {
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"docker", "docker-compose", "prometheus"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for the compose test: %v", tool, err)
		}
	}
	run(t, root, "make", "-s", "docker")
	project := fmt.Sprintf("gokafka-test-%d", os.Getpid())
	compose := func(args ...string) string {
		return run(t, filepath.Join(root, "deploy", "docker"), "docker-compose", append([]string{"-p", project}, args...)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("compose logs:\n%s", tail(compose("logs", "--no-color", "--tail=30"), 120))
		}
		compose("down", "-v", "--timeout", "5")
	})
	compose("up", "-d")
	harness.WaitFor(t, "three healthy gokafka containers (/readyz)", 90*time.Second, func() bool {
		return strings.Count(compose("ps"), "(healthy)") == 3
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(composeSeeds...), kgo.DefaultProduceTopic("orders"),
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

	compose("kill", "-s", "SIGKILL", "kafka-02")
	produce(t, ctx, cl, 500, 1000)
	consume(t, ctx, cl, seen, 1000)

	prom := &prometheus{addr: "localhost:9090"}
	harness.WaitFor(t, "Prometheus seeing kafka-02 down", 60*time.Second, func() bool {
		res, err := prom.query(`up{instance="kafka-02:9644"}`)
		return err == nil && len(res) == 1 && res[0].Value[1] == "0"
	})
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
