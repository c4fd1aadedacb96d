package broker

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/replica"
)

// txnProduce is a broker leading partitions 0..n-1 of topic "t" and a
// produce request of a transactional batch of producer 7 to each.
func txnProduce(t *testing.T, n int, epoch int16) (*Broker, []produceAppend, *kmsg.ProduceRequest) {
	t.Helper()
	lc := klog.DefaultManagerConfig()
	lc.Dirs = []string{t.TempDir()}
	b := newTestBroker(t, 1, lc)
	id := "txn-a"
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TransactionID = 12, 1, &id
	var ready []produceAppend
	for i := range n {
		tp := klog.TopicPartition{Topic: "t", Partition: int32(i)}
		l, err := b.logs.GetOrCreate(tp, [16]byte{7}, lc.Defaults)
		if err != nil {
			t.Fatal(err)
		}
		p := replica.NewPartition(tp, [16]byte{7}, l, 1, nil)
		p.ApplyState(coordinator.Partition{Leader: 1, ISR: []int32{1}, Replicas: []int32{1}}, 2)
		batch := prototest.Plain(0, "v")
		batch.ProducerID, batch.ProducerEpoch, batch.BaseSequence, batch.Transactional = 7, epoch, 0, true
		ready = append(ready, produceAppend{p: p, records: batch.Encode(), out: &kmsg.ProduceResponseTopicPartition{}})
	}
	return b, ready, req
}

// TestProduceVerifiesOncePerRequest: the first produce of a transaction
// to three partitions asks the coordinator once, for all three, not once
// for each (a write of the transaction's state each); a partition whose
// transaction is open already is not asked about again.
func TestProduceVerifiesOncePerRequest(t *testing.T) {
	b, ready, req := txnProduce(t, 3, 0)
	var asked [][]klog.TopicPartition
	b.verifyTxn = func(_ context.Context, id string, pid int64, epoch int16, tps []klog.TopicPartition, add bool) map[klog.TopicPartition]error {
		if id != "txn-a" || pid != 7 || epoch != 0 || !add {
			t.Errorf("asked about %q producer %d epoch %d add %v", id, pid, epoch, add)
		}
		asked = append(asked, slices.Clone(tps))
		return map[klog.TopicPartition]error{}
	}
	b.verifyTransactional(ready[:2], req)
	if len(asked) != 1 || len(asked[0]) != 2 {
		t.Fatalf("coordinator asked %v, want once about both partitions", asked)
	}
	for _, a := range ready[:2] {
		if a.err != nil || a.guard == 0 {
			t.Fatalf("%s: guard %d, error %v", a.p.TopicPartition(), a.guard, a.err)
		}
		if _, err := b.appendProduce(a, req); err != nil {
			t.Fatal(err)
		}
	}
	// A retry of the same batches (their transactions are open) and a
	// third partition: only the third is asked about.
	asked = nil
	b.verifyTransactional(ready, req)
	if len(asked) != 1 || !slices.Equal(asked[0], []klog.TopicPartition{ready[2].p.TopicPartition()}) {
		t.Fatalf("coordinator asked %v, want once about %s alone", asked, ready[2].p.TopicPartition())
	}
}

// TestProduceVerifyRefusals: what the coordinator answers reaches each
// partition as Kafka's leader hands it on: a busy coordinator reads
// NOT_ENOUGH_REPLICAS (retriable, no metadata refresh), a fenced producer
// INVALID_PRODUCER_EPOCH; the batch is not appended.
func TestProduceVerifyRefusals(t *testing.T) {
	b, ready, req := txnProduce(t, 2, 3)
	b.verifyTxn = func(_ context.Context, _ string, _ int64, _ int16, tps []klog.TopicPartition, _ bool) map[klog.TopicPartition]error {
		return map[klog.TopicPartition]error{
			tps[0]: protocol.Errorf(protocol.ConcurrentTransactions, "busy"),
			tps[1]: protocol.Errorf(protocol.ProducerFenced, "fenced"),
		}
	}
	b.verifyTransactional(ready, req)
	for i, want := range []protocol.ErrorCode{protocol.NotEnoughReplicas, protocol.InvalidProducerEpoch} {
		if _, err := b.appendProduce(ready[i], req); protocol.Code(err) != want {
			t.Errorf("%s: %v, want %v", ready[i].p.TopicPartition(), err, want)
		}
		if end := ready[i].p.Log().LogEndOffset(); end != 0 {
			t.Errorf("%s: refused batch appended, log end %d", ready[i].p.TopicPartition(), end)
		}
	}
}
