// Package console tests the web console end to end: a headless Chromium
// (Debian's chromium, driven by chromedp) against a live three-node
// cluster, with screenshots kept as artifacts.
package console

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// artifacts is where the screenshots go: $GOKAFKA_ARTIFACTS/console when
// set, so that CI keeps them, else a directory of the test's own.
func artifacts(t *testing.T) string {
	dir := t.TempDir()
	if root := os.Getenv("GOKAFKA_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, "console")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("console screenshots in %s", dir)
	return dir
}

// browserCtx starts headless Chromium for the test.
func browserCtx(t *testing.T) context.Context {
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium: apt-get install -y --no-install-recommends chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// page loads url, waits for sel and saves a full-page PNG screenshot as name.
func page(t *testing.T, ctx context.Context, dir, name, url, sel string) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(sel)))
	var shot []byte
	if err == nil {
		shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	}
	if err != nil {
		t.Fatalf("%s (%s): %v", name, url, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func TestConsoleInChromium(t *testing.T) {
	ctx := browserCtx(t)
	dir := artifacts(t)
	c := harness.StartT(t, 3, "http.console.changes.enable=true")
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic("orders"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	kctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := adm.CreateTopic(kctx, 6, 3, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	// Ten records on each partition, and a group that committed 4 on each:
	// a lag of 6 per partition, 36 in all.
	var recs []*kgo.Record
	for p := range int32(6) {
		for i := range 10 {
			recs = append(recs, &kgo.Record{Partition: p, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf(`{"order":%d,"note":"<b>bold?</b>"}`, i))})
		}
	}
	if err := cl.ProduceSync(kctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	commit := kadm.Offsets{}
	for p := range int32(6) {
		commit.AddOffset("orders", p, 4, -1)
	}
	if _, err := adm.CommitOffsets(kctx, "billing", commit); err != nil {
		t.Fatal(err)
	}
	base := "http://" + c.Nodes[0].HTTPAddr

	page(t, ctx, dir, "1-cluster", base+"/", "svg.chart polyline") // the redirect, and the charts drawn by the page's script
	if got := strings.Count(text(t, ctx, "#brokers tbody"), "127.0.0.1"); got != 3 {
		t.Errorf("cluster page lists %d brokers, want 3", got)
	}
	if q := text(t, ctx, "#quorum"); !strings.Contains(q, "Leader") || strings.Count(q, "Follower") != 2 {
		t.Errorf("quorum table shows no leader and two followers:\n%s", q)
	}

	page(t, ctx, dir, "2-topics", base+"/console/topics?filter=ord", "#topics")
	if row := text(t, ctx, "#topics tbody"); !strings.Contains(row, "orders") || !strings.Contains(row, "6") {
		t.Errorf("topics page row for orders: %q", row)
	}
	page(t, ctx, dir, "3-topic", base+"/console/topic?name=orders", "#partitions")
	if got := text(t, ctx, "#partition-total"); got != "6" {
		t.Errorf("topic page shows %s partitions, want 6", got)
	}

	page(t, ctx, dir, "4-groups", base+"/console/groups", "#groups")
	if !strings.Contains(text(t, ctx, "#groups tbody"), "billing") {
		t.Error("groups page does not list billing")
	}
	page(t, ctx, dir, "5-group", base+"/console/group?name=billing", "#lag")
	if got := text(t, ctx, "#total-lag"); got != "36" {
		t.Errorf("group page shows a total lag of %s, want 36", got)
	}

	// A live member: its assignment shows, and it is what blocks a reset.
	member, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.ConsumerGroup("live"), kgo.ConsumeTopics("orders"), kgo.ClientID("live-consumer"))
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	harness.WaitFor(t, "the live group's member to be assigned", 30*time.Second, func() bool {
		pctx, pcancel := context.WithTimeout(kctx, 200*time.Millisecond)
		defer pcancel()
		member.PollFetches(pctx)
		d, err := adm.DescribeGroups(kctx, "live")
		return err == nil && d["live"].State == "Stable"
	})
	page(t, ctx, dir, "5b-live-group", base+"/console/group?name=live", "#members")
	if m := text(t, ctx, "#members tbody"); !strings.Contains(m, "live-consumer") || !strings.Contains(m, "orders: 0 1 2 3 4 5") {
		t.Errorf("the live group's members table does not show its member and assignment:\n%s", m)
	}
	if got := text(t, ctx, "#group-state"); got != "Stable" {
		t.Errorf("the live group's state shows %q, want Stable", got)
	}

	page(t, ctx, dir, "6-messages", base+"/console/messages?topic=orders&partition=2&offset=5&n=3&format=json", "#records")
	if got := text(t, ctx, "#record-count"); got != "3" {
		t.Errorf("message browser shows %s records, want 3", got)
	}
	if body := text(t, ctx, "#records tbody"); !strings.Contains(body, `"note": "<b>bold?</b>"`) {
		t.Errorf("record values are not shown as indented JSON text:\n%s", body)
	}
	if bolds, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#records b").length`)); err != nil || bolds != 0 {
		t.Errorf("record contents became %d elements (%v)", bolds, err)
	}

	// A change through the form, as an operator makes it.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console/topics"),
		chromedp.SendKeys(chromedp.CSS("#new-topic"), "made-in-browser"),
		chromedp.SendKeys(chromedp.CSS("#new-partitions"), "4"),
		chromedp.Click(chromedp.CSS("#create button")),
		chromedp.WaitVisible(chromedp.CSS("#notice"))); err != nil {
		t.Fatalf("creating a topic in the browser: %v", err)
	}
	page(t, ctx, dir, "7-created", base+"/console/topic?name=made-in-browser&notice=created", "#partitions")
	md, err := adm.ListTopics(kctx, "made-in-browser")
	if err != nil || len(md["made-in-browser"].Partitions) != 4 {
		t.Errorf("the browser's create left %d partitions (%v), want 4", len(md["made-in-browser"].Partitions), err)
	}

	readOnly(t, ctx, dir, c, adm)
}

// readOnly restarts node 3 with changes disabled: its console offers no
// form and refuses a forged POST carrying a valid CSRF token.
func readOnly(t *testing.T, ctx context.Context, dir string, c *harness.Cluster, adm *kadm.Client) {
	nd := c.Nodes[2]
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	props, err := os.ReadFile(nd.PropsPath())
	if err != nil {
		t.Fatal(err)
	}
	props = []byte(strings.Replace(string(props), "http.console.changes.enable=true", "http.console.changes.enable=false", 1))
	if err := os.WriteFile(nd.PropsPath(), props, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	base := "http://" + nd.HTTPAddr
	page(t, ctx, dir, "8-read-only", base+"/console/topics", "#topics")
	forge := `fetch("/console/topics/create", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
		body: "topic=refused&csrf=" + encodeURIComponent(document.querySelector('meta[name=csrf]').content)}).then(r => r.status)`
	forms, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("form#create").length`))
	if err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](forge, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if forms != 0 {
		t.Error("a read-only console offers the create form")
	}
	if status != 403 {
		t.Errorf("a read-only console answered a create with %d, want 403", status)
	}
	md, err := adm.ListTopics(context.Background(), "refused")
	if err != nil || md["refused"].Err == nil {
		t.Errorf("a read-only console created a topic (%v)", err)
	}
}
