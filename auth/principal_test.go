package auth

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// Kafka's SslPrincipalMapperTest cases and the examples of its docs.
func TestPrincipalRulesKafkaExamples(t *testing.T) {
	r, err := ParsePrincipalRules("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, " +
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L, " +
		"RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U, " +
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, DEFAULT")
	if err != nil {
		t.Fatal(err)
	}
	for dn, want := range map[string]string{
		"CN=Duke,OU=ServiceUsers,O=Org,C=US":        "duke",
		"CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US": "duke@sme",
		"cn=duke,ou=sme,dc=mycp,dc=com":             "DUKE@SME",
		"cN=duke,OU=JavaSoft,O=Sun Microsystems":    "DUKE",
		"OU=JavaSoft,O=Sun Microsystems,C=US":       "OU=JavaSoft,O=Sun Microsystems,C=US",
	} {
		if got, err := r.Name(dn); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", dn, got, err, want)
		}
	}
	r, _ = ParsePrincipalRules(`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`)
	if got, _ := r.Name(`CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz`); got != `Tkac\, Adam` {
		t.Errorf("comma with whitespace: %q", got)
	}
}

func TestPrincipalRulesSplitting(t *testing.T) {
	for in, want := range map[string]string{
		"DEFAULT":                        "[DEFAULT]",
		"":                               "[DEFAULT]", // the key's default
		"RULE://":                        "[RULE:/]",
		"RULE:/.*/":                      "[RULE:/.*]",
		"RULE:/.*/L":                     "[RULE:/.*/L]",
		"  RULE:// ,  DEFAULT  ":         "[RULE:/, DEFAULT]",
		"  RULE:   /     / ,  DEFAULT  ": "[RULE:   /     , DEFAULT]",
		"  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  ": "[RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT]",
		",   , , ,      , , ,   ":                                "[]",
		",,RULE://,,,DEFAULT,,":                                  "[RULE:/, DEFAULT]",
		`RULE:\/\\\(\)\n\t/\/\//`:                                `[RULE:\/\\\(\)\n\t/\/\/]`,
		`RULE:\**\/+/*/L,RULE:\/*\**/**/`:                        `[RULE:\**\/+/*/L, RULE:\/*\**/**]`,
		`RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT`: `[RULE:,RULE:,/,RULE:,\//U, RULE:,/RULE:,, RULE:,RULE:,/L,RULE:,/L, RULE:, DEFAULT, /DEFAULT, DEFAULT]`,
	} {
		r, err := ParsePrincipalRules(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := r.String(); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

func TestPrincipalRulesInvalid(t *testing.T) {
	for _, in := range []string{
		"default", "DEFAUL", "DEFAULT/L", "DEFAULT/U",
		"RULE:CN=(.*?),OU=ServiceUsers.*/$1", "rule:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U", "RULE:^CN=(.*?),OU=ServiceUsers.*$/L",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/U", "RULE:^CN=(.*?),OU=ServiceUsers.*$/LU",
		// Beyond Kafka's list: what Go's regexp cannot compile.
		"RULE:^CN=(.*/$1/", `RULE:^CN=(\w+)\1$/$1/`, "RULE:^CN=(?=x)/$1/",
	} {
		if r, err := ParsePrincipalRules(in); err == nil {
			t.Errorf("%q accepted as %s", in, r)
		}
	}
}

func TestPrincipalRulesReplacement(t *testing.T) {
	for _, tc := range []struct{ rule, dn, want string }{
		{"RULE:^CN=(.*?),O=(.*)$/$2-$1/", "CN=a,O=b", "b-a"},
		{"RULE:^CN=(.*?),O=(.*)$/$12/", "CN=a,O=b", "a2"},  // $12 is group 1 then '2'
		{"RULE:^CN=(.*?),O=(.*)$/$3x/", "CN=a,O=b", "$3x"}, // no group 3: Kafka makes it literal
		{"RULE:^CN=(.*?),O=(.*)$/$0/", "CN=a,O=b", "CN=a,O=b"},
		{`RULE:^CN=(.*?),O=(.*)$/\$1 \\/`, "CN=a,O=b", `$1 \`},
		{"RULE:CN=([^,]*)/$1/", "CN=a", "a"},
		{"RULE:^CN=(X)?(.*)$/[$1]$2/", "CN=y", "[]y"}, // an unset group is empty
	} {
		r, err := ParsePrincipalRules(tc.rule)
		if err != nil {
			t.Errorf("%s: %v", tc.rule, err)
			continue
		}
		if got, err := r.Name(tc.dn); err != nil || got != tc.want {
			t.Errorf("%s on %s: %q %v, want %q", tc.rule, tc.dn, got, err, tc.want)
		}
	}
	// A replacement Java cannot apply is accepted, as Kafka accepts it,
	// and fails only the names its rule applies to.
	for _, rule := range []string{"RULE:^CN=.*$/$1/", "RULE:^CN=(.*)$/$/", "RULE:^CN=(.*)$/$x/"} {
		r, err := ParsePrincipalRules(rule + ",DEFAULT")
		if err != nil {
			t.Errorf("%s refused: %v", rule, err)
			continue
		}
		if _, err := r.Name("CN=a"); err == nil {
			t.Errorf("%s applied to CN=a", rule)
		}
		if got, err := r.Name("O=b"); err != nil || got != "O=b" {
			t.Errorf("%s on O=b: %q %v", rule, got, err)
		}
	}
	// Java's replaceAll keeps the empty match after a whole one.
	r, _ := ParsePrincipalRules("RULE:(.*)/x/,RULE:^(.*)$/y/")
	if got, _ := r.Name("CN=a"); got != "xx" {
		t.Errorf("RULE:(.*)/x/ gave %q, Kafka gives xx", got)
	}
	r, _ = ParsePrincipalRules("RULE:^CN=admin$/root/")
	if _, err := r.Name("CN=alice"); err == nil || err.Error() != "No rules apply to CN=alice, rules [RULE:^CN=admin$/root]" {
		t.Errorf("no rule applies: %v", err)
	}
}

func TestRFC2253(t *testing.T) {
	emailOID := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	dcOID := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	for _, tc := range []struct {
		name pkix.RDNSequence
		want string
	}{
		{pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"eng"}, Organization: []string{"acme"}}.ToRDNSequence(),
			"CN=alice,OU=eng,O=acme"},
		{pkix.Name{CommonName: `a,b+c=d"e\f<g>h;i#j`}.ToRDNSequence(), `CN=a\,b\+c\=d\"e\\f\<g\>h\;i\#j`},
		{pkix.Name{CommonName: "  padded "}.ToRDNSequence(), `CN=\ \ padded\ `},
		{pkix.Name{CommonName: "ünï"}.ToRDNSequence(), "CN=ünï"},
		{pkix.RDNSequence{
			{{Type: dcOID, Value: "com"}},
			{{Type: dcOID, Value: "example"}},
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "bob"}, {Type: emailOID, Value: "b@x"}},
		}, "CN=bob+1.2.840.113549.1.9.1=#0c03624078,DC=example,DC=com"},
		{pkix.Name{SerialNumber: "42"}.ToRDNSequence(), "2.5.4.5=#13023432"},
	} {
		der, err := asn1.Marshal(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := RFC2253(der); err != nil || got != tc.want {
			t.Errorf("got %q %v, want %q", got, err, tc.want)
		}
	}
	for _, bad := range [][]byte{nil, {0x30}, {0x30, 0x03, 0x31, 0x01, 0x00}, {0x04, 0x00}} {
		if got, err := RFC2253(bad); err == nil {
			t.Errorf("%x parsed as %q", bad, got)
		}
	}
}

func TestFromCert(t *testing.T) {
	ca := newTestCA(t, "test-ca")
	_, _, cert := ca.issue(t, pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"eng"}, Organization: []string{"acme"}})
	r, _ := ParsePrincipalRules("")
	if p, err := r.FromCert(cert); err != nil || p != User("CN=alice,OU=eng,O=acme") {
		t.Fatalf("DEFAULT: %v %v", p, err)
	}
	r, _ = ParsePrincipalRules("RULE:^CN=([^,]*),OU=eng.*$/$1/U")
	if p, err := r.FromCert(cert); err != nil || p != User("ALICE") {
		t.Fatalf("rule: %v %v", p, err)
	}
}

func FuzzPrincipalRules(f *testing.F) {
	f.Add("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT", "CN=Duke,OU=ServiceUsers,O=Org,C=US")
	f.Add(`RULE:\/*\**/**/,RULE:([A-Z]*)/$1$2$10\$/U`, "ABC")
	f.Add(",,RULE://,,,DEFAULT,,", "")
	f.Fuzz(func(t *testing.T, rules, dn string) {
		r, err := ParsePrincipalRules(rules)
		if err != nil {
			return
		}
		name, err := r.Name(dn)
		if err == nil && len(r.rules) == 0 {
			t.Fatalf("no rules mapped %q to %q", dn, name)
		}
	})
}
