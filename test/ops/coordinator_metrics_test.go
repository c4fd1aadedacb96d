package ops

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestCoordinatorMetrics scrapes a node after the coordinators worked: a
// group's commit of two offsets, a committed and an aborted transaction
// over three partitions each, and a transaction abandoned past its
// timeout. Each series is read as an operator's query would.
func TestCoordinatorMetrics(t *testing.T) {
	c := harness.StartT(t, 1, "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1", "transaction.abort.timed.out.transaction.cleanup.interval.ms=200")
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 3, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}

	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "t", Partition: 0, At: 0, LeaderEpoch: -1})
	offsets.Add(kadm.Offset{Topic: "t", Partition: 1, At: 0, LeaderEpoch: -1})
	if rs, err := kadm.NewClient(adm).CommitOffsets(ctx, "g", offsets); err != nil || rs.Error() != nil {
		t.Fatalf("commit: %v %v", err, rs.Error())
	}

	producer := func(id string, timeout time.Duration) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic("t"), kgo.TransactionalID(id),
			kgo.TransactionTimeout(timeout), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	transact := func(cl *kgo.Client, commit bool) {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"a", "b", "c"} { // one record on each partition
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if commit {
			if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cl := producer("tx", 10*time.Second)
	transact(cl, true)
	transact(cl, false)
	if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	transact(producer("abandoned", time.Second), false) // left Ongoing: the coordinator aborts it

	expect := func(what string, want float64, name string, labels ...string) {
		t.Helper()
		harness.WaitFor(t, what, 15*time.Second, func() bool {
			v, found, err := n.Metric(name, labels...)
			return err == nil && found && v == want
		})
	}
	expect("the abandoned transaction timed out", 1, "gokafka_server_transaction_coordinator_metrics_transactions_total", `result="timed_out"`)
	expect("one commit", 1, "gokafka_server_transaction_coordinator_metrics_transactions_total", `result="committed"`)
	expect("two aborts, the timed-out one among them", 2, "gokafka_server_transaction_coordinator_metrics_transactions_total", `result="aborted"`)
	expect("nine markers written", 9, "gokafka_coordinator_transaction_transactionmarkerchannelmanager_markers_sent_total")
	expect("no marker waiting", 0, "gokafka_coordinator_transaction_transactionmarkerchannelmanager_markers_queued")
	expect("both ids CompleteAbort", 2, "gokafka_server_transaction_coordinator_metrics_transactions", `state="CompleteAbort"`)
	expect("no id Ongoing", 0, "gokafka_server_transaction_coordinator_metrics_transactions", `state="Ongoing"`)
	expect("two offsets committed", 2, "gokafka_server_group_coordinator_metrics_offset_commit_total")
	expect("two offsets held", 2, "gokafka_coordinator_group_groupmetadatamanager_numoffsets")
	expect("one group, known by its offsets", 1, "gokafka_coordinator_group_groupmetadatamanager_numgroupsempty")
	expect("one group", 1, "gokafka_coordinator_group_groupmetadatamanager_numgroups")
	for _, name := range []string{"gokafka_server_transaction_coordinator_metrics_partition_load_time_max",
		"gokafka_server_group_coordinator_metrics_partition_load_time_max"} {
		maxMs := harness.Metric(t, n, name)
		avgMs := harness.Metric(t, n, name[:len(name)-len("max")]+"avg")
		if maxMs < avgMs || maxMs > 60000 {
			t.Errorf("%s %v with avg %v: want max >= avg, under a minute", name, maxMs, avgMs)
		}
	}
}
