// Package properties reads Java .properties files with the exact syntax of
// java.util.Properties.load, so that a Kafka server.properties or client
// config file written for the JVM means the same thing here.
//
// The syntax, as Java defines it:
//   - A natural line ends at \n, \r or \r\n. Lines that are blank or whose
//     first non-whitespace character is # or ! are skipped (a comment never
//     continues onto the next line). Since JDK 9 this also holds after a
//     continuation that has added nothing yet.
//   - A line ending in an odd number of backslashes continues on the next
//     line; the backslash and the next line's leading whitespace are dropped.
//   - The key ends at the first unescaped '=', ':' or whitespace; whitespace
//     around that separator, and at most one '=' or ':' after whitespace, is
//     skipped. The rest of the line is the value, trailing whitespace kept.
//   - Escapes \t \n \r \f and \uXXXX stand for their characters; a backslash
//     before any other character stands for that character (\\ \= \: \# \!
//     and "\ "). Surrogate pairs written as two \u escapes join into one rune.
//
// Java reads an InputStream as ISO-8859-1; this package reads UTF-8, as Java
// does for a Reader, which is the same for the ASCII that config files hold.
// The corner cases follow OpenJDK 17's LineReader and loadConvert, checked
// against it on random inputs.
package properties

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Entry is one key with the value that wins for it.
type Entry struct {
	Key   string
	Value string
	Line  int // the line the winning entry starts on, counting from 1
}

// Duplicate records a key set more than once; the last value wins, as in
// Java, but a repeated key in a config file is usually a mistake worth a
// warning.
type Duplicate struct {
	Key   string
	Lines []int // every line that set Key, in file order
}

// Properties is a parsed file: keys in the order they first appear, each
// with its last value.
type Properties struct {
	entries []Entry
	index   map[string]int // key → position in entries
	dups    []Duplicate
}

// SyntaxError is a line that cannot be read (a malformed \uXXXX escape).
type SyntaxError struct {
	File string // set by Load
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	switch {
	case e.File == "" && e.Line == 0:
		return e.Msg
	case e.File == "":
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// checkText finds the first natural line that is too long or holds a
// control character.
func checkText(src []byte) error {
	lines := lineReader{src: src}
	for {
		nat, ok := lines.natural()
		switch {
		case !ok:
			return nil
		case len(nat) > MaxLineBytes:
			return &SyntaxError{Line: lines.line, Msg: fmt.Sprintf("line of %d bytes, more than %d: not a config file", len(nat), MaxLineBytes)}
		}
		if i := bytes.IndexFunc(nat, isControl); i >= 0 {
			return &SyntaxError{Line: lines.line, Msg: fmt.Sprintf("control character %q at byte %d: not a text file", nat[i], i+1)}
		}
	}
}

// isControl reports the C0 controls and DEL, but for tab and form feed,
// which the syntax treats as white space.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\f') || r == 0x7f
}

// Limits on what Parse reads. No config file comes near them; a file that
// does is not one (a log, a binary, a path given by mistake), and reading
// it whole would cost memory for nothing.
const (
	MaxBytes     = 1 << 20  // the whole input
	MaxLineBytes = 64 << 10 // one natural line
)

// Parse reads properties from r. Beyond Java's syntax it refuses input
// that cannot be a config file: more than MaxBytes, a natural line longer
// than MaxLineBytes, or a control character other than tab, form feed
// and the line terminators (binary data).
func Parse(r io.Reader) (*Properties, error) {
	src, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("properties: read: %w", err)
	}
	if len(src) > MaxBytes {
		return nil, &SyntaxError{Line: 0, Msg: fmt.Sprintf("more than %d bytes: not a config file", MaxBytes)}
	}
	if err := checkText(src); err != nil {
		return nil, err
	}
	p := &Properties{index: map[string]int{}}
	lines := lineReader{src: src}
	for {
		text, line, ok := lines.next()
		if !ok {
			return p, nil
		}
		rawKey, rawValue := splitKeyValue(text)
		key, err := unescape(rawKey)
		if err != nil {
			return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("key: %v", err)}
		}
		value, err := unescape(rawValue)
		if err != nil {
			return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("value of %q: %v", key, err)}
		}
		p.set(Entry{Key: key, Value: value, Line: line})
	}
}

// Load parses the file at path; syntax errors name the file.
func Load(path string) (*Properties, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError already names the file
	}
	defer f.Close()
	p, err := Parse(f)
	var syntax *SyntaxError
	if errors.As(err, &syntax) {
		syntax.File = path
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Properties) set(e Entry) {
	i, ok := p.index[e.Key]
	if !ok {
		p.index[e.Key] = len(p.entries)
		p.entries = append(p.entries, e)
		return
	}
	prev := p.entries[i].Line
	p.entries[i].Value, p.entries[i].Line = e.Value, e.Line
	for d := range p.dups {
		if p.dups[d].Key == e.Key {
			p.dups[d].Lines = append(p.dups[d].Lines, e.Line)
			return
		}
	}
	p.dups = append(p.dups, Duplicate{Key: e.Key, Lines: []int{prev, e.Line}})
}

// Keys returns the keys in the order they first appear.
func (p *Properties) Keys() []string {
	keys := make([]string, len(p.entries))
	for i, e := range p.entries {
		keys[i] = e.Key
	}
	return keys
}

// Get returns the value of key and whether it is set.
func (p *Properties) Get(key string) (string, bool) {
	e, ok := p.Entry(key)
	return e.Value, ok
}

// Entry returns key's winning entry, with its line for error messages.
func (p *Properties) Entry(key string) (Entry, bool) {
	i, ok := p.index[key]
	if !ok {
		return Entry{}, false
	}
	return p.entries[i], true
}

// Duplicates lists the keys set more than once, in the order they were
// first repeated.
func (p *Properties) Duplicates() []Duplicate {
	return p.dups
}

// lineReader yields logical lines: comments and blank lines skipped,
// continuations joined, escapes still in place.
type lineReader struct {
	src  []byte
	pos  int
	line int // number of the last natural line read
	// ended is set when the last natural line ran to the end of the input
	// or its terminator's first byte was the input's last byte: the point
	// where Java's LineReader sees end of input.
	ended bool
}

// natural returns the next natural line without its terminator.
func (r *lineReader) natural() ([]byte, bool) {
	if r.pos >= len(r.src) {
		return nil, false
	}
	rest := r.src[r.pos:]
	end := bytes.IndexAny(rest, "\r\n")
	r.line++
	if end < 0 {
		r.pos, r.ended = len(r.src), true
		return rest, true
	}
	r.pos += end + 1
	r.ended = r.pos == len(r.src)
	if rest[end] == '\r' && end+1 < len(rest) && rest[end+1] == '\n' {
		r.pos++
	}
	return rest[:end], true
}

// next returns the next logical line and the line it starts on. As in
// Java, a continuation that leaves the line empty so far starts it afresh
// (a comment or blank line may follow); only a continuation that meets the
// end of input at once yields an empty entry.
func (r *lineReader) next() (string, int, bool) {
	var text []byte
	start := 0
	for {
		nat, ok := r.natural()
		if !ok {
			return string(text), start, len(text) > 0
		}
		nat = trimLeadingSpace(nat)
		if len(text) == 0 {
			if len(nat) > 0 && (nat[0] == '#' || nat[0] == '!') {
				continue // a comment never continues
			}
			start = r.line
		}
		continuing := continues(nat)
		if continuing {
			nat = nat[:len(nat)-1]
		}
		text = append(text, nat...)
		if (!continuing && len(text) > 0) || (continuing && r.ended) {
			return string(text), start, true
		}
	}
}

// continues reports whether line ends in an odd number of backslashes.
func continues(line []byte) bool {
	n := 0
	for n < len(line) && line[len(line)-1-n] == '\\' {
		n++
	}
	return n%2 == 1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

func trimLeadingSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

// splitKeyValue splits a logical line at the first unescaped separator, the
// way Properties.load0 does.
func splitKeyValue(line string) (key, value string) {
	keyEnd, valueStart, hasSep := len(line), len(line), false
	escaped := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !escaped && (c == '=' || c == ':' || isSpace(c)) {
			keyEnd, valueStart, hasSep = i, i+1, c == '=' || c == ':'
			break
		}
		escaped = c == '\\' && !escaped
	}
	for valueStart < len(line) {
		c := line[valueStart]
		if !isSpace(c) {
			if hasSep || (c != '=' && c != ':') {
				break
			}
			hasSep = true
		}
		valueStart++
	}
	return line[:keyEnd], line[valueStart:]
}
