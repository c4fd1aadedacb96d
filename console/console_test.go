package console

import (
	"context"

	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see each answer.
type browser struct {
	t       *testing.T
	base    string
	hc      *http.Client
	console *Console
}

func newBrowser(t *testing.T, c *Console) *browser {
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: srv.URL, console: c, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	code, body, _ := b.do(req)
	return code, body
}

// post sends form with the session's CSRF token (read from a page) unless
// form sets its own.
func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	if !form.Has("csrf") {
		_, page := b.get("/console/topics")
		m := regexp.MustCompile(`<meta name="csrf" content="([^"]+)">`).FindStringSubmatch(page)
		if m == nil {
			b.t.Fatal("no CSRF token in the topics page")
		}
		form.Set("csrf", m[1])
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func newConsole(t *testing.T, bootstrap string, changes bool, maxSessions int) *Console {
	cfg := DefaultConfig()
	cfg.Bootstrap, cfg.ChangesEnable, cfg.MaxSessions = bootstrap, changes, maxSessions
	c, err := New(cfg, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func wantContains(t *testing.T, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("%s lacks %q", what, p)
		}
	}
}

// TestConsoleAgainstNode serves the console against a real node: each page
// shows the cluster's state, the changes change it, hostile input is
// refused, and record contents reach the page escaped.
func TestConsoleAgainstNode(t *testing.T) {
	c := harness.StartT(t, 1)
	addr := c.Nodes[0].KafkaAddr
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("orders"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	hostile := []*kgo.Record{
		{Partition: 0, Key: []byte("<script>alert(1)</script>"), Value: []byte(`{"total":42}`),
			Headers: []kgo.RecordHeader{{Key: "<img src=x onerror=alert(2)>", Value: []byte("\"'&")}}},
		{Partition: 0, Value: []byte{0xff, 0xfe, '<', 'b', '>'}},
		{Partition: 0, Value: []byte("plain")},
	}
	if err := cl.ProduceSync(ctx, hostile...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	commit := kadm.Offsets{}
	commit.AddOffset("orders", 0, 1, -1)
	if _, err := adm.CommitOffsets(ctx, "billing", commit); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, newConsole(t, addr, true, 10))
	t.Run("pages", func(t *testing.T) {
		code, body := b.get("/console/")
		if code != 200 {
			t.Fatalf("cluster page: %d %s", code, body)
		}
		wantContains(t, "cluster page", body, `<td>1</td><td>127.0.0.1</td>`, `id="quorum"`, "Leader")
		_, body = b.get("/console/topics?filter=ord")
		wantContains(t, "topics page", body, `href="/console/topic?name=orders">orders</a>`, "<td>3</td>")
		if strings.Contains(body, "__consumer_offsets") {
			t.Error("the filter did not filter")
		}
		_, body = b.get("/console/topic?name=orders")
		wantContains(t, "topic page", body, `<span id="partition-total">3</span>`, "retention.ms", "<td>0</td><td>1</td>")
		_, body = b.get("/console/groups")
		wantContains(t, "groups page", body, `href="/console/group?name=billing"`)
		_, body = b.get("/console/group?name=billing")
		// Partition 0 ends at 3 with a commit at 1: lag 2.
		wantContains(t, "group page", body, `<td>orders</td><td>0</td><td>1</td><td>3</td><td>2</td>`, `id="total-lag">2<`)
	})
	t.Run("messages are text", func(t *testing.T) {
		code, body := b.get("/console/messages?topic=orders&partition=0&offset=0&format=json")
		if code != 200 {
			t.Fatalf("messages: %d %s", code, body)
		}
		wantContains(t, "messages page", body, `<span id="record-count">3</span>`, "&lt;script&gt;alert(1)&lt;/script&gt;",
			"&lt;img src=x onerror=alert(2)&gt;", "&#34;total&#34;: 42", "not UTF-8")
		for _, raw := range []string{"<script>alert", "<img src=x", "<b>"} {
			if strings.Contains(body, raw) {
				t.Errorf("record contents reached the page as markup: %q", raw)
			}
		}
		_, body = b.get("/console/messages?topic=orders&partition=0&n=1&format=hex")
		wantContains(t, "last record in hex", body, `<span id="record-count">1</span>`, "70 6c 61 69 6e")
		_, body = b.get("/console/messages?topic=orders&partition=0&timestamp=0&n=2")
		wantContains(t, "records from timestamp 0", body, `<span id="record-count">2</span>`, "<td>0</td>", "<td>1</td>")
		_, body = b.get("/console/messages?topic=orders&partition=0&timestamp=4000000000000")
		wantContains(t, "records after a future timestamp", body, `<span id="record-count">0</span>`)
	})
	t.Run("hostile input", func(t *testing.T) {
		for _, path := range []string{
			"/console/topic?name=..", "/console/topic?name=%3Cscript%3E", "/console/topic?name=" + strings.Repeat("a", 250),
			"/console/topic?name=orders&page=0", "/console/topics?page=-1", "/console/topics?filter=%00",
			"/console/group?name=", "/console/group?name=a%0Db", "/console/messages?topic=orders&partition=-1",
			"/console/messages?topic=orders&n=1000000", "/console/messages?topic=orders&offset=x",
			"/console/messages?topic=orders&offset=1&timestamp=1", "/console/messages?topic=orders&format=%3Cb%3E",
			"/console/messages?topic=orders&partition=99",
		} {
			code, body := b.get(path)
			if code != http.StatusBadRequest {
				t.Errorf("GET %s: %d, want 400", path, code)
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, "\x00") {
				t.Errorf("GET %s reflected its input unescaped", path)
			}
		}
		code, _, _ := b.post("/console/topics/create", url.Values{"topic": {strings.Repeat("x", maxBody)}})
		if code != http.StatusBadRequest {
			t.Errorf("a body over %d bytes: %d, want 400", maxBody, code)
		}
		code, _, _ = b.post("/console/topics/create", url.Values{"topic": {"forged"}, "csrf": {"guess"}})
		if code != http.StatusForbidden {
			t.Errorf("a POST with a wrong CSRF token: %d, want 403", code)
		}
	})
	t.Run("changes", func(t *testing.T) {
		code, _, h := b.post("/console/topics/create", url.Values{"topic": {"made-here"}, "partitions": {"2"}})
		if code != http.StatusSeeOther || h.Get("Location") != "/console/topic?name=made-here&notice=created" {
			t.Fatalf("create: %d to %q", code, h.Get("Location"))
		}
		b.post("/console/topic/partitions", url.Values{"topic": {"made-here"}, "total": {"5"}})
		b.post("/console/topic/config", url.Values{"topic": {"made-here"}, "key": {"retention.ms"}, "value": {"123456"}})
		md, err := adm.ListTopics(ctx, "made-here")
		if err != nil || len(md["made-here"].Partitions) != 5 {
			t.Errorf("after create and add: %v partitions, %v; want 5", len(md["made-here"].Partitions), err)
		}
		cfgs, err := adm.DescribeTopicConfigs(ctx, "made-here")
		if v, _ := cfgs.On("made-here", nil); err != nil || !hasConfig(v.Configs, "retention.ms", "123456") {
			t.Errorf("retention.ms not altered: %v", err)
		}
		code, _, _ = b.post("/console/topic/delete", url.Values{"topic": {"made-here"}, "confirm": {"made-her"}})
		if code != http.StatusBadRequest {
			t.Errorf("delete with the wrong name typed: %d, want 400", code)
		}
		code, _, _ = b.post("/console/topic/delete", url.Values{"topic": {"made-here"}, "confirm": {"made-here"}})
		if code != http.StatusSeeOther {
			t.Errorf("delete: %d", code)
		}
		harness.WaitFor(t, "the topic deleted", 10*time.Second, func() bool {
			md, err := adm.ListTopics(ctx, "made-here")
			return err == nil && md["made-here"].Err != nil
		})
		code, _, _ = b.post("/console/group/reset", url.Values{"group": {"billing"}, "topic": {"orders"}, "to": {"latest"}})
		if code != http.StatusSeeOther {
			t.Errorf("reset: %d", code)
		}
		offs, err := adm.FetchOffsets(ctx, "billing")
		if o, ok := offs.Lookup("orders", 0); err != nil || !ok || o.At != 3 {
			t.Errorf("after reset to latest, orders-0 is committed at %+v (%v), want 3", o, err)
		}
	})
	t.Run("read-only and sessions", func(t *testing.T) {
		ro := newBrowser(t, newConsole(t, addr, false, 2))
		code, body, _ := ro.post("/console/topics/create", url.Values{"topic": {"refused"}})
		if code != http.StatusForbidden || !strings.Contains(body, "read-only") {
			t.Errorf("create on a read-only console: %d %s", code, body)
		}
		if md, _ := adm.ListTopics(ctx, "refused"); md["refused"].Err == nil {
			t.Error("a read-only console created a topic")
		}
		_, body = ro.get("/console/topics")
		if strings.Contains(body, `id="create"`) {
			t.Error("a read-only console offers the create form")
		}
		// Browsers without cookies past the cap of 2 each get a session,
		// evicting the oldest anonymous one: the table stays bounded.
		other := &browser{t: t, base: ro.base, hc: &http.Client{}}
		for range 5 {
			if code, _ := other.get("/console/topics"); code != 200 {
				t.Errorf("a new anonymous session past the cap: %d, want 200", code)
			}
		}
		if n := len(ro.console.sessions.m); n != 2 {
			t.Errorf("%d sessions kept, want http.console.max.sessions=2", n)
		}
	})
}

func hasConfig(cs []kadm.Config, key, value string) bool {
	for _, c := range cs {
		if c.Key == key && c.Value != nil && *c.Value == value {
			return true
		}
	}
	return false
}
