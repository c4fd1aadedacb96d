package coordinator

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

func upsert(name string, m auth.ScramMechanism, iterations int32, salted []byte) ScramUpsertion {
	return ScramUpsertion{Name: name, Mechanism: m, Iterations: iterations, Salt: []byte("salt"), SaltedPassword: salted}
}

// Each of Kafka's refusals of a credential change, with its code.
func TestAlterScramErrors(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	ctx := context.Background()
	s256 := saltedFor(t, auth.ScramSHA256, "pw")
	s512 := saltedFor(t, auth.ScramSHA512, "pw")
	bigSalt := upsert("salty", auth.ScramSHA256, 4096, s256)
	bigSalt.Salt = make([]byte, maxScramSalt+1)
	up := []ScramUpsertion{
		upsert("alice", auth.ScramSHA256, 4096, s256),  // ok
		upsert("alice", auth.ScramSHA512, 16384, s512), // ok: another mechanism
		upsert("", auth.ScramSHA256, 4096, s256),       // UNACCEPTABLE_CREDENTIAL
		upsert("bob", 3, 4096, s256),                   // UNSUPPORTED_SASL_MECHANISM
		upsert("bob1", auth.ScramSHA256, 4095, s256),   // too few iterations
		upsert("bob2", auth.ScramSHA256, 16385, s256),  // too many
		upsert("bob3", auth.ScramSHA256, 4096, s512),   // salted password of the wrong size
		bigSalt, // salt beyond the bound
		upsert("twice", auth.ScramSHA256, 4096, s256),                                // DUPLICATE_RESOURCE
		upsert("twice", auth.ScramSHA256, 4096, s256),                                // DUPLICATE_RESOURCE
		upsert(strings.Repeat("u", maxScramUserLen+1), auth.ScramSHA256, 4096, s256), // UNACCEPTABLE_CREDENTIAL
	}
	del := []ScramDeletion{{Name: "nobody", Mechanism: auth.ScramSHA256}}
	res, err := c.AlterScram(ctx, up, del)
	if err != nil {
		t.Fatal(err)
	}
	want := []protocol.ErrorCode{protocol.ResourceNotFound, // the deletion comes first
		0, 0, protocol.UnacceptableCredential, protocol.UnsupportedSaslMechanism, protocol.UnacceptableCredential, protocol.UnacceptableCredential,
		protocol.UnacceptableCredential, protocol.UnacceptableCredential, protocol.DuplicateResource, protocol.DuplicateResource, protocol.UnacceptableCredential}
	if len(res) != len(want) {
		t.Fatalf("%d results, want %d", len(res), len(want))
	}
	for i, r := range res {
		if protocol.Code(r.Err) != want[i] {
			t.Errorf("result %d (%q %s): %v, want code %d", i, r.User[:min(len(r.User), 10)], r.Mechanism, r.Err, want[i])
		}
	}
	md := c.Metadata()
	if len(md.Scram) != 1 || len(md.Scram["alice"]) != 2 {
		t.Fatalf("stored %v, want alice's two credentials only", md.Scram)
	}
	// The same key deleted and set in one request is a duplicate too.
	res, err = c.AlterScram(ctx, []ScramUpsertion{upsert("alice", auth.ScramSHA256, 4096, s256)}, []ScramDeletion{{"alice", auth.ScramSHA256}})
	if err != nil || protocol.Code(res[0].Err) != protocol.DuplicateResource || protocol.Code(res[1].Err) != protocol.DuplicateResource {
		t.Fatalf("delete and set together: %+v %v", res, err)
	}
	res, err = c.AlterScram(ctx, nil, []ScramDeletion{{"alice", auth.ScramSHA256}, {"alice", auth.ScramSHA512}})
	if err != nil || res[0].Err != nil || res[1].Err != nil || c.Metadata().Scram["alice"] != nil {
		t.Fatalf("deleting both: %+v %v, left %v", res, err, c.Metadata().Scram)
	}
	if _, err := c.AlterScram(ctx, make([]ScramUpsertion, maxScramPerOp+1), nil); protocol.Code(err) != protocol.InvalidRequest {
		t.Fatalf("%d changes at once: %v", maxScramPerOp+1, err)
	}
}

// The Raft log holds StoredKey and ServerKey, never the salted password a
// client could log in with.
func TestScramLogHoldsNoSaltedPassword(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	salted := saltedFor(t, auth.ScramSHA256, "a-distinctive-password")
	if res, err := c.AlterScram(context.Background(), []ScramUpsertion{upsert("alice", auth.ScramSHA256, 4096, salted)}, nil); err != nil || res[0].Err != nil {
		t.Fatalf("%+v %v", res, err)
	}
	first, _ := c.store.FirstIndex()
	last, _ := c.store.LastIndex()
	found := false
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := c.store.GetLog(i, &l); err != nil {
			continue
		}
		found = found || bytes.Contains(l.Data, []byte(opAlterScram))
		for _, form := range [][]byte{salted, []byte("a-distinctive-password")} {
			if bytes.Contains(l.Data, form) {
				t.Fatalf("log entry %d holds the password", i)
			}
		}
	}
	if !found {
		t.Fatal("no alter_scram entry in the log")
	}
}

// Credentials recorded by format --add-scram exist once the cluster is
// initialised, on its first start only.
func TestBootstrapScram(t *testing.T) {
	cfg := testConfigs(t, 1)[0]
	cred, err := auth.NewScramCredential(auth.ScramSHA256, []byte("admin-secret"), []byte("salt"), 8192)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteBootstrapScram(cfg.Dir, []UserScram{{User: "admin", Credential: cred}}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(cfg.Dir, bootstrapFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap file: %v %v", fi, err)
	}
	c := start(t, cfg)
	if got, ok := c.Metadata().ScramCredential("admin", auth.ScramSHA256); !ok || !bytes.Equal(got.StoredKey, cred.StoredKey) {
		t.Fatalf("admin's credential after init: %+v %v", got, ok)
	}
	if err := WriteBootstrapScram(cfg.Dir, []UserScram{{User: "admin", Credential: auth.ScramCredential{Mechanism: auth.ScramSHA256}}}); err == nil {
		t.Fatal("a credential without keys was recorded")
	}
	if err := WriteBootstrapScram(cfg.Dir, []UserScram{{"a", cred}, {"a", cred}}); err == nil {
		t.Fatal("the same credential twice was recorded")
	}
}

// A bootstrap file that fails its checks stops the cluster's
// initialisation, saying why, rather than starting without the admin.
func TestBootstrapScramRefusesABadFile(t *testing.T) {
	cfg := testConfigs(t, 1)[0]
	os.WriteFile(filepath.Join(cfg.Dir, bootstrapFile), []byte(`{"Scram":[{"User":"","Mechanism":1}]}`), 0o600)
	c, err := New(cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c.WaitReady(ctx) == nil || c.Metadata().ClusterID != "" {
		t.Fatal("initialised over a bad bootstrap file")
	}
}
