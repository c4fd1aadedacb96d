package auth

import (
	"maps"
	"testing"
)

func TestParseJAAS(t *testing.T) {
	const plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
	for _, tc := range []struct {
		in      string
		module  string
		flag    string
		options map[string]string
	}{
		{plain + ` required user_admin="admin-secret" user_alice="alice-secret";`, plain, "required",
			map[string]string{"user_admin": "admin-secret", "user_alice": "alice-secret"}},
		{"  " + plain + "\n\tREQUIRED\n username=admin password=x;  ", plain, "required",
			map[string]string{"username": "admin", "password": "x"}},
		{`m Sufficient a='single' b="with \"quotes\" and \\ and \t" c=bare-word.1;`, "m", "sufficient",
			map[string]string{"a": "single", "b": "with \"quotes\" and \\ and \t", "c": "bare-word.1"}},
		{`m optional;`, "m", "optional", map[string]string{}},
		{`m ſufficient;`, "m", "sufficient", map[string]string{}}, // Java's toUpperCase makes it SUFFICIENT
		{`m requisite k = "v" ;`, "m", "requisite", map[string]string{"k": "v"}},
		{`m required k="";`, "m", "required", map[string]string{"k": ""}},
		{`m required k=a k=b;`, "m", "required", map[string]string{"k": "b"}},
		{`m required k=_x$-1.2.3 user_admin="1" ü=ÿ;`, "m", "required", map[string]string{"k": "_x$-1.2.3", "user_admin": "1", "ü": "ÿ"}},
		{`m required /* a comment */ k=v; // and one to the end`, "m", "required", map[string]string{"k": "v"}},
		{"m required k=v /lone slash comment\n;", "m", "required", map[string]string{"k": "v"}},
		{`m required k="\101\7\08";`, "m", "required", map[string]string{"k": "A\a\x008"}},
		{`m required k="ünïcødé ☃";`, "m", "required", map[string]string{"k": "ünïcødé ☃"}},
		{`"quoted.Module" required k=v;`, "quoted.Module", "required", map[string]string{"k": "v"}},
		{"m required k=\"unterminated\n;", "m", "required", map[string]string{"k": "unterminated"}},
	} {
		j, err := ParseJAAS(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if j.LoginModule != tc.module || j.Flag != tc.flag || !maps.Equal(j.Options, tc.options) {
			t.Errorf("%q: got %+v", tc.in, j)
		}
	}
}

func TestParseJAASErrors(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"", "Login module not specified in JAAS config"},
		{"  /* only a comment */ ", "Login module not specified in JAAS config"},
		{"m", "Login module control flag not specified in JAAS config"},
		{"m ;", "Login module control flag is not available in the JAAS config"},
		{"m mandatory;", "Invalid login module control flag 'mandatory' in JAAS config"},
		{"m required", "JAAS config entry not terminated by semi-colon"},
		{"m required k=v", "JAAS config entry not terminated by semi-colon"},
		{"m required k;", "Value not specified for key 'k' in JAAS config"},
		{"m required k=;", "Value not specified for key 'k' in JAAS config"},
		{"m required k=", "Value not specified for key 'k' in JAAS config"},
		{"m required k==;", "Value not specified for key 'k' in JAAS config"},
		{"m required k v;", "Value not specified for key 'k' in JAAS config"},
		{"m required =v;", "Value not specified for key 'null' in JAAS config"},
		{"m required 1=v;", "Option name not specified in JAAS config"},
		{"m required k=1abc;", "Value not specified for key 'k' in JAAS config"}, // a number: Kafka needs quotes
		{"m required k=-x;", "Value not specified for key 'k' in JAAS config"},
		{"m required k=.5;", "Value not specified for key 'k' in JAAS config"},
		{"m required k=a~b;", "Value not specified for key 'null' in JAAS config"},
		{"m required k=a\\b;", "Value not specified for key 'null' in JAAS config"},
		{"m 1;", "Login module control flag is not available in the JAAS config"},
		{"1 required;", "Login module class not specified in JAAS config"},
		{"; required;", "Login module class not specified in JAAS config"},
		{`"" required;`, "Login module class not specified in JAAS config"},
		{"a required; b optional;", "JAAS config property contains 2 login modules, should be 1 module"},
		{"m required k=v /* unterminated comment ;", "JAAS config entry not terminated by semi-colon"},
		{"m required k=\u0085;", "Value not specified for key 'k' in JAAS config"},
	} {
		_, err := ParseJAAS(tc.in)
		if err == nil || err.Error() != tc.err {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestPlainUsers(t *testing.T) {
	j, err := ParseJAAS(`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_bob="b";`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"admin": "admin-secret", "bob": "b"}
	if got := j.PlainUsers(); !maps.Equal(got, want) {
		t.Fatalf("PlainUsers %v, want %v", got, want)
	}
	j.LoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
	if got := j.PlainUsers(); len(got) != 0 {
		t.Fatalf("users from a SCRAM module: %v", got)
	}
}

func FuzzParseJAAS(f *testing.F) {
	f.Add(`org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";`)
	f.Add(`m required a='x\'y' b="\101\n" /* c */ d=e; // f`)
	f.Add("m required k=\"\\")
	f.Add("/")
	f.Fuzz(func(t *testing.T, s string) {
		j, err := ParseJAAS(s)
		if err != nil {
			return
		}
		if j.LoginModule == "" || j.Options == nil {
			t.Fatalf("%q parsed to %+v", s, j)
		}
		switch j.Flag {
		case "required", "requisite", "sufficient", "optional":
		default:
			t.Fatalf("%q: flag %q", s, j.Flag)
		}
	})
}
