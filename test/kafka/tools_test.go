package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// walk runs the operator walkthrough's steps twice against one gokafka
// cluster: with Apache Kafka's tool classes, and with the gokafka CLI
// given the same arguments. Steps that change the cluster run the CLI on
// twin objects (topic-C for topic-A, group-03 for group-01, ...), so that
// both start from the same state; their names are mapped back before the
// outputs are compared.
type walk struct {
	t         *testing.T
	bootstrap string
	dir       string
}

// twins maps what Kafka's tools change to what the CLI changes instead.
var twins = strings.NewReplacer("topic-A", "topic-C", "topic-B", "topic-D", "group-01", "group-03", "group-02", "group-04",
	"alice", "carol", "bob", "dave", "txn-1", "txn-3")

var untwin = strings.NewReplacer("topic-C", "topic-A", "topic-D", "topic-B", "group-03", "group-01", "group-04", "group-02",
	"carol", "alice", "dave", "bob", "txn-3", "txn-1")

// step names one command of the walkthrough.
type step struct {
	name    string // what the walkthrough calls it
	class   string // Kafka's tool
	command string // gokafka's command
	args    []string
	stdin   string
	errLine string              // a line both must print on stderr
	changes bool                // the CLI runs on the twins
	norm    func(string) string // what must differ: ids, times, rates, unordered lists
}

// file writes a file the tools read and returns its path.
func (w *walk) file(name, content string) string {
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// run runs one step both ways and fails the test where a user would see
// a difference: standard output after normalising, or the exit status.
func (w *walk) run(s step) {
	t := w.t
	t.Helper()
	kr := KafkaToolIn(t, s.stdin, s.class, s.args...)
	gargs := slices.Clone(s.args)
	stdin := s.stdin
	if s.changes {
		for i := range gargs {
			gargs[i] = twins.Replace(gargs[i])
			if strings.HasSuffix(gargs[i], ".json") {
				gargs[i] = w.twinFile(gargs[i])
			}
		}
		stdin = twins.Replace(stdin)
	}
	gr := Run(t, stdin, harness.CLI(t), append([]string{s.command}, gargs...)...)
	if s.changes {
		gr.Out = untwin.Replace(gr.Out)
	}
	kout, gout := kafkaNoise(kr.Out), gr.Out
	if s.norm != nil {
		kout, gout = s.norm(kout), s.norm(gout)
	}
	t.Logf("%s: exit %d\n%s", s.name, kr.Code, kout)
	if s.errLine != "" && (!strings.Contains(kr.Err, s.errLine+"\n") || !strings.Contains(gr.Err, s.errLine+"\n")) {
		t.Errorf("%s: want %q on both stderrs; kafka's:\n%s\ngokafka's:\n%s", s.name, s.errLine, kr.Err, gr.Err)
	}
	if kr.Code != gr.Code || kout != gout {
		t.Errorf("%s differs:\nkafka (exit %d):\n%s%s\ngokafka %s (exit %d):\n%s%s", s.name,
			kr.Code, kout, kr.Err, strings.Join(append([]string{s.command}, gargs...), " "), gr.Code, gout, gr.Err)
	}
}

// twinFile writes the twin of a JSON file the CLI reads.
func (w *walk) twinFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.file("twin-"+filepath.Base(path), twins.Replace(string(data)))
}

// kafkaNoise drops what Kafka's tools print about their own deprecated
// flags (--property, --producer-props): gokafka keeps both names without
// warning.
func kafkaNoise(out string) string {
	var keep []string
	for _, l := range strings.SplitAfter(out, "\n") {
		if !strings.Contains(l, "deprecated") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// sortLines is for output whose order Kafka does not fix (records of
// several partitions).
func sortLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

var number = regexp.MustCompile(`-?\d+(\.\d+)?`)

// numbersAfter blanks the numbers that follow each label (quorum
// figures that move between two calls).
func numbersAfter(labels ...string) func(string) string {
	re := regexp.MustCompile(`(` + strings.Join(labels, "|") + `)(\s+)-?\d+`)
	return func(s string) string { return re.ReplaceAllString(s, "${1}${2}N") }
}

// tableCells blanks the numbers in the given columns of a table printed
// by Kafka's prettyPrintTable, after checking the padding: every cell is
// as wide as its column and ends with a tab.
func tableCells(cols ...int) func(string) string {
	return func(s string) string {
		var out []string
		var widths []int
		for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			cells := strings.Split(line, "\t")
			if cells[len(cells)-1] != "" {
				return "row without a trailing tab: " + line
			}
			cells = cells[:len(cells)-1]
			if widths == nil {
				for _, c := range cells {
					widths = append(widths, len(c))
				}
			}
			for i, c := range cells {
				if i >= len(widths) || len(c) != widths[i] {
					return "misaligned row: " + line
				}
				cells[i] = strings.TrimSpace(c)
				if slices.Contains(cols, i) && len(out) > 0 {
					cells[i] = number.ReplaceAllString(cells[i], "N")
				}
			}
			out = append(out, strings.Join(cells, "|"))
		}
		return strings.Join(out, "\n")
	}
}

// partitionLists sorts the comma lists of partitions the leader-election
// tool prints in hash order.
func partitionLists(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if head, list, ok := strings.Cut(l, " for partitions "); ok {
			ps := strings.Split(list, ", ")
			slices.Sort(ps)
			l = head + " for partitions " + strings.Join(ps, ", ")
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// logDirsJSON sorts the partitions of kafka-log-dirs' JSON, which Kafka
// prints in hash order.
func logDirsJSON(s string) string {
	head, js, ok := strings.Cut(s, "\n{")
	if !ok {
		return s
	}
	var v struct {
		Brokers []struct {
			Broker  int `json:"broker"`
			LogDirs []struct {
				Partitions []map[string]any `json:"partitions"`
				Error      *string          `json:"error"`
				LogDir     string           `json:"logDir"`
			} `json:"logDirs"`
		} `json:"brokers"`
		Version int `json:"version"`
	}
	if err := json.Unmarshal([]byte("{"+js), &v); err != nil {
		return fmt.Sprintf("not JSON (%v): %s", err, s)
	}
	for _, b := range v.Brokers {
		for _, d := range b.LogDirs {
			slices.SortFunc(d.Partitions, func(a, b map[string]any) int {
				return strings.Compare(fmt.Sprint(a["partition"]), fmt.Sprint(b["partition"]))
			})
		}
	}
	out, _ := json.Marshal(v)
	return head + "\n" + string(out)
}

// proposedReplicas blanks the replicas of --generate's proposal, which
// Kafka draws at random; the current assignment stays exact.
func proposedReplicas(s string) string {
	head, proposed, ok := strings.Cut(s, "Proposed partition reassignment configuration\n")
	if !ok {
		return s
	}
	return head + "Proposed partition reassignment configuration\n" +
		regexp.MustCompile(`"replicas":\[[\d,]*\]`).ReplaceAllString(proposed, `"replicas":[N]`)
}

// replicaSets sorts the replicas and log directories of a reassignment
// JSON: the twins' partitions were created with their own random order.
func replicaSets(s string) string {
	return regexp.MustCompile(`"(replicas|log_dirs)":\[[^\]]*\]`).ReplaceAllStringFunc(s, func(list string) string {
		key, items, _ := strings.Cut(list, ":[")
		elems := strings.Split(strings.TrimSuffix(items, "]"), ",")
		slices.Sort(elems)
		return key + ":[" + strings.Join(elems, ",") + "]"
	})
}

// perfNumbers blanks the rates and latencies of producer-perf-test.
func perfNumbers(s string) string {
	return regexp.MustCompile(`records sent, .*`).ReplaceAllStringFunc(s, func(l string) string {
		return number.ReplaceAllString(l, "N")
	})
}

// TestToolsMatchGokafka is the operator walkthrough (README) run with
// Apache Kafka's own tools and with the gokafka CLI against a 3-node
// gokafka: for every command the output and exit status must be the same,
// up to what must differ.
func TestToolsMatchGokafka(t *testing.T) {
	c := harness.StartT(t, 3, "group.initial.rebalance.delay.ms=0")
	walkthrough(t, strings.Join(c.Seeds(), ","), 3)
}

// TestToolsMatchKafka runs the same walkthrough against one Apache Kafka
// node, replication factor 1: the gokafka CLI must print what Kafka's
// tools print against Kafka itself.
func TestToolsMatchKafka(t *testing.T) {
	walkthrough(t, strings.Join(StartKafka(t, 1), ","), 1)
}

// walkthrough runs the README's commands both ways against the cluster
// at bootstrap, whose brokers are 1..nodes.
func walkthrough(t *testing.T, b string, nodes int) {
	w := &walk{t: t, bootstrap: b, dir: t.TempDir()}
	bs := []string{"--bootstrap-server", b}
	with := func(args ...string) []string { return append(slices.Clone(bs), args...) }
	rf := fmt.Sprint(nodes)
	var brokers, moved []string // moved: the replicas rotated by one
	for id := 1; id <= nodes; id++ {
		brokers = append(brokers, fmt.Sprint(id))
		moved = append(moved, fmt.Sprint((id+nodes-2)%nodes+1))
	}

	steps := []step{
		{name: "create topic-A", class: TopicCommand, command: "topics", changes: true,
			args: with("--create", "--topic", "topic-A", "--partitions", "2", "--replication-factor", rf)},
		{name: "create topic-B", class: TopicCommand, command: "topics", changes: true,
			args: with("--create", "--topic", "topic-B", "--partitions", "1", "--replication-factor", rf)},
		{name: "create an existing topic", class: TopicCommand, command: "topics",
			args: with("--create", "--topic", "topic-A", "--partitions", "2", "--replication-factor", rf)},
		{name: "create with too large a replication factor", class: TopicCommand, command: "topics",
			args: with("--create", "--topic", "topic-E", "--partitions", "1", "--replication-factor", fmt.Sprint(nodes+1))},
		{name: "list", class: TopicCommand, command: "topics", args: with("--list")},
		{name: "describe a missing topic", class: TopicCommand, command: "topics", args: with("--describe", "--topic", "no-such-topic")},
		{name: "describe", class: TopicCommand, command: "topics", args: with("--describe", "--topic", "topic-A")},
		{name: "console producer with keys", class: ConsoleProducer, command: "console-producer", changes: true,
			stdin: "k1:v1\nk2:v2\nk3:v3\nk4:v4\n",
			args:  with("--topic", "topic-A", "--property", "parse.key=true", "--property", "key.separator=:")},
	}
	for _, g := range []string{"group-01", "group-02"} {
		steps = append(steps, step{name: "console consumer " + g, class: ConsoleConsumer, command: "console-consumer",
			changes: true, norm: sortLines, errLine: "Processed a total of 4 messages",
			args: with("--topic", "topic-A", "--group", g, "--from-beginning", "--max-messages", "4", "--property", "print.key=true")})
	}
	steps = append(steps,
		step{name: "consumer-groups describe", class: ConsumerGroupCommand, command: "consumer-groups",
			args: with("--describe", "--group", "group-01")},
		step{name: "consumer-groups describe offsets verbose", class: ConsumerGroupCommand, command: "consumer-groups",
			errLine: "Consumer group 'group-01' has no active members.", args: with("--describe", "--group", "group-01", "--offsets", "--verbose")},
		step{name: "consumer-groups describe members", class: ConsumerGroupCommand, command: "consumer-groups",
			args: with("--describe", "--group", "group-01", "--members")},
		step{name: "consumer-groups describe members verbose", class: ConsumerGroupCommand, command: "consumer-groups",
			args: with("--describe", "--group", "group-01", "--members", "--verbose")},
		step{name: "consumer-groups describe state", class: ConsumerGroupCommand, command: "consumer-groups",
			args: with("--describe", "--group", "group-01", "--state")},
		step{name: "consumer-groups describe state verbose", class: ConsumerGroupCommand, command: "consumer-groups",
			args: with("--describe", "--group", "group-01", "--state", "--verbose")},
		step{name: "consumer-groups describe all groups", class: ConsumerGroupCommand, command: "consumer-groups",
			args: with("--describe", "--all-groups")},
		step{name: "consumer-groups describe a missing group", class: ConsumerGroupCommand, command: "consumer-groups",
			args: with("--describe", "--group", "no-such-group")},
		step{name: "consumer-groups list", class: ConsumerGroupCommand, command: "consumer-groups", norm: sortLines,
			args: with("--list")},
		step{name: "consumer-groups list with states", class: ConsumerGroupCommand, command: "consumer-groups", norm: sortLines,
			args: with("--list", "--state")},
		step{name: "consumer-groups list in given states", class: ConsumerGroupCommand, command: "consumer-groups", norm: sortLines,
			args: with("--list", "--state", "empty,Stable")},
		step{name: "consumer-groups list in a state none is in", class: ConsumerGroupCommand, command: "consumer-groups",
			args: with("--list", "--state", "PreparingRebalance")},
		step{name: "consumer-groups list in an unknown state", class: ConsumerGroupCommand, command: "consumer-groups",
			args: with("--list", "--state", "Sleeping")},
		step{name: "consumer-groups reset-offsets of all groups", class: ConsumerGroupCommand, command: "consumer-groups", norm: sortLines,
			args: with("--reset-offsets", "--all-groups", "--all-topics", "--to-earliest", "--dry-run")},
		step{name: "consumer-groups reset-offsets dry-run", class: ConsumerGroupCommand, command: "consumer-groups", changes: true, norm: sortLines,
			args: with("--reset-offsets", "--group", "group-02", "--topic", "topic-A", "--to-earliest", "--dry-run")},
		step{name: "consumer-groups reset-offsets without --execute", class: ConsumerGroupCommand, command: "consumer-groups", changes: true, norm: sortLines,
			errLine: "WARN: No action will be performed as the --execute option is missing. In version 5.0, this command will require " +
				"either --dry-run or --execute to be specified. You should add the --dry-run option explicitly if you are scripting " +
				"this command and want to keep the current default behavior without prompting.",
			args: with("--reset-offsets", "--group", "group-02", "--topic", "topic-A", "--to-latest")},
		step{name: "consumer-groups reset-offsets execute", class: ConsumerGroupCommand, command: "consumer-groups", changes: true, norm: sortLines,
			args: with("--reset-offsets", "--group", "group-02", "--topic", "topic-A", "--to-offset", "1", "--execute")},
		step{name: "topics alter", class: TopicCommand, command: "topics", changes: true,
			args: with("--alter", "--topic", "topic-B", "--partitions", "2")},
		step{name: "configs describe a broker", class: ConfigCommand, command: "configs",
			args: with("--describe", "--entity-type", "brokers", "--entity-name", "1")},
		step{name: "configs alter", class: ConfigCommand, command: "configs", changes: true,
			args: with("--alter", "--entity-type", "topics", "--entity-name", "topic-A", "--add-config", "retention.ms=3600000")},
		step{name: "configs describe", class: ConfigCommand, command: "configs",
			args: with("--describe", "--entity-type", "topics", "--entity-name", "topic-A")},
		step{name: "describe with configs", class: TopicCommand, command: "topics", args: with("--describe", "--topic", "topic-A")},
		step{name: "metadata-quorum status", class: MetadataQuorumCommand, command: "metadata-quorum",
			norm: numbersAfter("LeaderId:", "LeaderEpoch:", "HighWatermark:", "MaxFollowerLag:", "MaxFollowerLagTimeMs:"),
			args: with("describe", "--status")},
		step{name: "metadata-quorum replication", class: MetadataQuorumCommand, command: "metadata-quorum",
			norm: tableCells(0, 2, 3, 4, 5), args: with("describe", "--replication")},
		step{name: "get-offsets", class: GetOffsetShell, command: "get-offsets", args: with("--topic", "topic-A")},
		step{name: "get-offsets earliest of a partition", class: GetOffsetShell, command: "get-offsets",
			args: with("--topic", "topic-A", "--partitions", "1", "--time", "-2")},
		step{name: "get-offsets max-timestamp by pattern", class: GetOffsetShell, command: "get-offsets",
			args: with("--topic", "topic-.*", "--time", "max-timestamp")},
		step{name: "get-offsets at a time", class: GetOffsetShell, command: "get-offsets", args: with("--topic", "topic-A", "--time", "0")},
		step{name: "get-offsets of nothing", class: GetOffsetShell, command: "get-offsets", args: with("--topic", "no-such-topic"),
			errLine: "Error occurred: Could not match any topic-partitions with the specified filters"},
		step{name: "leader-election of all partitions", class: LeaderElectionCommand, command: "leader-election", norm: partitionLists,
			args: with("--election-type", "preferred", "--all-topic-partitions")},
		step{name: "log-dirs of a broker", class: LogDirsCommand, command: "log-dirs", norm: logDirsJSON,
			args: with("--describe", "--broker-list", "1", "--topic-list", "topic-A,topic-B")},
		step{name: "leader-election", class: LeaderElectionCommand, command: "leader-election", changes: true, norm: partitionLists,
			args: with("--election-type", "PREFERRED", "--topic", "topic-A", "--partition", "0")},
		step{name: "log-dirs", class: LogDirsCommand, command: "log-dirs", norm: logDirsJSON,
			args: with("--describe", "--topic-list", "topic-A")},
		step{name: "delete-records", class: DeleteRecordsCommand, command: "delete-records", changes: true,
			args: with("--offset-json-file", w.file("delete.json", `{"partitions":[{"topic":"topic-A","partition":0,"offset":1}],"version":1}`))},
		step{name: "delete-records past the end", class: DeleteRecordsCommand, command: "delete-records", changes: true,
			args: with("--offset-json-file", w.file("delete-past.json", `{"partitions":[{"topic":"topic-A","partition":1,"offset":100}],"version":1}`))},
		step{name: "reassign-partitions generate", class: ReassignPartitionsCommand, command: "reassign-partitions", norm: proposedReplicas,
			args: with("--topics-to-move-json-file", w.file("move.json", `{"topics":[{"topic":"topic-A"}],"version":1}`),
				"--broker-list", strings.Join(brokers, ","), "--generate")},
	)
	plan := w.file("plan.json", `{"version":1,"partitions":[{"topic":"topic-A","partition":0,"replicas":[`+strings.Join(moved, ",")+`]}]}`)
	steps = append(steps,
		step{name: "reassign-partitions execute", class: ReassignPartitionsCommand, command: "reassign-partitions", changes: true, norm: replicaSets,
			args: with("--reassignment-json-file", plan, "--execute")},
	)
	for _, s := range steps {
		w.run(s)
	}
	// The copy is local and small; --verify reports it complete once the
	// new replicas have joined the ISR.
	harness.WaitFor(t, "reassignments complete", 30*time.Second, func() bool {
		r := KafkaTool(t, ReassignPartitionsCommand, with("--reassignment-json-file", plan, "--verify")...)
		g := Run(t, "", harness.CLI(t), "reassign-partitions", "--bootstrap-server", b, "--reassignment-json-file", w.twinFile(plan), "--verify")
		return strings.Contains(r.Out, "is completed") && strings.Contains(g.Out, "is completed")
	})
	w.run(step{name: "reassign-partitions verify", class: ReassignPartitionsCommand, command: "reassign-partitions", changes: true,
		args: with("--reassignment-json-file", plan, "--verify")})
	w.transactions(with)
	w.run(step{name: "producer-perf-test", class: ProducerPerformance, command: "producer-perf-test", changes: true, norm: perfNumbers,
		args: []string{"--topic", "topic-B", "--num-records", "1000", "--record-size", "100", "--throughput", "-1",
			"--producer-props", "bootstrap.servers=" + b, "acks=all"}})
	w.run(step{name: "topics delete", class: TopicCommand, command: "topics", changes: true,
		args: with("--delete", "--topic", "topic-B")})
}

// TransactionsCommand is kafka-transactions.sh's class.
const TransactionsCommand = "org.apache.kafka.tools.TransactionsCommand"

// transactions runs kafka-transactions.sh's read-only commands while a
// transaction is open on topic-A partition 0 and another was committed.
func (w *walk) transactions(with func(...string) []string) {
	t := w.t
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := func(txnID string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(w.bootstrap, ",")...), kgo.TransactionalID(txnID),
			kgo.TransactionTimeout(5*time.Minute), kgo.DefaultProduceTopic("topic-A"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte(txnID)}).FirstErr(); err != nil {
			t.Fatalf("transactional produce as %s: %v", txnID, err)
		}
		return cl
	}
	done := open("txn-done")
	if err := done.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("committing txn-done: %v", err)
	}
	done.Close()
	cl := open("txn-open")
	defer cl.Close()
	for _, s := range []step{
		{name: "transactions list", class: TransactionsCommand, command: "transactions", norm: sortLines, args: with("list")},
		{name: "transactions describe", class: TransactionsCommand, command: "transactions", norm: tableCells(7),
			args: with("describe", "--transactional-id", "txn-open")},
		{name: "transactions describe a missing id", class: TransactionsCommand, command: "transactions",
			args: with("describe", "--transactional-id", "no-such-txn")},
		{name: "transactions describe-producers", class: TransactionsCommand, command: "transactions", norm: sortLines,
			args: with("describe-producers", "--topic", "topic-A", "--partition", "0")},
		{name: "transactions find-hanging", class: TransactionsCommand, command: "transactions",
			args: with("find-hanging", "--broker-id", "1")},
	} {
		w.run(s)
	}
}

// AclCommand is kafka-acls.sh's class (kafka.go lists the walkthrough's).
const AclCommand = "org.apache.kafka.tools.AclCommand"

// authorizerProps turn on Kafka's authorizer with the PLAINTEXT
// listener's ANONYMOUS principal as a super user, so that the tools need
// no client security to manage ACLs and SCRAM users.
var authorizerProps = []string{
	"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
	"super.users=User:ANONYMOUS",
}

// TestSecurityToolsMatchKafka runs the ACL and SCRAM-user steps with
// Kafka's AclCommand and ConfigCommand and with the gokafka CLI, against
// one Apache Kafka node with its authorizer on.
func TestSecurityToolsMatchKafka(t *testing.T) {
	b := strings.Join(StartKafka(t, 1, authorizerProps...), ",")
	aclWalk(t, b)
	scramWalk(t, b)
}

// TestSecurityToolsMatchGokafka runs the ACL steps against one gokafka
// node with its authorizer on: Kafka's tools and the CLI must agree there
// too. scramWalk joins once gokafka answers DescribeClientQuotas, which
// Kafka's ConfigCommand sends before it describes users' credentials.
func TestSecurityToolsMatchGokafka(t *testing.T) {
	b := strings.Join(harness.StartT(t, 1, authorizerProps...).Seeds(), ",")
	aclWalk(t, b)
	scramWalk(t, b)
}

// aclWalk runs the ACL steps both ways against the cluster at bootstrap,
// whose authorizer lets ANONYMOUS do anything.
func aclWalk(t *testing.T, b string) {
	w := &walk{t: t, bootstrap: b, dir: t.TempDir()}
	acl := func(name string, changes bool, args ...string) step {
		return step{name: "acls " + name, class: AclCommand, command: "acls", changes: changes, norm: aclBlocks,
			args: append([]string{"--bootstrap-server", b}, args...)}
	}
	for _, s := range []step{
		acl("add read and write", true, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--operation", "write", "--topic", "topic-A"),
		acl("add again", true, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "topic-A"),
		acl("add producer", true, "--add", "--producer", "--idempotent", "--allow-principal", "User:bob", "--topic", "topic-B", "--transactional-id", "txn-1"),
		acl("add consumer", true, "--add", "--consumer", "--allow-principal", "User:bob", "--allow-host", "10.0.0.1", "--topic", "topic-A", "--group", "group-01"),
		acl("add prefixed deny", true, "--add", "--resource-pattern-type", "PREFIXED", "--deny-principal", "User:alice", "--deny-host", "10.0.0.2",
			"--operation", "Describe", "--operation", "Delete", "--topic", "topic-A"),
		acl("add cluster", true, "--add", "--cluster", "--allow-principal", "User:alice", "--operation", "IdempotentWrite", "--operation", "ALTERCONFIGS"),
		acl("list topic", true, "--list", "--topic", "topic-A"),
		acl("list match", true, "--list", "--topic", "topic-A", "--resource-pattern-type", "match"),
		acl("list any", true, "--list", "--topic", "topic-A", "--resource-pattern-type", "any"),
		acl("list all", false, "--list"),
		acl("list principal", false, "--list", "--principal", "User:alice", "--principal", "User:nobody"),
		acl("remove one", true, "--remove", "--force", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "topic-A"),
		acl("remove all of a topic", true, "--remove", "--force", "--topic", "topic-B"),
		acl("list after remove", true, "--list", "--topic", "topic-A", "--topic", "topic-B"),
		acl("add match refused", false, "--add", "--resource-pattern-type", "match", "--allow-principal", "User:alice", "--topic", "t"),
		acl("unsupported operation", false, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--cluster"),
		acl("unknown operation", false, "--add", "--allow-principal", "User:alice", "--operation", "Fly", "--topic", "t"),
		acl("no principal", false, "--add", "--topic", "t"),
		acl("no resource", false, "--add", "--allow-principal", "User:alice"),
		acl("bad principal", false, "--add", "--allow-principal", "alice", "--topic", "t"),
		acl("list with producer", false, "--list", "--producer", "--topic", "t"),
		acl("two actions", false, "--list", "--add"),
		acl("consumer without group", false, "--add", "--consumer", "--topic", "t", "--allow-principal", "User:alice"),
	} {
		w.run(s)
	}
}

// scramWalk runs the SCRAM-user steps of kafka-configs both ways against
// the cluster at bootstrap.
func scramWalk(t *testing.T, b string) {
	w := &walk{t: t, bootstrap: b, dir: t.TempDir()}
	users := func(name string, changes bool, args ...string) step {
		return step{name: "configs users " + name, class: ConfigCommand, command: "configs", changes: changes, norm: sortLines,
			args: append([]string{"--bootstrap-server", b, "--entity-type", "users"}, args...)}
	}
	for _, s := range []step{
		// Kafka refuses two mechanisms of one user in one request.
		users("add two at once", true, "--alter", "--entity-name", "alice", "--add-config",
			"SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=alice-secret]"),
		users("add", true, "--alter", "--entity-name", "alice", "--add-config", "SCRAM-SHA-256=[iterations=8192,password=alice-secret]"),
		users("add another", true, "--alter", "--entity-name", "alice", "--add-config", "SCRAM-SHA-512=[password=alice-secret]"),
		users("describe", true, "--describe", "--entity-name", "alice"),
		users("delete one", true, "--alter", "--entity-name", "alice", "--delete-config", "SCRAM-SHA-512"),
		users("describe after delete", true, "--describe", "--entity-name", "alice"),
		users("describe all", false, "--describe"),
		users("describe a missing user", false, "--describe", "--entity-name", "nobody"),
		users("too few iterations", false, "--alter", "--entity-name", "alice", "--add-config", "SCRAM-SHA-256=[iterations=100,password=x]"),
		users("no password", false, "--alter", "--entity-name", "alice", "--add-config", "SCRAM-SHA-256=[iterations=8192]"),
		users("unknown key", false, "--alter", "--entity-name", "alice", "--add-config", "SCRAM-SHA-1=[password=x]"),
	} {
		w.run(s)
	}
}

// aclBlocks puts kafka-acls' output in a fixed order: Kafka prints its
// resources, and the entries of each, in hash order. Under each "ACLs
// for principal" line the blocks are sorted, and the entries inside each,
// keeping the line prefixes (" \t" for the first entry after "Adding",
// "\t" else) where they were; a stack trace after an error is dropped.
func aclBlocks(s string) string {
	if head, _, ok := strings.Cut(s, "\n"); ok && strings.HasPrefix(head, "Error while executing ACL command:") {
		return head + "\n"
	}
	sections := regexp.MustCompile("(?m)^ACLs for principal .*\n").Split(s, -1)
	heads := regexp.MustCompile("(?m)^ACLs for principal .*\n").FindAllString(s, -1)
	out := sortedBlocks(sections[0])
	for i, h := range heads {
		out += h + sortedBlocks(sections[i+1])
	}
	return out
}

// sortedBlocks sorts the blocks of one list of resources, and the entries
// in each.
func sortedBlocks(s string) string {
	var blocks []string
	for _, block := range strings.Split(s, "\n\n") {
		lines := strings.Split(block, "\n")
		var prefixes, entries []string
		for _, l := range lines {
			if i := strings.Index(l, "\t("); i >= 0 {
				prefixes, entries = append(prefixes, l[:i+1]), append(entries, l[i+1:])
			}
		}
		slices.Sort(entries)
		n := 0
		for i, l := range lines {
			if strings.Contains(l, "\t(") {
				lines[i] = prefixes[n] + entries[n]
				n++
			}
		}
		blocks = append(blocks, strings.Join(lines, "\n"))
	}
	slices.Sort(blocks)
	return strings.Join(blocks, "\n\n")
}

// TestCommandConfigSASLKafka proves --command-config with a SASL client
// config against Apache Kafka: its client listener is SASL_PLAINTEXT with
// SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN, the admin's SCRAM credential is
// made at format time, and Kafka's tools and the CLI must agree on what a
// right and a wrong password do, with each mechanism.
func TestCommandConfigSASLKafka(t *testing.T) {
	const scramModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
	const plainModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
	t.Setenv("KAFKA_SCRAM", "SCRAM-SHA-256=[name=admin,password=admin-secret]")
	b := strings.Join(StartKafka(t, 1,
		"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:SASL_PLAINTEXT",
		"sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
		"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256",
		`listener.name.plaintext.scram-sha-256.sasl.jaas.config=`+scramModule+` required username="admin" password="admin-secret";`,
		`listener.name.plaintext.scram-sha-512.sasl.jaas.config=`+scramModule+` required;`,
		`listener.name.plaintext.plain.sasl.jaas.config=`+plainModule+` required username="admin" password="admin-secret" user_admin="admin-secret";`,
		authorizerProps[0], "super.users=User:admin;User:ANONYMOUS",
	), ",")
	w := &walk{t: t, bootstrap: b, dir: t.TempDir()}
	client := func(name, mechanism, module, user, password string) string {
		return w.file(name, "security.protocol=SASL_PLAINTEXT\nsasl.mechanism="+mechanism+"\n"+
			"sasl.jaas.config="+module+` required username="`+user+`" password="`+password+"\";\n")
	}
	admin := client("admin.properties", "SCRAM-SHA-256", scramModule, "admin", "admin-secret")
	with := func(config string, args ...string) []string {
		return append([]string{"--bootstrap-server", b, "--command-config", config}, args...)
	}
	steps := []step{
		{name: "create a topic as admin", class: TopicCommand, command: "topics", changes: true,
			args: with(admin, "--create", "--topic", "topic-A", "--partitions", "1", "--replication-factor", "1")},
		{name: "list as admin", class: TopicCommand, command: "topics", args: with(admin, "--list")},
		{name: "a wrong password", class: TopicCommand, command: "topics", norm: func(string) string { return "" },
			args: with(client("wrong.properties", "SCRAM-SHA-256", scramModule, "admin", "nope"), "--list")},
		{name: "PLAIN as admin", class: TopicCommand, command: "topics",
			args: with(client("plain.properties", "PLAIN", plainModule, "admin", "admin-secret"), "--list")},
		{name: "a SCRAM-SHA-512 user", class: ConfigCommand, command: "configs", changes: true,
			args: with(admin, "--alter", "--entity-type", "users", "--entity-name", "alice", "--add-config", "SCRAM-SHA-512=[password=alice-secret]")},
		{name: "allow alice to describe topic-A", class: AclCommand, command: "acls", changes: true, norm: aclBlocks,
			args: with(admin, "--add", "--allow-principal", "User:alice", "--operation", "Describe", "--topic", "topic-A")},
	}
	for _, s := range steps {
		w.run(s)
	}
	// alice's login is twinned to carol's for the CLI (the file's name and
	// the password too); each sees only the topic it may describe.
	alice := client("alice.properties", "SCRAM-SHA-512", scramModule, "alice", "alice-secret")
	client("carol.properties", "SCRAM-SHA-512", scramModule, "carol", "carol-secret")
	w.run(step{name: "list as alice", class: TopicCommand, command: "topics", changes: true, args: with(alice, "--list")})
}

// TestCommandConfigMTLSKafka proves --command-config with client
// certificates against Apache Kafka: its client listener is SSL with
// ssl.client.auth=required, and Kafka's tools and the CLI connect with
// the same PEM keystore, then the same PKCS12 one.
func TestCommandConfigMTLSKafka(t *testing.T) {
	pki := harness.NewPKI(t)
	srv, err := pki.Server("kafka")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := pki.Client("alice")
	if err != nil {
		t.Fatal(err)
	}
	props := append([]string{"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:SSL"}, pki.ServerProps("PLAINTEXT", srv, "required")...)
	b := strings.Join(StartKafka(t, 1, props...), ",")
	w := &walk{t: t, bootstrap: b, dir: t.TempDir()}
	pemConfig := w.file("pem.properties", strings.Join([]string{"security.protocol=SSL",
		"ssl.keystore.type=PEM", "ssl.keystore.location=" + cli.PEMFile,
		"ssl.truststore.type=PEM", "ssl.truststore.location=" + pki.CAFile}, "\n"))
	p12Config := w.file("p12.properties", strings.Join(pki.JavaClientProps("SSL", cli), "\n"))
	for _, s := range []step{
		{name: "create a topic over mTLS (PEM)", class: TopicCommand, command: "topics", changes: true,
			args: []string{"--bootstrap-server", b, "--command-config", pemConfig, "--create", "--topic", "topic-A", "--partitions", "1", "--replication-factor", "1"}},
		{name: "list over mTLS (PKCS12)", class: TopicCommand, command: "topics",
			args: []string{"--bootstrap-server", b, "--command-config", p12Config, "--list"}},
	} {
		w.run(s)
	}
}
