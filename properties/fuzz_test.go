package properties

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it returns is
// consistent, and that writing the entries back out the way
// java.util.Properties.store escapes them reads back to the same entries.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "a=b", "a:b", "a b", "# c\n! d\n", "a=b\\\n  c", "a\\=b\\:c\\ d=e",
		`a=\t\n\r\f\\\u0041\uD83D\uDE00`, "a=\\u12", "a=1\r\nb=2\rc=3\n", "a=1\na=2",
		"key = = value  ", "\\", "a=b\\", "\xff=\xfe", "  \\#x=y",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, k := range p.Keys() {
			e, ok := p.Entry(k)
			if !ok || e.Key != k || e.Line < 1 {
				t.Fatalf("Entry(%q) = %v, %v", k, e, ok)
			}
		}
		var out strings.Builder
		for _, e := range entries(p) {
			out.WriteString(Line(e.Key, e.Value) + "\n")
		}
		q, err := Parse(strings.NewReader(out.String()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", out.String(), err)
		}
		a, b := entries(p), entries(q)
		if len(a) != len(b) {
			t.Fatalf("reparse of %q: %d entries, want %d", out.String(), len(b), len(a))
		}
		for i := range a {
			if a[i].Key != b[i].Key || a[i].Value != b[i].Value {
				t.Fatalf("reparse of %q: entry %d = %+v, want %+v", out.String(), i, b[i], a[i])
			}
		}
	})
}
