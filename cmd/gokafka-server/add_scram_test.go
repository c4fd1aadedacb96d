package main

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokafka/gokafka/auth"
)

func TestParseAddScram(t *testing.T) {
	salt := base64.StdEncoding.EncodeToString([]byte("fixed-salt"))
	got, err := parseAddScram([]string{
		"SCRAM-SHA-256=[name=admin,password=admin-secret]",
		` SCRAM-SHA-512=[name="admin",iterations=8192,salt="` + salt + `",password=admin-secret] `,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].User != "admin" || got[0].Credential.Mechanism != auth.ScramSHA256 || got[0].Credential.Iterations != 4096 ||
		len(got[0].Credential.Salt) == 0 {
		t.Fatalf("first credential: %+v", got[0])
	}
	want, _ := auth.NewScramCredential(auth.ScramSHA512, []byte("admin-secret"), []byte("fixed-salt"), 8192)
	if got[1].User != "admin" || !bytes.Equal(got[1].Credential.StoredKey, want.StoredKey) || !bytes.Equal(got[1].Credential.ServerKey, want.ServerKey) {
		t.Fatalf("second credential: %+v, want %+v", got[1], want)
	}
	// A salted password gives the same credential as its password.
	hi, err := pbkdf2.Key(sha512.New, "admin-secret", []byte("fixed-salt"), 8192, sha512.Size)
	if err != nil {
		t.Fatal(err)
	}
	salted := base64.StdEncoding.EncodeToString(hi)
	fromSalted, err := parseAddScram([]string{"SCRAM-SHA-512=[name=admin,iterations=8192,salt=" + salt + ",saltedpassword=" + salted + "]"})
	if err != nil || !bytes.Equal(fromSalted[0].Credential.StoredKey, want.StoredKey) {
		t.Fatalf("from a salted password: %+v %v", fromSalted, err)
	}
}

func TestParseAddScramRefuses(t *testing.T) {
	for arg, want := range map[string]string{
		"SCRAM-SHA-256":                                            "Failed to find equals sign",
		"SCRAM-SHA-1=[name=a,password=b]":                          "The add-scram mechanism SCRAM-SHA-1 is not supported.",
		"SCRAM-SHA-256=name=a,password=b]":                         "Expected configuration string to start with [",
		"SCRAM-SHA-256=[name=a,password=b":                         "Expected configuration string to end with ]",
		"SCRAM-SHA-256=[":                                          "Expected configuration string to end with ]",
		"SCRAM-SHA-256=[password=b]":                               "You must supply 'name' to add-scram",
		"SCRAM-SHA-256=[name=,password=b]":                         "Username must not be empty",
		"SCRAM-SHA-256=[name=a]":                                   "You must supply one of 'password' or 'saltedpassword' to add-scram",
		"SCRAM-SHA-256=[name=a,saltedpassword=AAAA]":               "You must supply 'salt' with 'saltedpassword' to add-scram",
		"SCRAM-SHA-256=[name=a,password]":                          "No equals sign found in SCRAM component: password",
		"SCRAM-SHA-256=[name=a,password=b,colour=red]":             "Unknown SCRAM configurations: colour",
		"SCRAM-SHA-256=[name=a,password=b,iterations=x]":           "Failed to parse iterations count: x",
		"SCRAM-SHA-256=[name=a,password=b,iterations=4095]":        "The 'iterations' value must be >= 4096 for add-scram using SCRAM-SHA-256",
		"SCRAM-SHA-512=[name=a,password=b,iterations=1e9]":         "Failed to parse iterations count: 1e9",
		"SCRAM-SHA-512=[name=a,password=b,iterations=99999]":       "The 'iterations' value must be <= 16384 for add-scram using SCRAM-SHA-512",
		"SCRAM-SHA-256=[name=a,password=b,salt=!!]":                "Failed to decode given salt: !!",
		"SCRAM-SHA-256=[name=a,salt=c2FsdA==,saltedpassword=AAAA]": "salted password is 3 bytes, want 32",
	} {
		_, err := parseAddScram([]string{arg})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--add-scram") || !strings.Contains(err.Error(), arg) {
			t.Errorf("%s: %v, want %q naming the flag and the value", arg, err, want)
		}
	}
	if _, err := parseAddScram([]string{"SCRAM-SHA-256=[name=a,password=b]", "SCRAM-SHA-256=[name=a,password=c]"}); err == nil {
		t.Error("the same user and mechanism twice was accepted")
	}
}

// format --add-scram writes the credentials, readable by the owner only
// and without the password, into the metadata directory; bad syntax exits
// 1 with a line naming the flag.
func TestFormatAddScram(t *testing.T) {
	dir := t.TempDir()
	props := filepath.Join(dir, "server.properties")
	os.WriteFile(props, []byte(minimal+"log.dirs="+filepath.Join(dir, "logs")+"\n"), 0o644)
	id := "MkU3OEVBNTcwNTJENDM2Qk"
	stderr := captureStderr(t, func() {
		if code := runFormat([]string{"--config", props, "--cluster-id", id, "--add-scram", "SCRAM-SHA-256=[name=admin]"}); code != 1 {
			t.Errorf("bad --add-scram: exit %d", code)
		}
	})
	if !strings.Contains(stderr, "--add-scram") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q: want one line naming --add-scram", stderr)
	}
	if code := runFormat([]string{"--config", props, "--cluster-id", id,
		"--add-scram", "SCRAM-SHA-256=[name=admin,password=admin-secret]", "--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]"}); code != 0 {
		t.Fatalf("format --add-scram: exit %d", code)
	}
	path := filepath.Join(dir, "logs", "__cluster_metadata-0", "bootstrap.json")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, fi, err)
	}
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte("admin-secret")) || !bytes.Contains(b, []byte(`"User":"admin"`)) {
		t.Fatalf("bootstrap file: %s", b)
	}
}

func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = old }()
	f()
	w.Close()
	out, _ := io.ReadAll(r)
	return string(out)
}

// FuzzAddScram feeds --add-scram arguments: no panic, and what is
// accepted is a credential the quorum would store.
func FuzzAddScram(f *testing.F) {
	for _, s := range []string{"SCRAM-SHA-256=[name=admin,password=admin-secret]", `SCRAM-SHA-512=[name="a",iterations=8192,salt="c2FsdA==",password=x]`,
		"SCRAM-SHA-256=[name=a,salt=c2FsdA==,saltedpassword=" + strings.Repeat("A", 43) + "=]", "SCRAM-SHA-256=[", "=[]", "SCRAM-SHA-256=[,,=,]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		creds, err := parseAddScram([]string{arg})
		if err != nil {
			return
		}
		c := creds[0].Credential
		if creds[0].User == "" || c.Iterations < auth.ScramMinIterations || c.Iterations > auth.ScramMaxIterations || len(c.StoredKey) == 0 {
			t.Fatalf("accepted %q as %+v", arg, creds[0])
		}
	})
}
