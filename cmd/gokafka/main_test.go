package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

// TestUsageErrors checks what needs no broker: exit codes and one-line
// messages for bad command lines, --help on every command.
func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"topics", "--list"}, 2, "--bootstrap-server is required"},
		{[]string{"topics", "--bogus"}, 2, "flag provided but not defined: --bogus"},
		{[]string{"topics", "--create", "--list", "--bootstrap-server", "x:1"}, 2, "exactly one of"},
		{[]string{"topics", "--create", "--bootstrap-server", "x:1"}, 2, "--topic is required"},
		{[]string{"topics", "--create", "--topic", "t", "--replica-assignment", "1:a", "--bootstrap-server", "x:1"}, 2, `"a" is not a broker id`},
		{[]string{"consumer-groups", "--describe", "--bootstrap-server", "x:1"}, 2, "--group is required"},
		{[]string{"consumer-groups", "--reset-offsets", "--group", "g", "--topic", "t", "--bootstrap-server", "x:1"}, 2, "exactly one of --to-earliest"},
		{[]string{"configs", "--describe", "--entity-type", "clients", "--entity-name", "u", "--bootstrap-server", "x:1"}, 2, "topics, brokers or users"},
		{[]string{"console-producer", "--bootstrap-server", "x:1"}, 2, "--topic is required"},
		{[]string{"console-consumer", "--topic", "t", "--partition", "0", "--offset", "soon", "--bootstrap-server", "x:1"}, 2, `--offset "soon"`},
		{[]string{"metadata-quorum", "--bootstrap-server", "x:1", "describe"}, 2, "One of --status or --replication must be specified"},
		{[]string{"metadata-quorum", "--bootstrap-server", "x:1", "describe", "--status", "--replication"}, 2, "Only one of --status or --replication"},
		{[]string{"metadata-quorum", "--bootstrap-server", "x:1", "--status"}, 2, "describe --status|--replication"},
		{[]string{"leader-election", "--all-topic-partitions", "--bootstrap-server", "x:1"}, 2, "election-type"},
		{[]string{"leader-election", "--election-type", "preferred", "--bootstrap-server", "x:1"}, 2, "One and only one of"},
		{[]string{"log-dirs", "--bootstrap-server", "x:1"}, 2, "--describe is required"},
		{[]string{"delete-records", "--bootstrap-server", "x:1"}, 2, "--offset-json-file is required"},
		{[]string{"get-offsets", "--partitions", "0,a", "--bootstrap-server", "x:1"}, 2, "--partitions expects a comma separated list"},
		{[]string{"reassign-partitions", "--generate", "--broker-list", "1", "--bootstrap-server", "x:1"}, 2, "--generate needs"},
	} {
		code, _, stderr := runCLI(tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("gokafka %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.msg)
		}
	}
	for name := range commands {
		want := "--bootstrap-server"
		if name == "dump-log" { // reads files, not brokers
			want = "--files"
		}
		if code, out, _ := runCLI(name, "--help"); code != 0 || !strings.Contains(out, want) {
			t.Errorf("gokafka %s --help: exit %d, %q", name, code, out)
		}
	}
}

func TestKeyValuesAndAssignment(t *testing.T) {
	kv, err := keyValues([]string{"a=1", "b=x,y=z", "c= 3"})
	if err != nil || kv["a"] != "1" || kv["b"] != "x,y=z" || kv["c"] != "3" {
		t.Fatalf("keyValues: %v %v", kv, err)
	}
	if _, err := keyValues([]string{"novalue"}); err == nil {
		t.Fatal("keyValues accepted an entry without =")
	}
	a, err := parseAssignment("1:2:3,2:3:1")
	if err != nil || len(a) != 2 || a[1][0] != 2 || len(a[0]) != 3 {
		t.Fatalf("parseAssignment: %v %v", a, err)
	}
}

// TestKafkaTables checks the layouts against what Kafka 4.4's tools print
// (copied from their output): ToolsUtils.prettyPrintTable, the
// consumer-groups table and the quorum's voter list.
func TestKafkaTables(t *testing.T) {
	var b bytes.Buffer
	prettyPrintTable(&b, [][]string{{"NodeId", "DirectoryId", "Status"}, {"2", "AAAAAAAAAAAAAAAAAAAAAA", "Leader"}, {"1", "AAAAAAAAAAAAAAAAAAAAAA", "Follower"}})
	if want := "NodeId\tDirectoryId           \tStatus  \t\n2     \tAAAAAAAAAAAAAAAAAAAAAA\tLeader  \t\n1     \tAAAAAAAAAAAAAAAAAAAAAA\tFollower\t\n"; b.String() != want {
		t.Errorf("prettyPrintTable:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	printOffsetTable(&stdio{out: &b}, [][]string{
		{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"},
		{"group-01", "topic-A", "0", "2", "2", "0", "-", "-", "-"}}, []int{15, 15, 10, 15, 15, 15, 15, 15, 0}, 0, 1, 6, 7)
	if want := "\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID" +
		"\ngroup-01        topic-A         0          2               2               0               -               -               -\n"; b.String() != want {
		t.Errorf("printOffsetTable:\n%q\nwant\n%q", b.String(), want)
	}
	voters := []kmsg.DescribeQuorumResponseTopicPartitionReplicaState{{ReplicaID: 1}, {ReplicaID: 2, ReplicaDirectoryID: [16]byte{1}}}
	nodes := []kmsg.DescribeQuorumResponseNode{{NodeID: 1, Listeners: []kmsg.DescribeQuorumResponseNodeListener{{Name: "CONTROLLER", Host: "::1", Port: 9093}}}}
	if got, want := replicaStates(voters, nodes), `[{"id": 1, "endpoints": ["CONTROLLER://[::1]:9093"]}, {"id": 2, "directoryId": "AQAAAAAAAAAAAAAAAAAAAA"}]`; got != want {
		t.Errorf("replicaStates: %s, want %s", got, want)
	}
}

// FuzzParseBrokerList feeds --broker-list values: a list either parses to
// as many ids as it has comma-separated entries, or is a usage error;
// nothing panics.
func FuzzParseBrokerList(f *testing.F) {
	for _, seed := range []string{"1,2,3", "1", "", ",", " 2 , 3", "-1", "99999999999", "1,,2", "a"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		ids, err := parseBrokerList(list)
		var ue usageError
		switch {
		case err != nil && !errors.As(err, &ue):
			t.Fatalf("%q: %v is not a usage error", list, err)
		case err == nil && len(ids) != strings.Count(list, ",")+1:
			t.Fatalf("%q gave %d ids", list, len(ids))
		}
	})
}

// TestUnreachable checks which failures send a command on to another
// broker: dial errors, alone or as every shard of a sharded request, and
// nothing else.
func TestUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	read := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{refused, true},
		{fmt.Errorf("unable to dial: %w", refused), true},
		{read, false},
		{kerr.GroupIDNotFound, false},
		{&kadm.ShardErrors{Errs: []kadm.ShardError{{Err: refused}, {Err: refused}}}, true},
		{&kadm.ShardErrors{Errs: []kadm.ShardError{{Err: refused}, {Err: kerr.NotCoordinator}}}, false},
		{&kadm.ShardErrors{}, false},
	} {
		if got := unreachable(tt.err); got != tt.want {
			t.Errorf("unreachable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	tries := 0
	err := untilReachable(ctx, func() error { tries++; return refused })
	if !errors.Is(err, refused) || tries < 2 || tries > 4 {
		t.Errorf("untilReachable against a dead broker: %d tries, %v", tries, err)
	}
	tries = 0
	if err := untilReachable(ctx, func() error { tries++; return kerr.GroupIDNotFound }); tries != 1 || err != kerr.GroupIDNotFound {
		t.Errorf("untilReachable retried a broker's answer: %d tries, %v", tries, err)
	}
}

// TestDeadBrokers dials a listening and a closed port: only the closed one
// is named.
func TestDeadBrokers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	brokers := kadm.BrokerDetails{
		{NodeID: 1, Host: "127.0.0.1", Port: int32(ln.Addr().(*net.TCPAddr).Port)},
		{NodeID: 2, Host: "127.0.0.1", Port: int32(closedPort)},
	}
	got := deadBrokers(context.Background(), brokers)
	if len(got) != 1 || got[0].NodeID != 2 {
		t.Errorf("deadBrokers: %v, want node 2", got)
	}
	want := fmt.Sprintf("the metadata quorum has no majority: 1 of 2 nodes are unreachable (node 2 at 127.0.0.1:%d)", closedPort)
	if err := noMajority(got, 2); err == nil || err.Error() != want {
		t.Errorf("noMajority: %v, want %q", err, want)
	}
	if err := noMajority(got, 3); err != nil {
		t.Errorf("one of three down is a majority still: %v", err)
	}
}

// TestVersionAndClientProperties: --version alone or after a command
// prints Kafka's version line; --producer-property and
// --consumer-property reject a bad acks and warn about unknown keys.
func TestVersionAndClientProperties(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"topics", "--version"}} {
		if code, out, _ := runCLI(args...); code != 0 || !strings.Contains(out, " (Commit:") || strings.Count(out, "\n") != 1 {
			t.Errorf("gokafka %s: exit %d, %q", strings.Join(args, " "), code, out)
		}
	}
	if code, _, stderr := runCLI("console-producer", "--broker-list", "x:1", "--topic", "t", "--producer-property", "acks=2"); code != 2 || !strings.Contains(stderr, "acks=2") {
		t.Errorf("acks=2: exit %d, %q", code, stderr)
	}
	var errb bytes.Buffer
	opts, err := clientOptions(&stdio{err: &errb}, []string{"client.id=console-consumer", "acks=all", "fetch.bogus=1"})
	if err != nil || len(opts) != 3 || errb.String() != "WARN The configuration 'fetch.bogus' was supplied but isn't a known config.\n" {
		t.Errorf("clientOptions: %d options, %v, stderr %q", len(opts), err, errb.String())
	}
	if opts, _ := clientOptions(&stdio{err: &errb}, []string{"allow.auto.create.topics=false"}); len(opts) != 0 {
		t.Errorf("allow.auto.create.topics=false still gave %d options", len(opts))
	}
}
