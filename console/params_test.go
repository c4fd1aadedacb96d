package console

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gokafka/gokafka/protocol"
)

func TestParseBrowse(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  browseQuery
		bad   string // part of the error when the query is refused
	}{
		{query: "topic=orders", want: browseQuery{Topic: "orders", Offset: -1, Timestamp: -1, N: 20, Format: "text"}},
		{query: "topic=o.r_d-1&partition=7&offset=12&n=100&format=hex", want: browseQuery{Topic: "o.r_d-1", Partition: 7, Offset: 12, Timestamp: -1, N: 100, Format: "hex"}},
		{query: "topic=t&timestamp=1700000000000&format=json", want: browseQuery{Topic: "t", Offset: -1, Timestamp: 1700000000000, N: 20, Format: "json"}},
		{query: "", bad: "empty string"},
		{query: "topic=..", bad: "not allowed"},
		{query: "topic=a%2Fb", bad: "characters other than"},
		{query: "topic=" + strings.Repeat("x", 250), bad: "longer than"},
		{query: "topic=%3Cscript%3E", bad: "characters other than"},
		{query: "topic=t&partition=-1", bad: "partition must be"},
		{query: "topic=t&partition=99999999999", bad: "partition must be"},
		{query: "topic=t&n=0", bad: "n must be"},
		{query: "topic=t&n=101", bad: "n must be"},
		{query: "topic=t&offset=1e3", bad: "offset must be"},
		{query: "topic=t&offset=1&timestamp=2", bad: "not both"},
		{query: "topic=t&format=html", bad: "format must be"},
	} {
		v, _ := url.ParseQuery(tc.query)
		got, err := parseBrowse(v)
		if tc.bad != "" {
			if err == nil || !errors.Is(err, errInput) || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%q: error %v, want one saying %q", tc.query, err, tc.bad)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.query, got, err, tc.want)
		}
	}
}

func TestParseForms(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		parse       func(url.Values) error
		ok          bool
	}{
		{"create", "topic=t&partitions=3&replication=2", func(v url.Values) error { _, err := parseCreate(v); return err }, true},
		{"create defaults", "topic=t", func(v url.Values) error { _, err := parseCreate(v); return err }, true},
		{"create zero partitions", "topic=t&partitions=0", func(v url.Values) error { _, err := parseCreate(v); return err }, false},
		{"create huge replication", "topic=t&replication=40000", func(v url.Values) error { _, err := parseCreate(v); return err }, false},
		{"config", "topic=t&key=retention.ms&value=1000", func(v url.Values) error { _, err := parseConfig(v); return err }, true},
		{"config key with markup", "topic=t&key=%3Cb%3E&value=1", func(v url.Values) error { _, err := parseConfig(v); return err }, false},
		{"config value with NUL", "topic=t&key=a&value=%00", func(v url.Values) error { _, err := parseConfig(v); return err }, false},
		{"config value too long", "topic=t&key=a&value=" + strings.Repeat("v", maxConfigValueLen+1), func(v url.Values) error { _, err := parseConfig(v); return err }, false},
		{"reset", "group=g&topic=t&to=offset&value=5", func(v url.Values) error { _, err := parseReset(v); return err }, true},
		{"reset negative", "group=g&topic=t&to=offset&value=-5", func(v url.Values) error { _, err := parseReset(v); return err }, false},
		{"reset group with newline", "group=a%0Ab&topic=t", func(v url.Values) error { _, err := parseReset(v); return err }, false},
		{"reset group not UTF-8", "group=%FF&topic=t", func(v url.Values) error { _, err := parseReset(v); return err }, false},
		{"reset to what", "group=g&topic=t&to=yesterday", func(v url.Values) error { _, err := parseReset(v); return err }, false},
		{"list", "filter=ord&page=3", func(v url.Values) error { _, err := parseList(v); return err }, true},
		{"list page 0", "page=0", func(v url.Values) error { _, err := parseList(v); return err }, false},
		{"list filter control", "filter=%1B%5B2J", func(v url.Values) error { _, err := parseList(v); return err }, false},
	} {
		v, _ := url.ParseQuery(tc.query)
		err := tc.parse(v)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, errInput) {
			t.Errorf("%s: error %v, want ok=%v (and errInput when refused)", tc.name, err, tc.ok)
		}
	}
}

func TestPaginate(t *testing.T) {
	for _, tc := range []struct{ total, page, from, to, pages int }{
		{0, 1, 0, 0, 1}, {10000, 1, 0, 50, 200}, {10000, 200, 9950, 10000, 200}, {10000, 999999, 9950, 10000, 200}, {51, 2, 50, 51, 2},
	} {
		p := paginate(tc.total, tc.page, pageSize)
		if p.From != tc.from || p.To != tc.to || p.Pages != tc.pages {
			t.Errorf("paginate(%d, %d) = %+v, want rows [%d, %d) of %d pages", tc.total, tc.page, p, tc.from, tc.to, tc.pages)
		}
	}
}

func TestShow(t *testing.T) {
	if s := show(nil, "text"); !s.Null {
		t.Error("a null value is not shown as null")
	}
	if s := show([]byte{0xff, 'a'}, "text"); !strings.Contains(s.Text, "\uFFFD") || !strings.Contains(s.Text, "not UTF-8") {
		t.Errorf("invalid UTF-8 shown as %q", s.Text)
	}
	if s := show([]byte(`{"a":[1,2]}`), "json"); s.NotJSON || !strings.Contains(s.Text, "\n  \"a\"") {
		t.Errorf("JSON shown as %q", s.Text)
	}
	if s := show([]byte("<b>"), "json"); !s.NotJSON || s.Text != "<b>" {
		t.Errorf("non-JSON in json format shown as %+v", s)
	}
	if s := show([]byte("AB"), "hex"); !strings.HasPrefix(s.Text, "00000000  41 42") {
		t.Errorf("hex shown as %q", s.Text)
	}
	if s := show(make([]byte, maxShown+1), "text"); s.Truncated != maxShown+1 || len(s.Text) != maxShown {
		t.Errorf("a large value is not cut: truncated %d, %d bytes shown", s.Truncated, len(s.Text))
	}
}

// FuzzRequestParams drives every parser of request input with arbitrary
// query strings: none may panic, and what one accepts must hold its
// bounds.
func FuzzRequestParams(f *testing.F) {
	for _, s := range []string{
		"topic=orders&partition=0&offset=5&n=10&format=json",
		"topic=t&timestamp=1700000000000",
		"filter=a&page=2",
		"group=g&topic=t&to=offset&value=3",
		"topic=t&key=retention.ms&value=1000&delete=on",
		"topic=t&partitions=3&replication=3",
		"topic=%00&n=-1&page=99999999999999999999",
		"topic=..;topic=a&partition=+1",
		"group=%FF%FE&filter=%E2%80%AE",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		if q, err := parseBrowse(v); err == nil {
			if protocol.ValidTopicName(q.Topic) != nil || q.N < 1 || q.N > maxBrowse || q.Partition < 0 ||
				q.Offset >= 0 && q.Timestamp >= 0 || q.Format != "text" && q.Format != "json" && q.Format != "hex" {
				t.Fatalf("parseBrowse accepted %+v", q)
			}
		}
		if q, err := parseList(v); err == nil && (q.Page < 1 || len(q.Filter) > maxFilterLen || !printable(q.Filter)) {
			t.Fatalf("parseList accepted %+v", q)
		}
		if q, err := parseCreate(v); err == nil && (q.Partitions == 0 || q.Replication == 0 || q.Partitions < -1 || q.Replication < -1) {
			t.Fatalf("parseCreate accepted %+v", q)
		}
		if q, err := parseConfig(v); err == nil && (q.Key == "" || len(q.Value) > maxConfigValueLen || !printable(q.Value)) {
			t.Fatalf("parseConfig accepted %+v", q)
		}
		if q, err := parseReset(v); err == nil && (q.Value < 0 || !printable(q.Group) || len(q.Group) > maxGroupIDLen) {
			t.Fatalf("parseReset accepted %+v", q)
		}
	})
}
