package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/replica"
)

// fetchAs fetches p from offset as a consumer with the isolation
// level given, and returns the offsets of the batches it got and the
// aborted transactions listed.
func fetchAs(t *testing.T, p *replica.Partition, offset int64, isolation int8) ([][2]int64, []kmsg.FetchResponseTopicPartitionAbortedTransaction) {
	t.Helper()
	op := kmsg.NewFetchResponseTopicPartition()
	ft := &fetchTarget{req: kmsg.FetchRequestTopicPartition{FetchOffset: offset, CurrentLeaderEpoch: -1, PartitionMaxBytes: 1 << 20}, p: p, out: &op}
	if _, err := (&Broker{}).readPartition(ft, isolation, false, 1<<20, true, false); err != nil {
		t.Fatal(err)
	}
	var got [][2]int64
	for b := op.RecordBatches; len(b) > 0; {
		h, _, rest, err := protocol.NextBatch(b)
		if err != nil {
			t.Fatal(err)
		}
		got, b = append(got, [2]int64{h.BaseOffset, h.LastOffset()}), rest
	}
	if isolation == 0 && op.AbortedTransactions != nil {
		t.Fatalf("read_uncommitted got aborted transactions %+v", op.AbortedTransactions)
	}
	if isolation == 1 && op.AbortedTransactions == nil {
		t.Fatal("read_committed got a null list of aborted transactions")
	}
	return got, op.AbortedTransactions
}

// A transaction on a leader: the last stable offset holds read_committed
// consumers (Fetch and ListOffsets) at its first offset until the abort
// marker is written and replicated; then they read past it and are told
// which producer's records to drop. Clients may not write markers.
func TestReadCommittedStopsAtOpenTransaction(t *testing.T) {
	p := leaderOf(t, nil) // offsets 0-2, ISR 1,3
	txn := prototest.Plain(1, "t1", "t2")
	txn.ProducerID, txn.ProducerEpoch, txn.BaseSequence, txn.Transactional = 5, 0, 0, true
	if _, err := p.AppendAsLeader(txn.Encode(), -1); err != nil { // 3-4
		t.Fatal(err)
	}
	p.FollowerFetched(3, 0, 5, true, time.Minute, time.Now())
	if hw, lso := p.HighWatermark(), p.LastStableOffset(); hw != 5 || lso != 3 {
		t.Fatalf("high watermark %d, last stable %d; want 5 and 3", hw, lso)
	}
	if got, _ := fetchAs(t, p, 0, 1); len(got) != 1 || got[0] != [2]int64{0, 2} {
		t.Fatalf("read_committed got %v, want only 0-2", got)
	}
	if got, _ := fetchAs(t, p, 0, 0); len(got) != 2 {
		t.Fatalf("read_uncommitted got %v, want 0-2 and 3-4", got)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version, req.ReplicaID, req.IsolationLevel = 7, -1, 1
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp, rp.CurrentLeaderEpoch = latestTimestamp, -1
	op := kmsg.NewListOffsetsResponseTopicPartition()
	if err := listOffset(p, req, rp, &op); err != nil || op.Offset != 3 {
		t.Fatalf("ListOffsets latest read_committed: %d %v, want 3", op.Offset, err)
	}
	marker := protocol.EndTxnMarker(5, 0, false, 0, 1)
	if _, err := p.AppendAsLeader(marker, -1); protocol.Code(err) != protocol.InvalidRecord {
		t.Fatalf("a client's marker: %v, want INVALID_RECORD", err)
	}
	if _, err := p.AppendLeader(marker, -1, klog.AppendOptions{Origin: klog.OriginCoordinator}); err != nil { // 5
		t.Fatal(err)
	}
	// Kafka's rule: a transaction stays unstable until the high watermark
	// passes its marker, since a new leader without the marker would hold
	// it open (the last stable offset here was the high watermark, 5).
	if hw, lso := p.HighWatermark(), p.LastStableOffset(); hw != 5 || lso != 3 {
		t.Fatalf("high watermark %d, last stable %d before the marker is replicated; want 5 and 3", hw, lso)
	}
	p.FollowerFetched(3, 0, 6, true, time.Minute, time.Now())
	if lso := p.LastStableOffset(); lso != 6 {
		t.Fatalf("last stable %d once the marker is replicated, want the high watermark 6", lso)
	}
	got, aborted := fetchAs(t, p, 0, 1)
	if len(got) != 3 || got[2] != [2]int64{5, 5} {
		t.Fatalf("read_committed after the abort got %v, want 0-2, 3-4 and the marker at 5", got)
	}
	if len(aborted) != 1 || aborted[0].ProducerID != 5 || aborted[0].FirstOffset != 3 {
		t.Fatalf("aborted transactions %+v, want producer 5 from 3", aborted)
	}
	if _, aborted := fetchAs(t, p, 6, 1); len(aborted) != 0 {
		t.Fatalf("aborted transactions past the marker: %+v", aborted)
	}
	if infos := p.Log().Producers(); len(infos) != 1 || infos[0].CurrentTxnStartOffset != -1 {
		t.Fatalf("producers %+v, want 5 with no transaction open", infos)
	}
}
