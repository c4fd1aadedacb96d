package console

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Config is the console's part of server.properties.
type Config struct {
	Enable         bool          // http.console.enable
	ChangesEnable  bool          // http.console.changes.enable: create, alter, delete, reset
	MaxSessions    int           // http.console.max.sessions
	SessionTimeout time.Duration // http.console.session.timeout.ms: idle time before a session ends

	// Bootstrap is host:port of this node's own client listener, which the
	// console dials as any Kafka client would.
	Bootstrap string
	// Mechanisms are that listener's sasl.enabled.mechanisms; empty means it
	// takes no SASL and the console connects anonymously.
	Mechanisms []string
	// TLS is the client side for an SSL or SASL_SSL listener; nil otherwise.
	TLS *tls.Config
}

func DefaultConfig() Config {
	return Config{Enable: true, MaxSessions: 100, SessionTimeout: 30 * time.Minute}
}

// supportedMechanisms are those the login form can use.
var supportedMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

func (c Config) Validate() error {
	switch {
	case c.MaxSessions < 1:
		return errors.New("http.console.max.sessions must be at least 1")
	case c.SessionTimeout <= 0:
		return errors.New("http.console.session.timeout.ms must be positive")
	}
	return nil
}

// requestTimeout bounds the Kafka requests behind one page.
const requestTimeout = 10 * time.Second

// maxBody bounds a POST body: forms here are a few short fields.
const maxBody = 64 << 10

//go:embed assets
var assets embed.FS

// Console serves the pages under /console/.
type Console struct {
	cfg      Config
	log      *slog.Logger
	sessions *sessions
	anon     *kgo.Client // the shared client without SASL; nil with it
	pages    map[string]*template.Template
	mux      *http.ServeMux
	metrics  *sampler
}

// New builds the console; it dials nothing until a page asks.
func New(cfg Config, metrics prometheus.Gatherer, logger *slog.Logger) (*Console, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Console{
		cfg:      cfg,
		log:      logger,
		sessions: &sessions{m: map[string]*session{}, max: cfg.MaxSessions, idle: cfg.SessionTimeout},
		metrics:  &sampler{g: metrics},
	}
	if len(cfg.Mechanisms) == 0 {
		cl, err := kgo.NewClient(c.baseOpts()...)
		if err != nil {
			return nil, fmt.Errorf("console client: %w", err)
		}
		c.anon = cl
	}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// Close ends every session and closes the clients.
func (c *Console) Close() {
	c.sessions.closeAll()
	if c.anon != nil {
		c.anon.Close()
	}
}

func (c *Console) baseOpts() []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(c.cfg.Bootstrap), kgo.ClientID("gokafka-console"), kgo.RetryTimeout(requestTimeout)}
	if c.cfg.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.cfg.TLS.Clone()))
	}
	return opts
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets/static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login", c.login)
	m.Handle("POST /console/logout", c.withSession(c.logout))
	m.Handle("GET /console/{$}", c.withSession(c.clusterPage))
	m.Handle("GET /console/topics", c.withSession(c.topicsPage))
	m.Handle("GET /console/topic", c.withSession(c.topicPage))
	m.Handle("GET /console/groups", c.withSession(c.groupsPage))
	m.Handle("GET /console/group", c.withSession(c.groupPage))
	m.Handle("GET /console/messages", c.withSession(c.messagesPage))
	m.Handle("GET /console/metrics.json", c.withSession(c.metricsJSON))
	m.Handle("POST /console/topics/create", c.withChange(c.createTopic))
	m.Handle("POST /console/topic/partitions", c.withChange(c.addPartitions))
	m.Handle("POST /console/topic/config", c.withChange(c.alterConfig))
	m.Handle("POST /console/topic/delete", c.withChange(c.deleteTopic))
	m.Handle("POST /console/group/reset", c.withChange(c.resetOffsets))
	c.mux = m
}

// ServeHTTP answers /console/... with headers that keep every page to its
// own assets: no inline script runs, nothing is framed or sniffed.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

type handler func(w http.ResponseWriter, r *http.Request, s *session)

// withSession finds the browser's session. Without SASL a browser gets an
// anonymous one on its first visit; with SASL it is sent to log in.
func (c *Console) withSession(next handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessions.get(r)
		if s == nil && c.anon == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			} else {
				http.Error(w, "log in first", http.StatusForbidden)
			}
			return
		}
		if s == nil {
			if r.Method != http.MethodGet {
				http.Error(w, "no session: load the page again", http.StatusForbidden)
				return
			}
			s = &session{cl: c.anon, adm: kadm.NewClient(c.anon), opts: c.baseOpts()}
			if err := c.sessions.add(w, s); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		next(w, r, s)
	})
}

// withChange guards a change: the body is bounded, the CSRF token must be
// the session's, and changes must be enabled.
func (c *Console) withChange(next handler) http.Handler {
	return c.withSession(func(w http.ResponseWriter, r *http.Request, s *session) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
			return
		}
		if !s.csrfOK(r) {
			http.Error(w, "the form's CSRF token does not match this session: load the page again", http.StatusForbidden)
			return
		}
		if !c.cfg.ChangesEnable {
			http.Error(w, "the console is read-only: set http.console.changes.enable=true to allow changes", http.StatusForbidden)
			return
		}
		next(w, r, s)
	})
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if c.anon != nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", &session{}, c.loginMechanisms(), "")
}

// login connects as the user typed and keeps that client for the session
// only if the broker accepts the credentials.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.anon != nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	user, pass, mech := r.PostFormValue("user"), r.PostFormValue("password"), r.PostFormValue("mechanism")
	fail := func(status int, msg string) {
		w.Header().Set("X-Console-Error", msg)
		c.render(w, r, status, "login", &session{}, c.loginMechanisms(), msg)
	}
	if user == "" || len(user) > 255 || len(pass) > 1024 || !printable(user) {
		fail(http.StatusBadRequest, "type a user name and password")
		return
	}
	m, err := mechanism(c.cfg.Mechanisms, mech, user, pass)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	opts := append(c.baseOpts(), kgo.SASL(m))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	if _, err := adm.BrokerMetadata(ctx); err != nil {
		adm.Close()
		c.log.Info("console login refused", "user", user, "mechanism", mech, "err", err)
		fail(http.StatusUnauthorized, "login failed: "+err.Error())
		return
	}
	s := &session{user: user, opts: opts, cl: cl, adm: adm, owned: true}
	if err := c.sessions.add(w, s); err != nil {
		adm.Close()
		fail(http.StatusServiceUnavailable, err.Error())
		return
	}
	c.log.Info("console login", "user", user, "mechanism", mech)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if !s.csrfOK(r) {
		http.Error(w, "CSRF token mismatch", http.StatusForbidden)
		return
	}
	c.sessions.remove(w, s)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// loginMechanisms are the listener's mechanisms the login form offers.
func (c *Console) loginMechanisms() []string {
	var ms []string
	for _, m := range c.cfg.Mechanisms {
		if slices.Contains(supportedMechanisms, m) {
			ms = append(ms, m)
		}
	}
	return ms
}

// mechanism is the SASL mechanism name among enabled, with the credentials.
func mechanism(enabled []string, name, user, pass string) (sasl.Mechanism, error) {
	if !slices.Contains(enabled, name) || !slices.Contains(supportedMechanisms, name) {
		return nil, fmt.Errorf("mechanism must be one of %s", strings.Join(enabled, ", "))
	}
	switch name {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	default:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
}
