package broker

import (
	"testing"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/txn"
)

// txnState is the __transaction_state record of transactional id "t" as
// producer 7 at epoch, with no transaction running.
func txnState(epoch int16) []protocol.KV {
	m := &txn.Metadata{TransactionalID: "t", ProducerID: 7, PrevProducerID: -1, ProducerEpoch: epoch,
		LastProducerEpoch: -1, TimeoutMs: 60000, State: txn.Empty, StartMs: -1, LastUpdateMs: 1}
	return []protocol.KV{{Key: txn.EncodeKey("t"), Value: txn.EncodeValue(m)}}
}

// describedEpoch is t's producer epoch as DescribeTransactions sees it, or
// the coordinator's error.
func describedEpoch(c *txn.Coordinator) (int16, protocol.ErrorCode) {
	m, err := c.Describe("t")
	if err != nil {
		return -1, protocol.Code(err)
	}
	return m.ProducerEpoch, protocol.None
}

// The transaction coordinator's load is the group coordinator's
// (TestOffsetsLoadWaitsForTheHighWatermark): a new leader of a
// __transaction_state partition whose log ends in a record of the old
// epoch that was never acknowledged, t's bump to epoch 1, answers
// COORDINATOR_LOAD_IN_PROGRESS until the high watermark covers it, then
// serves epoch 1 (fb73815: it used to load to the log end at once).
//
// It reads no further than the high watermark even then. The log holds
// t's bump to epoch 2 above it, appended in this leader epoch and held by
// no follower: acknowledged to nobody, and lost if the leadership moves
// now. A load to the log end would serve epoch 2.
func TestTxnLoadReadsToTheHighWatermark(t *testing.T) {
	b, p := leaderWithTail(t, klog.TopicPartition{Topic: txnTopic, Partition: 0}, txnState(0), txnState(1))
	if _, err := p.AppendAsLeader(protocol.BuildBatch(1, txnState(2)), 1); err != nil {
		t.Fatal(err)
	}
	tc := &txnCoordinator{b: b}
	tc.coord = txn.New(txn.DefaultConfig(), txn.Deps{Writer: txnLogWriter{b},
		PartitionOf: func(string) int32 { return 0 }, Logger: b.log})
	tc.scheduleLoad(p)
	var epoch int16
	loadWaitsForTheHighWatermark(t, p, func() (code protocol.ErrorCode) {
		epoch, code = describedEpoch(tc.coord)
		return code
	})
	if epoch != 1 {
		t.Fatalf("producer epoch %d once the high watermark covers the epoch start, want 1 (2 is above the high watermark)", epoch)
	}
	if end := p.Log().LogEndOffset(); end != 3 {
		t.Fatalf("log end %d, want 3: the setup lost its record above the high watermark", end)
	}
}
