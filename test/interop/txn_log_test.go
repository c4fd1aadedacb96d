package interop

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// lastStable returns the partition's last stable offset (ListOffsets
// latest with read_committed), its log end and the start offset of
// producer pid's open transaction as DescribeProducers reports it.
func lastStable(t *testing.T, c *harness.Cluster, topic string, pid int64) (lso, end, txnStart int64) {
	t.Helper()
	adm := kadm.NewClient(client(t, c))
	ctx := testCtx(t)
	committed, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	c0, _ := committed.Lookup(topic, 0)
	e0, _ := ends.Lookup(topic, 0)
	if c0.Err != nil || e0.Err != nil {
		t.Fatalf("list offsets: %v, %v", c0.Err, e0.Err)
	}
	described, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	txnStart = -2 // producer unknown
	described.EachProducer(func(p kadm.DescribedProducer) {
		if p.ProducerID == pid {
			txnStart = p.CurrentTxnStartOffset
		}
	})
	return c0.Offset, e0.Offset, txnStart
}

// TestOpenTransactionSurvivesRestart leaves a transaction open at offset 0
// with a plain record behind it, SIGKILLs the node and then stops it
// cleanly: each time the partition comes back with the transaction open
// (the recovered producer state, then the snapshot), read_committed held
// at its start. The producer then commits, and both consumers and
// librdkafka read_committed see every record once, no control record.
func TestOpenTransactionSurvivesRestart(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "open-txn", 1, nil)
	ctx := testCtx(t)
	tx := txnClient(t, c, "tx-open", "open-txn", kgo.TransactionTimeout(60*time.Second))
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Value: []byte("in-txn")}
	if err := tx.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pid := rec.ProducerID
	produceN(t, c, "open-txn", "plain", 1) // offset 1, behind the open transaction
	check := func(when string) {
		t.Helper()
		if lso, end, start := lastStable(t, c, "open-txn", pid); lso != 0 || end != 2 || start != 0 {
			t.Fatalf("%s: last stable %d, end %d, producer %d's transaction from %d; want 0, 2, 0", when, lso, end, pid, start)
		}
	}
	check("before restarting")
	n := c.Nodes[0]
	n.Kill()
	restart(t, n)
	check("after SIGKILL")
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	restart(t, n)
	check("after a clean stop")

	if err := tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit after the restarts: %v", err)
	}
	harness.WaitFor(t, "the commit to move the last stable offset to the log end, 3", 15*time.Second, func() bool {
		lso, end, start := lastStable(t, c, "open-txn", pid)
		return lso == end && end == 3 && start == -1
	})
	want := []string{"in-txn", "plain-0"}
	checkValues(t, consumeN(t, c, "open-txn", 2, kgo.FetchIsolationLevel(kgo.ReadCommitted())), want)
	const script = `
import sys
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'unused', 'enable.auto.commit': False,
              'isolation.level': 'read_committed', 'enable.partition.eof': True})
c.assign([TopicPartition('open-txn', 0, OFFSET_BEGINNING)])
while True:
    m = c.poll(10)
    if m is None:
        sys.exit('timed out')
    if m.error():
        if m.error().code() == -191:  # _PARTITION_EOF
            break
        sys.exit('consume error: %s' % m.error())
    print('%s@%d' % (m.value().decode(), m.offset()))
c.close()
`
	if out := run(t, "", python, "-c", script, n.KafkaAddr); strings.TrimSpace(out) != "in-txn@0\nplain-0@1" {
		t.Fatalf("librdkafka read_committed read:\n%s", out)
	}
}
