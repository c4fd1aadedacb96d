package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// view is what every page template gets: the layout's fields and the
// page's own Data. html/template escapes every value by its context, so
// names and record contents show as text, never as markup.
type view struct {
	Title   string
	Nav     string // which nav link is current
	CSRF    string
	User    string
	SASL    bool
	Changes bool
	Error   string
	Notice  string
	Data    any
}

var funcs = template.FuncMap{
	"bytes":   humanBytes,
	"join":    func(xs []int32) string { return strings.Trim(fmt.Sprint(xs), "[]") },
	"add":     func(a, b int) int { return a + b },
	"formats": func() []string { return []string{"text", "json", "hex"} },
}

// parsePages parses each page with the layout into a template of its own.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "assets/pages/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", n, err)
		}
		pages[strings.TrimSuffix(n[len("assets/pages/"):], ".html")] = t
	}
	return pages, nil
}

var titles = map[string]string{"cluster": "Cluster", "topics": "Topics", "topic": "Topic", "groups": "Consumer groups",
	"group": "Consumer group", "messages": "Messages", "login": "Log in"}

// render writes page name with data, and msg as the page's error.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, data any, msg string) {
	v := view{Title: titles[name], Nav: name, CSRF: s.csrf, User: s.user, SASL: c.anon == nil,
		Changes: c.cfg.ChangesEnable, Error: msg, Notice: notices[r.URL.Query().Get("notice")], Data: data}
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, v); err != nil {
		c.log.Error("console template", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail renders page name with err: 400 for the request's fault, 502 for
// the cluster's answer (which names the Kafka error, such as
// TOPIC_AUTHORIZATION_FAILED).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, name string, s *session, data any, err error) {
	status := http.StatusBadGateway
	if errors.Is(err, errInput) {
		status = http.StatusBadRequest
	}
	c.render(w, r, status, name, s, data, err.Error())
}

// notices are what a page says after a change sent the browser to it; a
// fixed list, so that a link cannot make a page say anything else.
var notices = map[string]string{
	"created":    "Topic created.",
	"deleted":    "Topic deleted.",
	"partitions": "Partitions added.",
	"config":     "Config changed.",
	"reset":      "Offsets reset.",
}

// done sends the browser to the page to after a change, with the notice
// of that key (post, redirect, get: a reload does not repeat the change).
func done(w http.ResponseWriter, r *http.Request, to url.URL, notice string) {
	q := to.Query()
	q.Set("notice", notice)
	to.RawQuery = q.Encode()
	http.Redirect(w, r, to.String(), http.StatusSeeOther)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// pager is one page of a list: rows [From, To) of Total.
type pager struct {
	Filter                string
	Page, Pages, From, To int
	Total                 int
	HasPrev, HasNext      bool
}

// listPage reads a list page's query, lists the names and returns the page
// of those containing the filter, sorted; on failure it renders the page
// with the error and returns false.
func (c *Console) listPage(ctx context.Context, w http.ResponseWriter, r *http.Request, s *session, page string,
	list func() ([]string, error)) (pager, []string, bool) {
	q, err := parseList(r.URL.Query())
	var names []string
	if err == nil {
		names, err = list()
	}
	if err != nil {
		c.fail(w, r, page, s, nil, err)
		return pager{}, nil, false
	}
	var kept []string
	for _, n := range names {
		if strings.Contains(n, q.Filter) {
			kept = append(kept, n)
		}
	}
	slices.Sort(kept)
	p := paginate(len(kept), q.Page, pageSize)
	p.Filter = q.Filter
	return p, kept[p.From:p.To], true
}

func paginate(total, page, size int) pager {
	pages := max(1, (total+size-1)/size)
	page = min(max(page, 1), pages)
	from := (page - 1) * size
	return pager{Page: page, Pages: pages, From: from, To: min(from+size, total), Total: total,
		HasPrev: page > 1, HasNext: page < pages}
}
