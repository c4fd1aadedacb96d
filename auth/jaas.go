package auth

import (
	"errors"
	"fmt"
	"strings"
)

// JAAS is one login module entry of a sasl.jaas.config value, e.g.
// `org.apache.kafka.common.security.plain.PlainLoginModule required
// user_admin="secret";`.
type JAAS struct {
	LoginModule string
	Flag        string // required, requisite, sufficient or optional
	Options     map[string]string
}

// plainLoginModule is the class name Kafka's PLAIN users are read from.
const plainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"

// ParseJAAS parses a sasl.jaas.config value as Kafka 4.4's JaasConfig
// does:
//
//	<loginModuleClass> <controlFlag> (<optionName>=<optionValue>)*;
//
// with the tokens of java.io.StreamTokenizer in its default syntax plus
// what JaasConfig adds: words are letters, '_', '$' and bytes 160..255
// (and any character from 256 up), continued by digits, '.' and '-';
// values are words or single- or double-quoted strings with Java escapes;
// a token starting with a digit, '.' or '-' is a number, which is no
// value at all (so k=1abc is refused, as in Kafka: quote it); bytes
// 0..32 are blanks; '/' starts a comment (//, /* */, or a lone '/' to the
// end of the line); every other character stands alone. More than one
// entry is refused, as Kafka refuses it for this key. Error texts are
// Kafka's.
func ParseJAAS(s string) (JAAS, error) {
	tz := &jaasTokenizer{in: []rune(s)}
	var entries []JAAS
	nullName := false
	for tok := tz.next(); tok.kind != tokEOF; tok = tz.next() {
		e, null, err := parseJAASEntry(tz, tok)
		if err != nil {
			return JAAS{}, err
		}
		entries, nullName = append(entries, e), nullName || null
	}
	switch {
	case len(entries) == 0:
		return JAAS{}, errors.New("Login module not specified in JAAS config")
	case len(entries) > 1:
		return JAAS{}, fmt.Errorf("JAAS config property contains %d login modules, should be 1 module", len(entries))
	case nullName:
		// Kafka keeps an option named by a number or a lone character
		// under a null name that no login module reads: a mistake worth
		// refusing, after all of Kafka's own checks.
		return JAAS{}, errors.New("Option name not specified in JAAS config")
	}
	return entries[0], nil
}

// parseJAASEntry parses one entry after its first token; nullName says an
// option had no name.
func parseJAASEntry(tz *jaasTokenizer, module jaasToken) (e JAAS, nullName bool, err error) {
	flag := tz.next()
	if flag.kind == tokEOF {
		return JAAS{}, false, errors.New("Login module control flag not specified in JAAS config")
	}
	if !flag.hasText {
		return JAAS{}, false, errors.New("Login module control flag is not available in the JAAS config")
	}
	// Java compares the upper case, in which "ſ" is "S" and "ı" is "I".
	switch f := strings.ToUpper(flag.text); f {
	case "REQUIRED", "REQUISITE", "SUFFICIENT", "OPTIONAL":
		e = JAAS{LoginModule: module.text, Flag: strings.ToLower(f), Options: map[string]string{}}
	default:
		return JAAS{}, false, fmt.Errorf("Invalid login module control flag '%s' in JAAS config", flag.text)
	}
	tok := tz.next()
	for ; tok.kind != tokEOF && !tok.is(';'); tok = tz.next() {
		key := tok.textOrNull()
		if !tz.next().is('=') {
			return JAAS{}, false, fmt.Errorf("Value not specified for key '%s' in JAAS config", key)
		}
		value := tz.next()
		if value.kind == tokEOF || !value.hasText {
			return JAAS{}, false, fmt.Errorf("Value not specified for key '%s' in JAAS config", key)
		}
		if !tok.hasText {
			nullName = true
			continue
		}
		e.Options[key] = value.text
	}
	if !tok.is(';') {
		return JAAS{}, false, errors.New("JAAS config entry not terminated by semi-colon")
	}
	if !module.hasText || module.text == "" {
		// Checked last, as Java's AppConfigurationEntry does.
		return JAAS{}, false, errors.New("Login module class not specified in JAAS config")
	}
	return e, nullName, nil
}

// PlainUsers are the user_<name>="<password>" options of a
// PlainLoginModule entry: the users a PLAIN listener accepts.
func (j JAAS) PlainUsers() map[string]string {
	users := map[string]string{}
	if j.LoginModule != plainLoginModule {
		return users
	}
	for k, v := range j.Options {
		if name, ok := strings.CutPrefix(k, "user_"); ok {
			users[name] = v
		}
	}
	return users
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokWord
	tokQuoted
	tokNumber
	tokChar // a character that stands alone: ';', '=', '-', '+', ...
)

type jaasToken struct {
	kind    tokenKind
	char    rune // for tokChar
	text    string
	hasText bool // StreamTokenizer's sval != null: a word or a quoted string
}

func (t jaasToken) is(c rune) bool { return t.kind == tokChar && t.char == c }

// textOrNull is the token's text as Java would print its sval.
func (t jaasToken) textOrNull() string {
	if !t.hasText {
		return "null"
	}
	return t.text
}

// jaasTokenizer is java.io.StreamTokenizer with JaasConfig's syntax. It
// works on runes where Java works on UTF-16 units; both class every
// character from 256 up as a word character, so the tokens are the same.
type jaasTokenizer struct {
	in []rune
	i  int
}

const eof = -1

func (z *jaasTokenizer) read() rune {
	if z.i >= len(z.in) {
		z.i++ // so that unread after EOF stays at EOF
		return eof
	}
	z.i++
	return z.in[z.i-1]
}

func (z *jaasTokenizer) unread() { z.i-- }

type charClass int

const (
	classOrdinary charClass = iota
	classBlank
	classWord   // starts and continues a word
	classNumber // starts a number, continues a word: digits, '.', '-'
	classQuote
	classComment
)

func classOf(c rune) charClass {
	switch {
	case c >= 256:
		return classWord
	case c >= 0 && c <= ' ':
		return classBlank
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '$', c >= 160:
		return classWord
	case c >= '0' && c <= '9', c == '.', c == '-':
		return classNumber
	case c == '/':
		return classComment
	case c == '"' || c == '\'':
		return classQuote
	}
	return classOrdinary
}

func (z *jaasTokenizer) next() jaasToken {
	c := z.read()
	for c != eof && classOf(c) == classBlank {
		c = z.read()
	}
	if c == eof {
		return jaasToken{kind: tokEOF}
	}
	switch classOf(c) {
	case classNumber:
		return z.number(c)
	case classWord:
		var b strings.Builder
		for ; c != eof && (classOf(c) == classWord || classOf(c) == classNumber); c = z.read() {
			b.WriteRune(c)
		}
		z.unread()
		return jaasToken{kind: tokWord, text: b.String(), hasText: true}
	case classQuote:
		return jaasToken{kind: tokQuoted, char: c, text: z.quoted(c), hasText: true}
	case classComment:
		z.comment()
		return z.next()
	}
	return jaasToken{kind: tokChar, char: c}
}

// number reads what Java's parseNumbers reads: an optional '-', digits
// and at most one '.'. A '-' with no digit or '.' after it stands alone.
// The value does not matter here: a number is never a name or a value.
func (z *jaasTokenizer) number(c rune) jaasToken {
	if c == '-' {
		c = z.read()
		if c != '.' && (c < '0' || c > '9') {
			z.unread()
			return jaasToken{kind: tokChar, char: '-'}
		}
	}
	dot := false
	for ; c == '.' && !dot || c >= '0' && c <= '9'; c = z.read() {
		dot = dot || c == '.'
	}
	z.unread()
	return jaasToken{kind: tokNumber}
}

// quoted reads a quoted string after its opening quote q. As in Java it
// ends at the closing quote, at a line end (left unread) or at EOF.
func (z *jaasTokenizer) quoted(q rune) string {
	var b strings.Builder
	d := z.read()
	for d != eof && d != q && d != '\n' && d != '\r' {
		var c rune
		if d == '\\' {
			c, d = z.escape()
		} else {
			c, d = d, z.read()
		}
		b.WriteRune(c)
	}
	if d != q {
		z.unread()
	}
	return b.String()
}

// escape reads what follows a backslash in a quoted string: an octal
// escape of up to three digits (the first at most 3 for three), a C-style
// letter, or the character itself. It returns the character and the one
// read after it.
func (z *jaasTokenizer) escape() (c, after rune) {
	c = z.read()
	first := c
	if c >= '0' && c <= '7' {
		c -= '0'
		d := z.read()
		if d < '0' || d > '7' {
			return c, d
		}
		c = c<<3 + d - '0'
		d = z.read()
		if d < '0' || d > '7' || first > '3' {
			return c, d
		}
		return c<<3 + d - '0', z.read()
	}
	switch c {
	case 'a':
		c = 7
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'v':
		c = '\v'
	case eof:
		c = 0xFFFF // Java's (char) -1
	}
	return c, z.read()
}

// comment skips a comment after its '/': "/* ... */", "// ..." to the end
// of the line, or, '/' being JaasConfig's comment character, a lone '/'
// to the end of the line (Java swallows the character after the '/'
// first, even a line end).
func (z *jaasTokenizer) comment() {
	switch z.read() {
	case '*':
		prev := rune(0)
		for c := z.read(); c != '/' || prev != '*'; c = z.read() {
			if c == eof {
				return
			}
			prev = c
		}
		return
	case eof:
		return
	}
	for c := z.read(); c != '\n' && c != '\r' && c != eof; c = z.read() {
	}
	z.unread()
}
