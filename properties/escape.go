package properties

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// unescape resolves the escapes of one key or value as Properties.loadConvert
// does. Bytes outside escapes are copied untouched, so invalid UTF-8 survives
// as it was written.
func unescape(s string) (string, error) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		if i == len(s) {
			break // a lone trailing backslash (continuation at end of input) stands for nothing
		}
		switch s[i] {
		case 'u':
			r, n, err := unicodeEscape(s[i-1:])
			if err != nil {
				return "", err
			}
			b.WriteRune(r) // a lone surrogate becomes U+FFFD
			i += n - 1
		case 't':
			b.WriteByte('\t')
			i++
		case 'n':
			b.WriteByte('\n')
			i++
		case 'r':
			b.WriteByte('\r')
			i++
		case 'f':
			b.WriteByte('\f')
			i++
		default: // \\ \= \: \# \! "\ " and any other character stand for themselves
			_, w := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+w])
			i += w
		}
	}
	return b.String(), nil
}

// unicodeEscape decodes the \uXXXX at the start of s, joining a following
// \uXXXX low surrogate into one rune. It returns the rune and the bytes used.
func unicodeEscape(s string) (rune, int, error) {
	hi, err := hex4(s)
	if err != nil {
		return 0, 0, err
	}
	if utf16.IsSurrogate(hi) && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if lo, err := hex4(s[6:]); err == nil {
			if r := utf16.DecodeRune(hi, lo); r != utf8.RuneError {
				return r, 12, nil
			}
		}
	}
	return hi, 6, nil
}

// hex4 reads the four hex digits of the \uXXXX at the start of s.
func hex4(s string) (rune, error) {
	if len(s) < 6 {
		return 0, fmt.Errorf("malformed \\uXXXX escape %q: needs four hex digits", s)
	}
	var r rune
	for _, c := range []byte(s[2:6]) {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, fmt.Errorf("malformed \\uXXXX escape %q: needs four hex digits", s[:6])
		}
		r = r<<4 | rune(d)
	}
	return r, nil
}

// Line writes key=value so that Parse reads back exactly key and value:
// the escapes of Properties.store (saveConvert), but only where needed, so
// that a value reads as written (listeners=PLAINTEXT://:9092).
func Line(key, value string) string {
	return escape(key, true) + "=" + escape(value, false)
}

// escape writes s as Properties.saveConvert does, but leaves non-ASCII as
// is, writes control characters as \uXXXX, and in a value escapes only
// backslashes, controls and a leading space.
func escape(s string, key bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '=', ':', '#', '!':
			if key { // in a value they stand for themselves
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case ' ':
			if key || i == 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case 0x7f:
			b.WriteString(`\u007F`)
		default:
			if c < 0x20 { // Parse refuses raw control characters
				fmt.Fprintf(&b, `\u%04X`, c)
				continue
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}
