package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestParseAddConfig follows ConfigCommand.parseConfigsToBeAdded: commas
// and '=' inside brackets belong to the value, the brackets go, the last
// of a repeated key wins, and a malformed entry is Kafka's error.
func TestParseAddConfig(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want [][2]string
		err  string
	}{
		{"retention.ms=1000", [][2]string{{"retention.ms", "1000"}}, ""},
		{" a = 1 ,b=2,", [][2]string{{"a", "1"}, {"b", "2"}}, ""},
		{"SCRAM-SHA-256=[iterations=8192,password=a,b=c],SCRAM-SHA-512=[password=x]",
			[][2]string{{"SCRAM-SHA-256", "iterations=8192,password=a,b=c"}, {"SCRAM-SHA-512", "password=x"}}, ""},
		{"follower.replication.throttled.replicas=[0:1,1:2]", [][2]string{{"follower.replication.throttled.replicas", "0:1,1:2"}}, ""},
		{"ssl.endpoint.identification.algorithm=", [][2]string{{"ssl.endpoint.identification.algorithm", ""}}, ""},
		{"a=1,a=2", [][2]string{{"a", "2"}}, ""},
		{"", nil, ""},
		{"a=b=c", nil, "Invalid entity config"},
		{"novalue", nil, "Invalid entity config"},
		{"a=1,,b=2", nil, "Invalid entity config"},
		{"a b=1", nil, "Invalid character found for config key: a b"},
	} {
		got, err := parseAddConfig(tt.in)
		var ae argumentError
		switch {
		case tt.err != "" && (err == nil || !errors.As(err, &ae) || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("parseAddConfig(%q): %v, want an argument error with %q", tt.in, err, tt.err)
		case tt.err == "" && (err != nil || !slices.Equal(got, tt.want)):
			t.Errorf("parseAddConfig(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestParseScramCredential follows ConfigCommand's credential pattern and
// its default and minimum of 4096 iterations.
func TestParseScramCredential(t *testing.T) {
	for _, tt := range []struct {
		in         string
		iterations int32
		password   string
		err        string
	}{
		{"iterations=8192,password=alice-secret", 8192, "alice-secret", ""},
		{"password=p=w,x", 4096, "p=w,x", ""},
		{"iterations=-1,password=p", 4096, "p", ""},
		{"password=", 4096, "", ""},
		{"iterations=100,password=p", 0, "", "Iterations 100 is less than the minimum 4096 required for SCRAM-SHA-256"},
		{"iterations=,password=p", 0, "", `For input string: ""`},
		{"iterations=99999999999,password=p", 0, "", `For input string: "99999999999"`},
		{"iterations=8192", 0, "", "Invalid credential property SCRAM-SHA-256=iterations=8192"},
		{"password=p,iterations=8192", 4096, "p,iterations=8192", ""},
	} {
		it, pw, err := parseScramCredential("SCRAM-SHA-256", tt.in)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%q: %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && (err != nil || it != tt.iterations || pw != tt.password):
			t.Errorf("%q = %d, %q, %v; want %d, %q", tt.in, it, pw, err, tt.iterations, tt.password)
		}
	}
}

// TestUserConfigErrors checks what kafka-configs.sh refuses for users
// before it connects: one line on standard error, exit 1.
func TestUserConfigErrors(t *testing.T) {
	base := []string{"configs", "--bootstrap-server", "x:1", "--entity-type", "users"}
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--alter", "--add-config", "SCRAM-SHA-256=[password=x]"}, "An entity name must be specified for every entity type"},
		{[]string{"--alter", "--entity-name", "a", "--add-config", "SCRAM-SHA-1=[password=x]"}, "Unexpected config names: SCRAM-SHA-1"},
		{[]string{"--alter", "--entity-name", "a", "--delete-config", "retention.ms"}, "can be deleted for 'users' using --bootstrap-server. Unexpected config names: retention.ms"},
		{[]string{"--alter", "--entity-name", "a", "--add-config", "producer_byte_rate=1024"}, "User quotas"},
		{[]string{"--alter", "--entity-name", "a", "--add-config", "SCRAM-SHA-512=[iterations=4095,password=x]"}, "Iterations 4095 is less than the minimum 4096 required for SCRAM-SHA-512"},
	} {
		code, out, stderr := runCLI(append(slices.Clone(base), tt.args...)...)
		if code != 1 || out != "" || !strings.Contains(stderr, tt.msg) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and a line with %q", strings.Join(tt.args, " "), code, out, stderr, tt.msg)
		}
	}
}

// FuzzParseAddConfig feeds --add-config values, the parser that reads
// passwords and throttled-replica lists: it never panics, and what it
// accepts has keys of Kafka's characters and values without brackets.
func FuzzParseAddConfig(f *testing.F) {
	for _, seed := range []string{"a=1", "SCRAM-SHA-256=[iterations=8192,password=x]", "a=[1,2],b=[", "]=[", "a=1,,", "=", ",", "[,=]", "a=]]]"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kvs, err := parseAddConfig(s)
		var ae argumentError
		if err != nil && !errors.As(err, &ae) {
			t.Fatalf("%q: %v is not an argument error", s, err)
		}
		for _, kv := range kvs {
			if strings.Trim(kv[0], "$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" || strings.ContainsAny(kv[1], "[]") {
				t.Fatalf("%q gave %q", s, kv)
			}
		}
	})
}

// FuzzParseScramCredential feeds SCRAM credential values: a value is
// either refused with an argument error, or gives at least Kafka's
// minimum of iterations and a password the value ends with.
func FuzzParseScramCredential(f *testing.F) {
	for _, seed := range []string{"iterations=8192,password=x", "password=", "iterations=-1,password=p", "iterations=,password=p",
		"iterations=99999999999,password=p", "iterations=8192", "password=p,iterations=1", "iterations=-0,password=\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		it, pw, err := parseScramCredential("SCRAM-SHA-512", s)
		var ae argumentError
		switch {
		case err != nil && !errors.As(err, &ae):
			t.Fatalf("%q: %v is not an argument error", s, err)
		case err == nil && (it < scramMinIterations || !strings.HasSuffix(s, "password="+pw)):
			t.Fatalf("%q gave %d iterations, password %q", s, it, pw)
		}
	})
}
