package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

func topicACL(name, principal string, op kmsg.ACLOperation) auth.ACL {
	return auth.ACL{ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: name, PatternType: kmsg.ACLResourcePatternTypeLiteral,
		Principal: principal, Host: "*", Operation: op, Permission: kmsg.ACLPermissionTypeAllow}
}

// anyACL is the DeleteAcls filter that matches every ACL.
func anyACL() auth.ACLFilter {
	return auth.ACLFilter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny,
		Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
}

// startQuorum starts voters from cfgs together, quiet, and returns them
// once each is ready.
func startQuorum(t *testing.T, cfgs []Config) []*Coordinator {
	t.Helper()
	loggers := make([]*slog.Logger, len(cfgs))
	for i := range loggers {
		loggers[i] = quietLogger()
	}
	nodes, _ := startQuorumWith(t, cfgs, loggers)
	return nodes
}

// aFollower returns a node that is not the active controller.
func aFollower(t *testing.T, nodes []*Coordinator) *Coordinator {
	t.Helper()
	var f *Coordinator
	waitFor(t, "a follower that knows the controller", func() bool {
		for _, c := range nodes {
			if !c.ctrl.isActive() && c.LeaderID() >= 0 {
				f = c
				return true
			}
		}
		return false
	})
	return f
}

// securityState is what a node's image says about ACLs and credentials,
// in a form two nodes can be compared by.
func securityState(md *Metadata) string {
	acls := md.ACLs.All()
	slices.SortFunc(acls, func(a, b auth.ACL) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	var users []string
	for u, byMech := range md.Scram {
		for m, cred := range byMech {
			users = append(users, fmt.Sprintf("%s/%s/%d/%x/%x/%x", u, m, cred.Iterations, cred.Salt, cred.StoredKey, cred.ServerKey))
		}
	}
	slices.Sort(users)
	return fmt.Sprint(acls, users)
}

// ACLs and credentials asked of a follower reach every node, and come back
// after all three restart, one of them from a snapshot and the log after it.
func TestACLsAndScramReplicateAndSurviveRestart(t *testing.T) {
	cfgs := testConfigs(t, 3)
	nodes := startQuorum(t, cfgs)
	f := aFollower(t, nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	acls := []auth.ACL{topicACL("orders", "User:alice", kmsg.ACLOperationRead), topicACL("orders", "User:bob", kmsg.ACLOperationWrite),
		topicACL("pay", "User:alice", kmsg.ACLOperationRead)}
	errs, err := f.CreateACLs(ctx, acls)
	if err != nil || len(errs) != 3 || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
		t.Fatalf("CreateACLs through a follower: %v %v", errs, err)
	}
	if f.Metadata().ACLs.Len() != 3 {
		t.Fatalf("the follower answered before applying: %d ACLs", f.Metadata().ACLs.Len())
	}
	salted := saltedFor(t, auth.ScramSHA512, "alice-secret")
	res, err := f.AlterScram(ctx, []ScramUpsertion{{Name: "alice", Mechanism: auth.ScramSHA512, Iterations: 8192, Salt: []byte("salt-1"), SaltedPassword: salted}}, nil)
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("AlterScram through a follower: %+v %v", res, err)
	}
	bob := "User:bob"
	deleted, err := f.DeleteACLs(ctx, []auth.ACLFilter{func() auth.ACLFilter { a := anyACL(); a.Principal = &bob; return a }()})
	if err != nil || len(deleted) != 1 || !slices.Equal(deleted[0], acls[1:2]) {
		t.Fatalf("DeleteACLs through a follower: %v %v", deleted, err)
	}
	want := securityState(f.Metadata())
	for _, c := range nodes {
		waitFor(t, "the same ACLs and credentials everywhere", func() bool { return securityState(c.Metadata()) == want })
	}
	cred, ok := f.Metadata().ScramCredential("alice", auth.ScramSHA512)
	if derived, _ := auth.ScramFromSalted(auth.ScramSHA512, salted, []byte("salt-1"), 8192); !ok || fmt.Sprint(cred) != fmt.Sprint(derived) {
		t.Fatalf("stored credential %+v, want %+v", cred, derived)
	}

	// A snapshot on one node, then a change only its log holds.
	if err := nodes[0].raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if errs, err := f.CreateACLs(ctx, []auth.ACL{topicACL("after-snapshot", "User:carol", kmsg.ACLOperationAll)}); err != nil || errs[0] != nil {
		t.Fatalf("CreateACLs after the snapshot: %v %v", errs, err)
	}
	want = securityState(f.Metadata())
	for _, c := range nodes {
		waitFor(t, "the last ACL everywhere", func() bool { return securityState(c.Metadata()) == want })
	}
	for _, c := range nodes {
		c.Close()
	}
	for _, c := range startQuorum(t, cfgs) {
		waitFor(t, "ACLs and credentials after a restart", func() bool { return securityState(c.Metadata()) == want })
	}
}

func saltedFor(t *testing.T, m auth.ScramMechanism, password string) []byte {
	t.Helper()
	size := scramKeySize(m)
	// Any bytes of the right size are a salted password to the controller;
	// derive them from the password so that tests can tell users apart.
	out := []byte(strings.Repeat(password, size/len(password)+1))[:size]
	return out
}

func TestCreateACLsErrors(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	ctx := context.Background()
	good := topicACL("t", "User:alice", kmsg.ACLOperationRead)
	cluster := good
	cluster.ResourceType = kmsg.ACLResourceTypeCluster
	long := good
	long.ResourceName = strings.Repeat("x", maxACLFieldLen+1)
	errs, err := c.CreateACLs(ctx, []auth.ACL{good, cluster, long, good})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[3] != nil || protocol.Code(errs[1]) != protocol.InvalidRequest || protocol.Code(errs[2]) != protocol.InvalidRequest {
		t.Fatalf("results %v", errs)
	}
	if n := c.Metadata().ACLs.Len(); n != 1 {
		t.Fatalf("%d ACLs stored, want the one valid ACL once", n)
	}
	// Creating an existing ACL succeeds and changes nothing.
	applied := c.Metadata().AppliedIndex
	if errs, err := c.CreateACLs(ctx, []auth.ACL{good}); err != nil || errs[0] != nil || c.Metadata().AppliedIndex != applied {
		t.Fatalf("re-creating: %v %v, applied %d → %d", errs, err, applied, c.Metadata().AppliedIndex)
	}
	if _, err := c.CreateACLs(ctx, make([]auth.ACL, maxACLsPerOp+1)); protocol.Code(err) != protocol.InvalidRequest {
		t.Fatalf("%d ACLs at once: %v", maxACLsPerOp+1, err)
	}
	if _, err := c.DeleteACLs(ctx, make([]auth.ACLFilter, maxACLFiltersPerOp+1)); protocol.Code(err) != protocol.InvalidRequest {
		t.Fatalf("%d filters at once: %v", maxACLFiltersPerOp+1, err)
	}
	bad := anyACL()
	bad.Operation = kmsg.ACLOperationUnknown
	if _, err := c.DeleteACLs(ctx, []auth.ACLFilter{anyACL(), bad}); protocol.Code(err) != protocol.InvalidRequest {
		t.Fatalf("an UNKNOWN filter: %v", err)
	}
	if c.Metadata().ACLs.Len() != 1 {
		t.Fatal("a refused DeleteAcls removed ACLs")
	}
	if deleted, err := c.DeleteACLs(ctx, []auth.ACLFilter{anyACL(), anyACL()}); err != nil || len(deleted[0]) != 1 || len(deleted[1]) != 1 || c.Metadata().ACLs.Len() != 0 {
		t.Fatalf("delete all: %v %v, %d left", deleted, err, c.Metadata().ACLs.Len())
	}
}

// The image's bound holds in the state machine too, whatever a command
// asks: a create that would pass it is skipped whole.
func TestACLBoundInImage(t *testing.T) {
	m := emptyImage()
	many := make([]auth.ACL, maxACLs)
	for i := range many {
		many[i] = topicACL(fmt.Sprint("t", i), "User:u", kmsg.ACLOperationRead)
	}
	if err := addACLs(m, many); err != nil || m.ACLs.Len() != maxACLs {
		t.Fatalf("filling to the bound: %v, %d", err, m.ACLs.Len())
	}
	before := m.ACLs
	if err := addACLs(m, []auth.ACL{topicACL("one-more", "User:u", kmsg.ACLOperationRead)}); err == nil || m.ACLs != before {
		t.Fatalf("past the bound: %v", err)
	}
	if err := addACLs(m, many[:10]); err != nil {
		t.Fatalf("re-adding stored ACLs at the bound: %v", err)
	}
}

// A snapshot is input from disk: ACLs and credentials that fail the
// checks a command passes are skipped, the rest restored.
func TestRestoreChecksSecurity(t *testing.T) {
	good := topicACL("t", "User:alice", kmsg.ACLOperationRead)
	noColon := topicACL("t", "alice", kmsg.ACLOperationRead)
	cred, err := auth.NewScramCredential(auth.ScramSHA256, []byte("pw"), []byte("salt"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	short := cred
	short.StoredKey = cred.StoredKey[:4]
	snap, _ := json.Marshal(snapshotImage{ClusterID: "c", ACLs: []auth.ACL{good, noColon, good},
		Scram: []scramChange{{User: "alice", Mechanism: auth.ScramSHA256, Credential: &cred},
			{User: "bob", Mechanism: auth.ScramSHA256, Credential: &short}, {User: "carol", Mechanism: 9, Credential: &cred}}})
	f := newFSM(quietLogger())
	if err := f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	md := f.image.Load()
	if acls := md.ACLs.All(); !slices.Equal(acls, []auth.ACL{good}) {
		t.Fatalf("restored ACLs %v", acls)
	}
	if _, ok := md.ScramCredential("alice", auth.ScramSHA256); !ok || len(md.Scram) != 1 {
		t.Fatalf("restored credentials %v", md.Scram)
	}
}
