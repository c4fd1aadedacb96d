package console

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/gokafka/gokafka/test/harness"
)

// TestConsoleLogsInWithSASL: on a SASL listener with ACLs the console asks
// for credentials, refuses wrong ones, and shows and does only what the
// logged-in user's ACLs allow.
func TestConsoleLogsInWithSASL(t *testing.T) {
	listen := func(nd *harness.Node) ([]string, error) {
		return []string{
			fmt.Sprintf("listeners=SASL_PLAINTEXT://%s,CONTROLLER://%s", nd.KafkaAddr, nd.CtrlAddr),
			"advertised.listeners=SASL_PLAINTEXT://" + nd.KafkaAddr,
		}, nil
	}
	c := harness.StartWithT(t, harness.Binary(t), 1, listen,
		"listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name=SASL_PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512",
		"sasl.mechanism.inter.broker.protocol=PLAIN",
		`listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required `+
			`username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`,
		"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users=User:admin")
	addr := c.Nodes[0].KafkaAddr
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, topic := range []string{"open", "secret"} {
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := adm.CreateACLs(ctx, kadm.NewACLs().Allow("User:alice").AllowHosts().Topics("open").Operations(kadm.OpDescribe)); err != nil {
		t.Fatal(err)
	}
	scram, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "bob", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "bob-secret"}})
	if err == nil {
		err = scram.Error()
	}
	if err != nil {
		t.Fatal(err)
	}

	cfg := DefaultConfig()
	cfg.Bootstrap, cfg.Mechanisms, cfg.ChangesEnable = addr, []string{"PLAIN", "SCRAM-SHA-512"}, true
	con, err := New(cfg, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	b := newBrowser(t, con)
	loginWith := func(mechanism, user, pass string) (int, http.Header) {
		code, _, h := b.post("/console/login", url.Values{"user": {user}, "password": {pass}, "mechanism": {mechanism}, "csrf": {""}})
		return code, h
	}
	login := func(user, pass string) (int, http.Header) { return loginWith("PLAIN", user, pass) }

	req, _ := http.NewRequest(http.MethodGet, b.base+"/console/topics", nil)
	if code, _, h := b.do(req); code != http.StatusSeeOther || h.Get("Location") != "/console/login" {
		t.Errorf("a page before login: %d to %q, want 303 to /console/login", code, h.Get("Location"))
	}
	if code, body := b.get("/console/login"); code != 200 || !strings.Contains(body, "<option>PLAIN</option>") {
		t.Errorf("login page: %d, offers PLAIN: %v", code, strings.Contains(body, "<option>PLAIN</option>"))
	}
	if code, h := login("alice", "wrong"); code != http.StatusUnauthorized || h.Get("Set-Cookie") != "" {
		t.Errorf("a wrong password: %d, cookie %q; want 401 and none", code, h.Get("Set-Cookie"))
	}
	if code, _, _ := b.post("/console/login", url.Values{"user": {"alice"}, "password": {"alice-secret"}, "mechanism": {"GSSAPI"}, "csrf": {""}}); code != http.StatusBadRequest {
		t.Errorf("a mechanism the listener does not enable: %d, want 400", code)
	}
	if code, h := login("alice", "alice-secret"); code != http.StatusSeeOther || !strings.Contains(h.Get("Set-Cookie"), "HttpOnly") ||
		!strings.Contains(h.Get("Set-Cookie"), "SameSite=Strict") {
		t.Fatalf("alice's login: %d, cookie %q", code, h.Get("Set-Cookie"))
	}
	_, body := b.get("/console/topics")
	if !strings.Contains(body, ">open</a>") || strings.Contains(body, ">secret</a>") {
		t.Errorf("alice, who may describe only open, sees: open %v, secret %v",
			strings.Contains(body, ">open</a>"), strings.Contains(body, ">secret</a>"))
	}
	code, body, _ := b.post("/console/topics/create", url.Values{"topic": {"alice-made"}})
	if code != http.StatusBadGateway || !strings.Contains(body, "AUTHORIZATION_FAILED") {
		t.Errorf("alice creating a topic: %d, want 502 naming the authorization error", code)
	}
	if md, _ := adm.ListTopics(ctx, "alice-made"); md["alice-made"].Err == nil {
		t.Error("the console created a topic alice may not create")
	}

	b.post("/console/logout", url.Values{})
	if code, _ := b.get("/console/topics"); code != http.StatusSeeOther {
		t.Errorf("a page after logout: %d, want 303 to the login", code)
	}
	login("admin", "admin-secret")
	if _, body := b.get("/console/topics"); !strings.Contains(body, ">secret</a>") {
		t.Error("admin, a super user, does not see secret")
	}

	// bob has only a SCRAM credential and no ACL: he logs in, sees no topic.
	b.post("/console/logout", url.Values{})
	if code, _ := loginWith("SCRAM-SHA-512", "bob", "bob-secret"); code != http.StatusSeeOther {
		t.Fatalf("bob's SCRAM-SHA-512 login: %d", code)
	}
	if code, body := b.get("/console/topics"); code != 200 || strings.Contains(body, ">open</a>") || !strings.Contains(body, "0 in all") {
		t.Errorf("bob, without ACLs, sees: %d, open %v", code, strings.Contains(body, ">open</a>"))
	}
}
