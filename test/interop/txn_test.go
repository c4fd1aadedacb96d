package interop

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// txnClient is a transactional franz-go producer of topic.
func txnClient(t *testing.T, c *harness.Cluster, id, topic string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return client(t, c, append([]kgo.Opt{kgo.TransactionalID(id), kgo.DefaultProduceTopic(topic),
		kgo.TransactionTimeout(10 * time.Second), kgo.RecordPartitioner(kgo.RoundRobinPartitioner())}, opts...)...)
}

// transact produces values in one transaction and commits or aborts it.
func transact(t *testing.T, cl *kgo.Client, commit bool, values ...string) {
	t.Helper()
	ctx := testCtx(t)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", v, err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction (commit %v): %v", commit, err)
	}
}

// valuesOf reads topic from the start until it has n records, and checks
// that no more arrive for a moment.
func valuesOf(t *testing.T, c *harness.Cluster, topic string, n int, opts ...kgo.Opt) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, r := range consumeN(t, c, topic, n, opts...) {
		got[string(r.Value)]++
	}
	return got
}

// TestTransactionsCommitAndAbort commits one transaction and aborts the
// next over three partitions, on one node and on three: read_committed
// sees the first only and read_uncommitted both, and control records
// reach neither. A third transaction shows the markers of the second
// were written (it would get CONCURRENT_TRANSACTIONS otherwise).
func TestTransactionsCommitAndAbort(t *testing.T) {
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d nodes", nodes), func(t *testing.T) {
			c := harness.StartT(t, nodes)
			createTopic(t, c, "txn", 3, nil)
			cl := txnClient(t, c, "tx-commit-abort", "txn")
			transact(t, cl, true, values("committed", 30)...)
			transact(t, cl, false, values("aborted", 30)...)
			transact(t, cl, true, values("later", 30)...)

			committed := valuesOf(t, c, "txn", 60, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
			all := valuesOf(t, c, "txn", 90, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
			for _, v := range append(values("committed", 30), values("later", 30)...) {
				if committed[v] != 1 || all[v] != 1 {
					t.Errorf("%s: read_committed %d times, read_uncommitted %d, want once each", v, committed[v], all[v])
				}
			}
			for _, v := range values("aborted", 30) {
				if committed[v] != 0 || all[v] != 1 {
					t.Errorf("%s: read_committed %d times, read_uncommitted %d, want 0 and 1", v, committed[v], all[v])
				}
			}
			described, err := kadm.NewClient(client(t, c)).DescribeTransactions(testCtx(t), "tx-commit-abort")
			if err != nil {
				t.Fatal(err)
			}
			if d, err := described.On("tx-commit-abort", nil); err != nil || d.State != "CompleteCommit" {
				t.Fatalf("described %+v, %v; want CompleteCommit", d, err)
			}
		})
	}
}

// TestTransactionalProducerFenced starts a second producer with the same
// transactional id while the first has a transaction open: the first is
// fenced, its transaction aborted, and the second's commits. On three
// nodes the coordinator and the partition leader are usually apart.
func TestTransactionalProducerFenced(t *testing.T) {
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d nodes", nodes), func(t *testing.T) { fenceOlderProducer(t, harness.StartT(t, nodes)) })
	}
}

func fenceOlderProducer(t *testing.T, c *harness.Cluster) {
	createTopic(t, c, "fenced", 1, nil)
	ctx := testCtx(t)
	old := txnClient(t, c, "tx-fenced", "fenced")
	if err := old.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := old.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	newer := txnClient(t, c, "tx-fenced", "fenced")
	transact(t, newer, true, "fresh")

	err := old.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie-2")}).FirstErr()
	if err == nil {
		err = old.EndTransaction(ctx, kgo.TryCommit)
	}
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("the older producer went on: %v, want PRODUCER_FENCED", err)
	}
	got := valuesOf(t, c, "fenced", 1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if got["fresh"] != 1 || got["zombie"] != 0 {
		t.Fatalf("read_committed saw %v, want only fresh", got)
	}
}

// TestAbandonedTransactionTimesOut SIGKILLs a producer process
// mid-transaction: after transaction.timeout.ms the coordinator aborts it,
// so a read_committed consumer gets past it to what a later producer
// commits, and the dead producer's epoch is fenced.
func TestAbandonedTransactionTimesOut(t *testing.T) {
	c := harness.StartT(t, 1, "transaction.abort.timed.out.transaction.cleanup.interval.ms=500")
	createTopic(t, c, "abandoned", 1, nil)
	killMidTransaction(t, c, "tx-dead", "abandoned")
	// Another producer's commit lands behind the open transaction.
	transact(t, txnClient(t, c, "tx-alive", "abandoned"), true, "after")
	start := time.Now()
	got := valuesOf(t, c, "abandoned", 1, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if got["after"] != 1 || got["abandoned"] != 0 {
		t.Fatalf("read_committed saw %v, want only after", got)
	}
	adm := kadm.NewClient(client(t, c))
	described, err := adm.DescribeTransactions(testCtx(t), "tx-dead")
	if err != nil {
		t.Fatal(err)
	}
	d, err := described.On("tx-dead", nil)
	if err != nil || d.State != "CompleteAbort" || d.ProducerEpoch != 1 {
		t.Fatalf("tx-dead described %+v, %v; want CompleteAbort with the dead producer's epoch 0 bumped to 1", d, err)
	}
	t.Logf("the abandoned transaction was aborted %v after the commit behind it", time.Since(start).Round(time.Millisecond))
}

// killMidTransaction runs a producer in a process of its own (this test
// binary, in TestTxnProducerProcess) that opens a transaction on topic
// with a 2 s timeout and writes to it, then SIGKILLs it.
func killMidTransaction(t *testing.T, c *harness.Cluster, id, topic string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTxnProducerProcess$")
	cmd.Env = append(os.Environ(), "TXN_PRODUCER="+strings.Join([]string{c.Seeds()[0], id, topic}, ","))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil || strings.TrimSpace(line) != "open" {
		t.Fatalf("the producer process said %q, %v; want open", line, err)
	}
}

// TestTxnProducerProcess is the producer killMidTransaction kills; it
// does nothing in a normal run.
func TestTxnProducerProcess(t *testing.T) {
	args := strings.Split(os.Getenv("TXN_PRODUCER"), ",")
	if len(args) != 3 {
		t.Skip("run by killMidTransaction")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(args[0]), kgo.TransactionalID(args[1]), kgo.DefaultProduceTopic(args[2]),
		kgo.TransactionTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(testCtx(t), &kgo.Record{Value: []byte("abandoned")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("open")
	time.Sleep(time.Minute) // until killed
}
