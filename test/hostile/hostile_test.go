// Package hostile drives the real gokafka-server with malformed and hostile
// input on every port it opens, as an attacker or a clumsy operator would,
// and checks afterwards that the node is alive, still serves, stayed within
// its memory bound, wrote nothing outside its log.dirs, and after a restart
// still holds every acknowledged record. It runs the binary as it ships,
// without the race detector, whose memory overhead would swamp the bounds
// the probes check.
package hostile

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// maxRSSGrowth is how much resident memory a probe may cost a node.
const maxRSSGrowth = 256 << 20

// target is a started cluster with a witness topic whose acknowledged
// records must survive whatever the probes do.
type target struct {
	t       *testing.T
	c       *harness.Cluster
	rss     map[int]int64 // per node, before the probe
	outside []string      // every path under the test's dir but outside log.dirs
	acked   int
	opts    []kgo.Opt // every client's: credentials on a secured listener
}

// newTarget starts n nodes and writes 10 acknowledged witness records.
func newTarget(t *testing.T, n int, extra ...string) *target {
	t.Helper()
	return newTargetWith(t, n, nil, extra...)
}

// newTargetWith is newTarget for nodes whose clients need opts (SASL
// credentials, TLS).
func newTargetWith(t *testing.T, n int, opts []kgo.Opt, extra ...string) *target {
	t.Helper()
	return newTargetOn(t, harness.StartBinT(t, harness.ShippedBinary(t), n, extra...), opts)
}

// newTargetOn makes a target of a started cluster.
func newTargetOn(t *testing.T, c *harness.Cluster, opts []kgo.Opt) *target {
	t.Helper()
	n := len(c.Nodes)
	tg := &target{t: t, c: c, rss: map[int]int64{}, opts: opts}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := tg.client()
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, int16(min(n, 3)), nil, "witness"); err != nil {
		t.Fatalf("creating the witness topic: %v", err)
	}
	tg.produce(ctx, cl, 10)
	for _, nd := range c.Nodes {
		rss, err := harness.RSS(nd.Pid())
		if err != nil {
			t.Fatal(err)
		}
		tg.rss[nd.ID] = rss
	}
	tg.outside = tg.filesOutsideLogDirs()
	return tg
}

func (tg *target) client(opts ...kgo.Opt) *kgo.Client {
	tg.t.Helper()
	base := []kgo.Opt{kgo.SeedBrokers(tg.c.Seeds()...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(20)}
	cl, err := kgo.NewClient(append(append(base, tg.opts...), opts...)...)
	if err != nil {
		tg.t.Fatal(err)
	}
	return cl
}

// produce appends n more acknowledged records to the witness topic.
func (tg *target) produce(ctx context.Context, cl *kgo.Client, n int) {
	tg.t.Helper()
	for range n {
		r := &kgo.Record{Topic: "witness", Value: fmt.Appendf(nil, "w%06d", tg.acked)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			tg.t.Fatalf("producing witness record %d: %v", tg.acked, err)
		}
		tg.acked++
	}
}

// dial opens a raw TCP connection to one of a node's listeners.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return nc
}

// check asserts what every probe must leave intact: each node alive,
// produce and consume working, RSS within maxRSSGrowth of where it was,
// nothing new or gone outside log.dirs; then, after a SIGKILL and restart
// of every node, every acknowledged witness record is still there.
func (tg *target) check() {
	t := tg.t
	t.Helper()
	if err := tg.c.Exited(); err != nil {
		t.Fatalf("a node died: %v", err)
	}
	for _, nd := range tg.c.Nodes {
		rss, err := harness.RSS(nd.Pid())
		if err != nil {
			t.Fatal(err)
		}
		if grew := rss - tg.rss[nd.ID]; grew > maxRSSGrowth {
			t.Errorf("node %d RSS grew by %d MiB (limit %d MiB)", nd.ID, grew>>20, maxRSSGrowth>>20)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := tg.client()
	tg.produce(ctx, cl, 5)
	cl.Close()
	tg.readWitness(ctx)
	if now := tg.filesOutsideLogDirs(); strings.Join(now, "\n") != strings.Join(tg.outside, "\n") {
		t.Errorf("files outside log.dirs changed:\nbefore %q\nafter  %q", tg.outside, now)
	}
	for _, nd := range tg.c.Nodes {
		nd.Kill()
		if err := nd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := tg.c.WaitReady(60 * time.Second); err != nil {
		t.Fatalf("restart after the probe: %v", err)
	}
	tg.readWitness(ctx)
}

// readWitness reads the witness topic from the start and requires every
// acknowledged record, in order.
func (tg *target) readWitness(ctx context.Context) {
	t := tg.t
	t.Helper()
	cl := tg.client(kgo.ConsumeTopics("witness"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	var got []string
	for len(got) < tg.acked {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d acknowledged witness records: %v", len(got), tg.acked, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	for i, v := range got[:tg.acked] {
		if want := fmt.Sprintf("w%06d", i); v != want {
			t.Fatalf("witness record %d is %q, want %q", i, v, want)
		}
	}
}

// filesOutsideLogDirs lists every path in the cluster's directory (and its
// parent, where an escaping name would land) that is not under a node's
// data directory and is not a log the harness writes.
func (tg *target) filesOutsideLogDirs() []string {
	root := filepath.Dir(filepath.Dir(tg.c.Nodes[0].Dir))
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		for _, nd := range tg.c.Nodes {
			if p == nd.DataDir() {
				return filepath.SkipDir
			}
		}
		if strings.HasSuffix(p, ".log") && !d.IsDir() {
			return nil // stderr logs grow
		}
		out = append(out, p)
		return nil
	})
	sort.Strings(out)
	return out
}

// TestHarnessChecksHold runs the checks with no probe: a healthy cluster
// must pass them, and a file dropped outside log.dirs must fail them.
func TestHarnessChecksHold(t *testing.T) {
	tg := newTarget(t, 1)
	stray := filepath.Join(filepath.Dir(tg.c.Nodes[0].Dir), "stray")
	if err := os.WriteFile(stray, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if now := tg.filesOutsideLogDirs(); len(now) != len(tg.outside)+1 {
		t.Fatalf("a stray file outside log.dirs went unseen: %q", now)
	}
	os.Remove(stray)
	tg.check()
}
