package properties

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Entry
	}{
		{"empty input", "", nil},
		{"equals", "a=b", []Entry{{"a", "b", 1}}},
		{"colon", "a:b", []Entry{{"a", "b", 1}}},
		{"whitespace separator", "a b", []Entry{{"a", "b", 1}}},
		{"tab separator", "a\tb", []Entry{{"a", "b", 1}}},
		{"form feed separator", "a\fb", []Entry{{"a", "b", 1}}},
		{"spaces around equals", "a  =  b", []Entry{{"a", "b", 1}}},
		{"whitespace then colon", "a \t: b", []Entry{{"a", "b", 1}}},
		{"only the first separator counts", "a = = b", []Entry{{"a", "= b", 1}}},
		{"colon in value", "url=http://x:9092", []Entry{{"url", "http://x:9092", 1}}},
		{"equals in value", "a=b=c", []Entry{{"a", "b=c", 1}}},
		{"key only", "a", []Entry{{"a", "", 1}}},
		{"key and separator only", "a=", []Entry{{"a", "", 1}}},
		{"key then spaces", "a   ", []Entry{{"a", "", 1}}},
		{"empty key", "=b", []Entry{{"", "b", 1}}},
		{"leading whitespace", " \t\fa=b", []Entry{{"a", "b", 1}}},
		{"trailing whitespace kept in value", "a=b  ", []Entry{{"a", "b  ", 1}}},
		{"hash comment", "# a=b\nc=d", []Entry{{"c", "d", 2}}},
		{"bang comment", "! a=b\nc=d", []Entry{{"c", "d", 2}}},
		{"indented comment", "   # a=b", nil},
		{"hash inside a value", "a=b#c", []Entry{{"a", "b#c", 1}}},
		{"comment does not continue", "# a \\\nb=c", []Entry{{"b", "c", 2}}},
		{"blank lines", "\n  \n\t\na=b\n\n", []Entry{{"a", "b", 4}}},
		{"CRLF", "a=b\r\nc=d\r\n", []Entry{{"a", "b", 1}, {"c", "d", 2}}},
		{"lone CR", "a=b\rc=d", []Entry{{"a", "b", 1}, {"c", "d", 2}}},
		{"continuation", "a=b\\\n   c", []Entry{{"a", "bc", 1}}},
		{"continuation with CRLF", "a=b\\\r\n  c\r\nd=e", []Entry{{"a", "bc", 1}, {"d", "e", 3}}},
		{"continued key", "ke\\\n  y=v", []Entry{{"key", "v", 1}}},
		{"continuation line starting with hash", "a=b\\\n#c", []Entry{{"a", "b#c", 1}}},
		{"blank continuation line ends it", "a=b\\\n\nc=d", []Entry{{"a", "b", 1}, {"c", "d", 3}}},
		{"three continued lines", "a=1,\\\n 2,\\\n 3\nb=4", []Entry{{"a", "1,2,3", 1}, {"b", "4", 4}}},
		{"even backslashes do not continue", "a=b\\\\\nc=d", []Entry{{"a", "b\\", 1}, {"c", "d", 2}}},
		{"odd backslashes continue", "a=b\\\\\\\nc", []Entry{{"a", "b\\c", 1}}},
		{"continuation at end of input", "a=b\\", []Entry{{"a", "b", 1}}},
		{"empty continuation starts the line afresh", "\\\n  key=v", []Entry{{"key", "v", 2}}},
		{"comment after an empty continuation", "\\\n# c\nb=c", []Entry{{"b", "c", 3}}},
		{"blank line after an empty continuation", "\\\n\t\nb=c", []Entry{{"b", "c", 3}}},
		{"lone backslash at end of input", "a=b\n\\", []Entry{{"a", "b", 1}, {"", "", 2}}},
		{"lone backslash and LF at end of input", "\\\n", []Entry{{"", "", 1}}},
		{"lone backslash and CRLF at end of input", "\\\r\n", nil},
		{"escaped equals in key", "a\\=b=c", []Entry{{"a=b", "c", 1}}},
		{"escaped colon in key", "a\\:b:c", []Entry{{"a:b", "c", 1}}},
		{"escaped space in key", "a\\ b c", []Entry{{"a b", "c", 1}}},
		{"escaped backslash before separator", "a\\\\=b", []Entry{{"a\\", "b", 1}}},
		{"escaped hash and bang", "\\#a=\\!b", []Entry{{"#a", "!b", 1}}},
		{"control escapes", `a=\t\n\r\f`, []Entry{{"a", "\t\n\r\f", 1}}},
		{"escaped leading space in value", `a=\  b`, []Entry{{"a", "  b", 1}}},
		{"other escapes stand for themselves", `a=\q\b\é`, []Entry{{"a", "qbé", 1}}},
		{"unicode escape", `a=\u0041\u00e9`, []Entry{{"a", "Aé", 1}}},
		{"unicode escape in key", `\u006b=v`, []Entry{{"k", "v", 1}}},
		{"surrogate pair", `a=\uD83D\uDE00`, []Entry{{"a", "😀", 1}}},
		{"lone surrogate", `a=\uD83Dx`, []Entry{{"a", "\uFFFDx", 1}}},
		{"utf-8 kept", "clé=välue", []Entry{{"clé", "välue", 1}}},
		{"invalid utf-8 kept", "a=\xff\xfe", []Entry{{"a", "\xff\xfe", 1}}},
		{"repeated key: last wins, first position", "a=1\nb=2\na=3", []Entry{{"a", "3", 3}, {"b", "2", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := entries(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func entries(p *Properties) []Entry {
	var out []Entry
	for _, k := range p.Keys() {
		e, ok := p.Entry(k)
		if !ok {
			panic("Keys returned " + k + " but Entry does not find it")
		}
		out = append(out, e)
	}
	return out
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
	}{
		{"short unicode escape", "a=\\u12", 1},
		{"non-hex unicode escape", "\n\na=\\u12x4", 3},
		{"bad escape in key", "\\uzzzz=b", 1},
		{"bad escape after continuation", "x=y\na=b\\\n  \\u1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in))
			var syntax *SyntaxError
			if !errors.As(err, &syntax) {
				t.Fatalf("Parse(%q) error = %v, want a *SyntaxError", tt.in, err)
			}
			if syntax.Line != tt.line {
				t.Errorf("Parse(%q) error on line %d, want %d (%v)", tt.in, syntax.Line, tt.line, err)
			}
		})
	}
}

func TestGetAndDuplicates(t *testing.T) {
	p, err := Parse(strings.NewReader("a=1\nb=2\na=3\nc=4\na=5\nb=6\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := p.Get("a"); !ok || v != "5" {
		t.Errorf("Get(a) = %q, %v; want 5, true", v, ok)
	}
	if _, ok := p.Get("missing"); ok {
		t.Error("Get(missing) reports a value")
	}
	if got, want := p.Keys(), []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Keys() = %q, want %q", got, want)
	}
	want := []Duplicate{{"a", []int{1, 3, 5}}, {"b", []int{2, 6}}}
	if got := p.Duplicates(); !reflect.DeepEqual(got, want) {
		t.Errorf("Duplicates() = %v, want %v", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.properties")
	bad := filepath.Join(dir, "bad.properties")
	if err := os.WriteFile(good, []byte("# c\nnode.id=3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("\na=\\u1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := p.Entry("node.id"); e != (Entry{"node.id", "3", 2}) {
		t.Errorf("Entry(node.id) = %v", e)
	}
	_, err = Load(bad)
	if err == nil || !strings.HasPrefix(err.Error(), bad+":2: ") {
		t.Errorf("Load(bad) error = %v, want it to start with %q", err, bad+":2: ")
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want os.ErrNotExist", err)
	}
}

// TestParseRefusesNonText covers what no config file holds: each error
// names the line.
func TestParseRefusesNonText(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"a=b\n\x00\x01garbage", "line 2: control character"},
		{"a=b\r\nc=\x1bd", "line 2: control character"},
		{"a=" + strings.Repeat("x", MaxLineBytes), "line 1: line of 65538 bytes"},
		{strings.Repeat("a=b\n", MaxBytes/4+1), "more than 1048576 bytes"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.in))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Parse(%.20q…) = %v, want %q", tt.in, err, tt.want)
		}
	}
	if _, err := Parse(strings.NewReader("a=\tb\fc\u00e9\n")); err != nil {
		t.Errorf("tab, form feed and non-ASCII refused: %v", err)
	}
}
