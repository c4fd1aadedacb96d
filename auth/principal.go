package auth

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// PrincipalRules are ssl.principal.mapping.rules: how the subject of a
// client certificate becomes a principal name, as Kafka's
// SslPrincipalMapper applies them. The zero value has no rules and maps
// nothing; ParsePrincipalRules("") is Kafka's default, "DEFAULT".
type PrincipalRules struct {
	rules []principalRule
}

// String lists the rules as Kafka's SslPrincipalMapper.toString does,
// e.g. "[RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT]".
func (r PrincipalRules) String() string {
	texts := make([]string, len(r.rules))
	for i, rule := range r.rules {
		texts[i] = rule.text
	}
	return "[" + strings.Join(texts, ", ") + "]"
}

// principalRule is DEFAULT (pattern nil: the DN unchanged) or
// RULE:pattern/replacement/[LU].
type principalRule struct {
	text        string         // as Kafka's Rule.toString writes it
	pattern     *regexp.Regexp // as written, for the replacement
	whole       *regexp.Regexp // anchored: the rule applies if the DN matches it whole
	after       *regexp.Regexp // the pattern one character into the text; see javaMatches
	replacement []replacementPart
	replErr     error // a replacement Java fails on when the rule applies
	lower       bool
	upper       bool
}

// Kafka's grammar of the rules, in Java's regex words where Go's differ:
// Java's \s has \x0B, and Java's '.' stops at every line terminator.
const (
	javaSpace   = `[ \t\n\x0B\f\r]`
	javaDot     = `[^\n\r\x{85}\x{2028}\x{2029}]`
	rulePattern = `(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?)` + javaDot + `*?|(` + javaDot + `*?)`
)

var (
	ruleSplitter = regexp.MustCompile(javaSpace + `*(` + rulePattern + `)` + javaSpace + `*(,` + javaSpace + `*|$)`)
	ruleParser   = regexp.MustCompile(`^(?:` + rulePattern + `)`)
)

// ParsePrincipalRules parses ssl.principal.mapping.rules. The patterns
// are compiled by Go's regexp (RE2), so Java's back-references and
// look-arounds are refused. A replacement Java cannot apply ("$2" with no
// groups, a trailing '\\') is accepted, as Kafka accepts it, and fails
// the connections the rule applies to, as Kafka's does.
func ParsePrincipalRules(s string) (PrincipalRules, error) {
	if s == "" {
		s = "DEFAULT"
	}
	var r PrincipalRules
	trimmed := strings.TrimFunc(s, func(c rune) bool { return c <= ' ' })
	for _, m := range ruleSplitter.FindAllStringSubmatch(trimmed, -1) {
		rule, ok, err := parseRule(m[1])
		if err != nil {
			return PrincipalRules{}, err
		}
		if ok {
			r.rules = append(r.rules, rule)
		}
	}
	return r, nil
}

// parseRule parses one rule; ok is false for an empty one, which Kafka
// ignores.
func parseRule(s string) (principalRule, bool, error) {
	m := ruleParser.FindStringSubmatchIndex(s)
	if m[1] != len(s) {
		return principalRule{}, false, fmt.Errorf("Invalid rule: `%s`, unmatched substring: `%s`", s, s[m[1]:])
	}
	group := func(i int) (string, bool) {
		if m[2*i] < 0 {
			return "", false
		}
		return s[m[2*i]:m[2*i+1]], true
	}
	if _, ok := group(1); ok {
		return principalRule{text: "DEFAULT"}, true, nil
	}
	pat, ok := group(2)
	if !ok {
		return principalRule{}, false, nil
	}
	repl, _ := group(4)
	flag, _ := group(6)
	rule := principalRule{text: "RULE:" + pat + "/" + repl, lower: flag == "L", upper: flag == "U"}
	if flag != "" {
		rule.text += "/" + flag
	}
	var err error
	if rule.pattern, err = regexp.Compile(pat); err != nil {
		return principalRule{}, false, fmt.Errorf("Invalid rule: `%s`: %v", s, err)
	}
	rule.whole = regexp.MustCompile(`^(?:` + pat + `)$`)
	rule.after = regexp.MustCompile(`\A(?s:.)(?:` + pat + `)`)
	rule.replacement, rule.replErr = parseReplacement(repl, rule.pattern.NumSubexp())
	return rule, true, nil
}

// replacementPart is literal text, or a group reference when group >= 0.
type replacementPart struct {
	text  string
	group int
}

// parseReplacement reads a Java replacement string (Matcher.replaceAll)
// after Kafka's own step: a $N naming more groups than the pattern has is
// literal text. Java reads $ and then as many digits as still name a
// group, and takes '\' as quoting the next character.
func parseReplacement(s string, groups int) ([]replacementPart, error) {
	var parts []replacementPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, replacementPart{text: lit.String(), group: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("character to be escaped is missing")
			}
			i++
			lit.WriteByte(s[i])
		case c == '$':
			g, n, literal, err := groupRef(s[i+1:], groups)
			if err != nil {
				return nil, err
			}
			if literal {
				lit.WriteByte('$')
				continue
			}
			flush()
			parts = append(parts, replacementPart{group: g})
			i += n
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return parts, nil
}

// groupRef reads the group number after a '$': n digits naming group g,
// or literal when Kafka turns the '$' into text.
func groupRef(s string, groups int) (g, n int, literal bool, err error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, 0, false, fmt.Errorf("Illegal group reference")
	}
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	if groups > 0 && s[0] != '0' {
		// Kafka (escapeLiteralBackReferences): cut the number until it
		// names a group, but not below one digit; if it still names none,
		// the '$' is literal.
		v, _ := strconv.Atoi(s[:min(digits, 9)])
		for v > groups && v >= 10 {
			v /= 10
		}
		if v > groups {
			return 0, 0, true, nil
		}
	}
	g = int(s[0] - '0')
	if g > groups {
		return 0, 0, false, fmt.Errorf("No group %d", g)
	}
	n = 1
	for ; n < digits; n++ {
		next := g*10 + int(s[n]-'0')
		if next > groups {
			break
		}
		g = next
	}
	return g, n, false, nil
}

// apply is Rule.apply: the rule applies when the DN matches its pattern
// whole; the name is then the DN with every match replaced.
func (r principalRule) apply(dn string) (string, bool, error) {
	if r.pattern == nil {
		return dn, true, nil
	}
	if !r.whole.MatchString(dn) {
		return "", false, nil
	}
	if r.replErr != nil {
		return "", true, fmt.Errorf("rule %s: %w", r.text, r.replErr)
	}
	var b strings.Builder
	last := 0
	for _, m := range r.javaMatches(dn) {
		b.WriteString(dn[last:m[0]])
		for _, p := range r.replacement {
			if p.group < 0 {
				b.WriteString(p.text)
			} else if m[2*p.group] >= 0 {
				b.WriteString(dn[m[2*p.group]:m[2*p.group+1]])
			}
		}
		last = m[1]
	}
	b.WriteString(dn[last:])
	name := b.String()
	switch {
	case r.lower:
		name = strings.ToLower(name)
	case r.upper:
		name = strings.ToUpper(name)
	}
	return name, true, nil
}

// javaMatches are the matches Java's replaceAll replaces. Go's
// FindAll drops an empty match that abuts the match before it; Java keeps
// it (so Kafka turns "CN=a" into "xx" by RULE:(.*)/x/). Such a match is
// there when the pattern's preferred match at the end b of a non-empty
// match is empty; r.after finds that preferred match with the character
// before b in view, so that ^, \b and the like see their real context.
func (r principalRule) javaMatches(dn string) [][]int {
	var out [][]int
	for _, m := range r.pattern.FindAllStringSubmatchIndex(dn, -1) {
		out = append(out, m)
		b := m[1]
		if b == m[0] {
			continue
		}
		_, size := utf8.DecodeLastRuneInString(dn[:b])
		e := r.after.FindStringSubmatchIndex(dn[b-size:])
		if e == nil || e[1] != size {
			continue // no match at b, or a non-empty one Go has too
		}
		for i := range e {
			if e[i] >= 0 {
				e[i] += b - size
			}
		}
		e[0] = b
		out = append(out, e)
	}
	return out
}

// Name maps a distinguished name by the first rule that applies, as
// SslPrincipalMapper.getName does.
func (r PrincipalRules) Name(dn string) (string, error) {
	for _, rule := range r.rules {
		if name, ok, err := rule.apply(dn); ok {
			return name, err
		}
	}
	return "", fmt.Errorf("No rules apply to %s, rules %s", dn, r)
}

// FromCert is the principal of a client certificate: its subject's RFC
// 2253 name ("CN=alice,OU=eng,O=acme") mapped by the rules.
func (r PrincipalRules) FromCert(cert *x509.Certificate) (Principal, error) {
	dn, err := RFC2253(cert.RawSubject)
	if err != nil {
		return Principal{}, err
	}
	name, err := r.Name(dn)
	if err != nil {
		return Principal{}, err
	}
	return User(name), nil
}

// dnAttr and rdnSET are an X.500 name as DER has it; encoding/asn1 takes
// a type named ...SET for a SET OF.
type dnAttr struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type rdnSET []dnAttr

// rfc2253Keywords are the only attribute names Java's
// X500Principal.getName(RFC2253) writes; others are dotted OIDs.
var rfc2253Keywords = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
	"2.5.4.11": "OU", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1": "UID",
}

// RFC2253 formats a DER-encoded X.500 name as Java's
// X500Principal.getName(X500Principal.RFC2253) does, which is what
// Kafka's principal rules see: the last RDN first, multi-valued RDNs
// joined by '+', known keywords with string values escaped, and
// everything else as OID=#hex of the DER value.
func RFC2253(rawName []byte) (string, error) {
	var rdns []rdnSET
	rest, err := asn1.Unmarshal(rawName, &rdns)
	if err != nil || len(rest) > 0 {
		return "", fmt.Errorf("certificate subject is not a DER name: %v", err)
	}
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i < len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, a := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			writeAVA(&b, a)
		}
	}
	return b.String(), nil
}

func writeAVA(b *strings.Builder, a dnAttr) {
	keyword, known := rfc2253Keywords[a.Type.String()]
	s, isString := derString(a.Value)
	if !known || !isString {
		if !known {
			keyword = a.Type.String()
		}
		b.WriteString(keyword + "=#" + hex.EncodeToString(a.Value.FullBytes))
		return
	}
	b.WriteString(keyword + "=")
	b.WriteString(escapeRFC2253(s))
}

// derString decodes the string types Java prints as text.
func derString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return "", false
	}
	switch v.Tag {
	case asn1.TagPrintableString, asn1.TagUTF8String, asn1.TagIA5String, asn1.TagGeneralString:
		return strings.ToValidUTF8(string(v.Bytes), "\uFFFD"), true
	case asn1.TagT61String: // Java reads it as ISO-8859-1
		r := make([]rune, len(v.Bytes))
		for i, c := range v.Bytes {
			r[i] = rune(c)
		}
		return string(r), true
	case asn1.TagBMPString:
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// escapeRFC2253 escapes a value as Java's AVA.toRFC2253String does: a
// backslash before ,=+<>#;"\ anywhere and before leading and trailing
// blanks, and NUL as \00.
func escapeRFC2253(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case strings.ContainsRune(`,=+<>#;"\`, c):
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == 0:
			b.WriteString(`\00`)
		default:
			b.WriteRune(c)
		}
	}
	esc := []rune(b.String())
	isBlank := func(c rune) bool { return c == ' ' || c == '\r' }
	lead := 0
	for lead < len(esc) && isBlank(esc[lead]) {
		lead++
	}
	trail := len(esc) - 1
	for trail >= 0 && isBlank(esc[trail]) {
		trail--
	}
	b.Reset()
	for i, c := range esc {
		if i < lead || i > trail {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
