package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestTurnsCountWhole: the transactional case and its baseline in turns
// on kfake. Each turn is timed whole, to its last acknowledgement and
// commit, so each case's time is at least its share of the duration;
// both count records without errors, and each pair of turns gives a
// ratio.
func TestTurnsCountWhole(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	idem := workload{Name: "idem", RecordSize: 100, AllAcks: true, Partitions: 2, Replication: 1, Nodes: 1}
	txn := idem
	txn.Name, txn.TxnRecords, txn.Baseline = "txn", 100, "idem"
	o := runOpts{Duration: 600 * time.Millisecond, Inflight: 256}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ri, rt, pairs, err := runTurns(ctx, c.ListenAddrs(), idem, txn, "turns", o, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 3 {
		t.Fatalf("%d ratios of pairs of turns, want one for each of the 3 pairs", len(pairs))
	}
	for _, r := range []result{ri, rt} {
		if r.Records == 0 || r.Elapsed < o.Duration || r.Errors != 0 {
			t.Fatalf("%d records in %v, %d errors: want records over at least %v", r.Records, r.Elapsed, r.Errors, o.Duration)
		}
	}
}
