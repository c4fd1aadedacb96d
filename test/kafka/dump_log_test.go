package kafka

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokafka/gokafka/test/harness"
)

// DumpLogSegments is kafka-dump-log.sh's class.
const DumpLogSegments = "org.apache.kafka.tools.DumpLogSegments"

// produceRecords writes records with keys and headers through Kafka's
// idempotent console producer: a batch of one record, then one of three
// (the producer lingers for them), by two producers.
func produceRecords(t *testing.T, bootstrap string) {
	t.Helper()
	for _, lines := range []string{"h1:a,h2:b\tk1\tv1\n", "h3:c\tk2\tv2\nh4:d\tk3\tv3\nh5:e\tk4\tv4\n"} {
		r := KafkaToolIn(t, lines, ConsoleProducer, "--bootstrap-server", bootstrap, "--topic", "topic-A",
			"--property", "parse.key=true", "--property", "parse.headers=true", "--producer-property", "linger.ms=1000")
		if r.Code != 0 {
			t.Fatalf("produce: %s%s", r.Out, r.Err)
		}
	}
}

// indexEvery makes every batch an index entry, so that the indexes have
// entries to compare.
var indexEvery = []string{"--config", "index.interval.bytes=1"}

// TestDumpLogMatchesKafka writes a partition with Apache Kafka (and one
// with committed transactions), stops it
// so that its indexes are trimmed and its producer snapshot written, and
// dumps each file with kafka-dump-log.sh and with gokafka dump-log, plain,
// --deep-iteration and --print-data-log: both must print the same bytes
// on standard output and exit alike, index checks included.
func TestDumpLogMatchesKafka(t *testing.T) {
	dir := t.TempDir()
	c, err := Start(dir, 1, "512m")
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop()
		}
	})
	b := c.Seeds[0]
	create := append([]string{"--bootstrap-server", b, "--create", "--topic", "topic-A", "--partitions", "1", "--replication-factor", "1"}, indexEvery...)
	if r := KafkaTool(t, TopicCommand, create...); r.Code != 0 {
		t.Fatalf("create: %s%s", r.Out, r.Err)
	}
	produceRecords(t, b)
	// Transactions, committed: transactional batches, COMMIT markers, and
	// a producer snapshot with a coordinator epoch.
	if r := KafkaTool(t, TopicCommand, "--bootstrap-server", b, "--create", "--topic", "txn-T", "--partitions", "1", "--replication-factor", "1"); r.Code != 0 {
		t.Fatalf("create: %s%s", r.Out, r.Err)
	}
	if r := KafkaTool(t, ProducerPerformance, "--topic", "txn-T", "--num-records", "30", "--record-size", "10", "--throughput", "-1",
		"--producer-props", "bootstrap.servers="+b, "--transactional-id", "dump-txn", "--transaction-duration-ms", "50"); r.Code != 0 {
		t.Fatalf("transactional produce: %s%s", r.Out, r.Err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	part := filepath.Join(dir, "node-1", "data", "topic-A-0")
	seg := func(suffix string) string { return filepath.Join(part, "00000000000000000000"+suffix) }
	snaps, _ := filepath.Glob(filepath.Join(part, "*.snapshot"))
	if len(snaps) == 0 {
		t.Fatalf("Kafka wrote no producer snapshot in %s", part)
	}
	txnPart := filepath.Join(dir, "node-1", "data", "txn-T-0")
	txnSnaps, _ := filepath.Glob(filepath.Join(txnPart, "*.snapshot"))
	if len(txnSnaps) == 0 {
		t.Fatalf("Kafka wrote no producer snapshot in %s", txnPart)
	}
	compareDumps(t, [][]string{
		{"--files", filepath.Join(txnPart, "00000000000000000000.log"), "--deep-iteration"},
		{"--files", txnSnaps[len(txnSnaps)-1]},
		{"--files", seg(".log")},
		{"--files", seg(".log"), "--deep-iteration"},
		{"--files", seg(".log"), "--print-data-log"},
		{"--files", seg(".log"), "--print-data-log", "--skip-record-metadata"},
		{"--files", seg(".index")},
		{"--files", seg(".timeindex")},
		{"--files", seg(".index") + "," + seg(".timeindex"), "--verify-index-only"},
		{"--files", snaps[len(snaps)-1]},
		{"--files", filepath.Join(part, "00000000000000000099.log")},
		{"--files", filepath.Join(part, "nosuch.log")},
		{},
	})
}

// TestDumpLogGokafkaSegments dumps the segment a gokafka node wrote: its
// .log bytes are Kafka's format, so both tools must print them alike;
// leader-epoch-checkpoint and producer-state.json, which Kafka's tool does
// not read, must print their entries.
func TestDumpLogGokafkaSegments(t *testing.T) {
	c := harness.StartT(t, 1)
	b := c.Seeds()[0]
	cli := harness.CLI(t)
	create := append([]string{"topics", "--bootstrap-server", b, "--create", "--topic", "topic-A", "--partitions", "1", "--replication-factor", "1"}, indexEvery...)
	if r := Run(t, "", cli, create...); r.Code != 0 {
		t.Fatalf("create: %s%s", r.Out, r.Err)
	}
	produceRecords(t, b)
	node := c.Nodes[0]
	if err := node.Stop(); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(node.DataDir(), "topic-A-0")
	seg := func(suffix string) string { return filepath.Join(part, "00000000000000000000"+suffix) }
	compareDumps(t, [][]string{{"--files", seg(".log")}, {"--files", seg(".log"), "--print-data-log"},
		{"--files", seg(".index")}, {"--files", seg(".timeindex")}})

	r := Run(t, "", cli, "dump-log", "--files", filepath.Join(part, "leader-epoch-checkpoint")+","+filepath.Join(part, "producer-state.json"))
	t.Logf("gokafka's own files:\n%s%s", r.Out, r.Err)
	for _, want := range []string{"epoch: 0 startOffset: 0\n", "Snapshot end offset: 4\n", " firstSequence: 0 lastSequence: 2 lastOffset: 3 offsetDelta: 2 "} {
		if r.Code != 0 || !strings.Contains(r.Out, want) {
			t.Errorf("dump-log of leader-epoch-checkpoint and producer-state.json: exit %d, no %q in\n%s%s", r.Code, want, r.Out, r.Err)
		}
	}
}

// compareDumps runs each argument list with Kafka's tool and gokafka's
// and compares standard output, the exit status, and standard error
// (index checks) unless the command failed: Java's exception text is its own.
func compareDumps(t *testing.T, runs [][]string) {
	t.Helper()
	for _, args := range runs {
		k := KafkaTool(t, DumpLogSegments, args...)
		g := Run(t, "", harness.CLI(t), append([]string{"dump-log"}, args...)...)
		kerr, gerr := k.Err, g.Err
		if k.Code != 0 {
			kerr, gerr = "", "" // Kafka's exception text is Java's; the status is what must agree
		}
		t.Logf("dump-log %v: exit %d\n%s%s", args, k.Code, k.Out, k.Err)
		if k.Out != g.Out || k.Code != g.Code || kerr != gerr {
			t.Errorf("dump-log %v differs:\nkafka (exit %d):\n%s%s\ngokafka (exit %d):\n%s%s", args, k.Code, k.Out, k.Err, g.Code, g.Out, g.Err)
		}
	}
}
