package interop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/gokafka/gokafka/protocol/prototest"
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

// TestTransactionalWriteOutsideTransaction speaks the protocol by hand: a
// transactional batch for a partition its transaction has not added is
// refused (KIP-890 part 1: the leader asks the coordinator) and nothing is
// written; once added, it is written, holds the last stable offset, and
// an abort moves it past the marker.
func TestTransactionalWriteOutsideTransaction(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "rawtxn", 1, nil)
	cl := client(t, c)
	ctx := testCtx(t)
	id := "tx-raw"
	pid, epoch := initTransactional(t, ctx, cl, id)
	// Produce v10 and v11 only verify (KIP-890 part 1); v12 would add
	// the partition to the transaction (part 2), which txn_v2_test.go
	// checks. franz-go sends the highest version both sides know, so each
	// version has a client capped at it.
	pinned := map[int16]*kgo.Client{}
	for _, v := range []int16{10, 11} {
		vs := kversion.V4_0_0()
		vs.SetMaxKeyVersion(int16(kmsg.Produce), v)
		pinned[v] = client(t, c, kgo.MaxVersions(vs))
	}
	produce := func(seq int32, version int16) int16 {
		t.Helper()
		return produceTxnBatch(t, ctx, pinned[version], version, id, "rawtxn", pid, epoch, seq)
	}
	if code := produce(0, 10); code != kerr.InvalidTxnState.Code {
		t.Fatalf("v10 write to a partition outside the transaction: code %d, want INVALID_TXN_STATE", code)
	}
	if code := produce(0, 11); code != kerr.TransactionAbortable.Code {
		t.Fatalf("v11 write to a partition outside the transaction: code %d, want TRANSACTION_ABORTABLE", code)
	}
	if lso, end, _ := lastStable(t, c, "rawtxn", pid); lso != 0 || end != 0 {
		t.Fatalf("after the refused write: last stable %d, end %d; want nothing written", lso, end)
	}
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.Version, add.TransactionalID, add.ProducerID, add.ProducerEpoch = 3, id, pid, epoch
	add.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "rawtxn", Partitions: []int32{0}}}
	if resp, err := add.RequestWith(ctx, cl); err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("AddPartitionsToTxn: %v %+v", err, resp)
	}
	if code := produce(0, 11); code != 0 {
		t.Fatalf("write inside the transaction: code %d", code)
	}
	if lso, end, start := lastStable(t, c, "rawtxn", pid); lso != 0 || end != 1 || start != 0 {
		t.Fatalf("open transaction: last stable %d, end %d, start %d; want 0, 1, 0", lso, end, start)
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = id, pid, epoch, false
	if resp, err := end.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("EndTxn abort: %v %+v", err, resp)
	}
	harness.WaitFor(t, "the abort marker to move the last stable offset to 2", 15*time.Second, func() bool {
		lso, end, start := lastStable(t, c, "rawtxn", pid)
		return lso == 2 && end == 2 && start == -1
	})
}

// initTransactional gets transactional id's producer id and epoch with a
// raw InitProducerId, once its coordinator is up.
func initTransactional(t *testing.T, ctx context.Context, cl *kgo.Client, id string) (pid int64, epoch int16) {
	t.Helper()
	harness.WaitFor(t, "InitProducerId with a transactional id", 15*time.Second, func() bool {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = &id, 60000
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 {
			return false
		}
		pid, epoch = resp.ProducerID, resp.ProducerEpoch
		return true
	})
	return pid, epoch
}

// produceTxnBatch writes one transactional record to partition 0 of topic
// with a raw Produce of version (cl must negotiate it) and returns the
// partition's error code.
func produceTxnBatch(t *testing.T, ctx context.Context, cl *kgo.Client, version int16, id, topic string, pid int64, epoch int16, seq int32) int16 {
	t.Helper()
	b := prototest.Batch{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, Transactional: true,
		FirstTimestamp: time.Now().UnixMilli(), Values: []string{"v"}}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.TransactionID, req.Acks, req.TimeoutMillis = version, &id, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, topicIDOf(t, cl, topic) // by id from v13
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = b.Encode()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}
