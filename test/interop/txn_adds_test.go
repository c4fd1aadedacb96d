package interop

import (
	"fmt"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestLeadersAddPartitionsAtOnce: a transaction version 2 producer (kgo)
// sends no AddPartitionsToTxn; each transaction's first batches reach the
// leaders of six partitions on three nodes at once, and each leader adds
// its partitions to the transaction. They wait for each other's write
// rather than refuse with CONCURRENT_TRANSACTIONS, which the producer was
// told as NOT_ENOUGH_REPLICAS and answered with a metadata refresh and a
// backoff: seconds per transaction. The wait is made long here so that a
// slow machine cannot outlast it: no Produce is answered
// NOT_ENOUGH_REPLICAS on any node, no record fails, and read_committed
// sees every record once.
func TestLeadersAddPartitionsAtOnce(t *testing.T) {
	c := harness.StartT(t, 3, "add.partitions.to.txn.retry.backoff.max.ms=10000")
	createTopic(t, c, "adds", 6, nil)
	cl := txnClient(t, c, "tx-adds", "adds")
	ctx := testCtx(t)
	const txns, perTxn = 20, 60
	var (
		mu     sync.Mutex
		failed []error
	)
	for i := range txns {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for j := range perTxn { // round robin: ten records on each partition
			cl.Produce(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("%d-%d", i, j))}, func(_ *kgo.Record, err error) {
				if err != nil {
					mu.Lock()
					failed = append(failed, err)
					mu.Unlock()
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d records failed, the first: %v", len(failed), failed[0])
	}
	for _, n := range c.Nodes {
		if v, _, err := n.Metric("gokafka_network_requestmetrics_errors_total", `request="Produce"`, `error="NOT_ENOUGH_REPLICAS"`); err != nil || v != 0 {
			t.Errorf("node %d answered %v Produce requests NOT_ENOUGH_REPLICAS (%v)", n.ID, v, err)
		}
	}
	got := valuesOf(t, c, "adds", txns*perTxn, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	for i := range txns {
		for j := range perTxn {
			if v := fmt.Sprintf("%d-%d", i, j); got[v] != 1 {
				t.Errorf("%s read %d times, want once", v, got[v])
			}
		}
	}
}
