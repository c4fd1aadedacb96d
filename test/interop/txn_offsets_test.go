package interop

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// TestTxnOffsetsStayPending commits an offset, then commits another in a
// transaction that does not end: OffsetFetch keeps answering the first,
// and with RequireStable (KIP-447) answers UNSTABLE_OFFSET_COMMIT; after a
// SIGKILL and restart the reloaded coordinator says the same.
func TestTxnOffsetsStayPending(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "txo", 1, nil)
	cl := client(t, c)
	var commit kadm.Offsets
	commit.Add(kadm.Offset{Topic: "txo", Partition: 0, At: 5, LeaderEpoch: -1})
	if r, err := kadm.NewClient(cl).CommitOffsets(testCtx(t), "txg", commit); err != nil || r.Error() != nil {
		t.Fatalf("commit: %v %v", err, r.Error())
	}
	tx := beginOffsetsTxn(t, cl)
	tx.commitOffset(t, cl, 9)

	check := func(when string) {
		t.Helper()
		cl := client(t, c)
		deadline := time.Now().Add(20 * time.Second)
		for {
			offset, code := fetchOffset(t, cl, false)
			stableCode := int16(-1)
			if code == 0 {
				_, stableCode = fetchOffset(t, cl, true)
			}
			if offset == 5 && stableCode == kerr.UnstableOffsetCommit.Code {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: OffsetFetch %d (%v), with RequireStable %v; want 5 and UNSTABLE_OFFSET_COMMIT",
					when, offset, kerr.ErrorForCode(code), kerr.ErrorForCode(stableCode))
			}
			time.Sleep(200 * time.Millisecond) // the coordinator is loading
		}
	}
	check("pending")
	c.Nodes[0].Kill()
	restart(t, c.Nodes[0])
	check("after SIGKILL and restart")
}

// fetchOffset asks for txg's offset of txo-0: the offset and the first
// error, the group's or the partition's.
func fetchOffset(t *testing.T, cl *kgo.Client, requireStable bool) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.RequireStable = requireStable
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = "txg"
	g.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "txo", Partitions: []int32{0}}}
	req.Groups = append(req.Groups, g)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	rg := resp.Groups[0]
	if rg.ErrorCode != 0 || len(rg.Topics) == 0 {
		return -1, rg.ErrorCode
	}
	p := rg.Topics[0].Partitions[0]
	return p.Offset, p.ErrorCode
}

// offsetsTxn is a transaction of the transactional id txo-id that holds
// offsets of the group txg, driven by hand as a producer drives it.
type offsetsTxn struct {
	pid   int64
	epoch int16
}

// retry sends req until it answers something other than the retriable
// errors a coordinator gives while it loads or ends a transaction.
func retry(t *testing.T, send func() int16) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code := send()
		switch {
		case code == 0:
			return
		case code != kerr.CoordinatorLoadInProgress.Code && code != kerr.ConcurrentTransactions.Code &&
			code != kerr.CoordinatorNotAvailable.Code && code != kerr.NotCoordinator.Code || time.Now().After(deadline):
			t.Fatalf("%v", kerr.ErrorForCode(code))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// beginOffsetsTxn takes txo-id's producer id and adds txg's offsets
// partition to a new transaction (InitProducerId, AddOffsetsToTxn).
func beginOffsetsTxn(t *testing.T, cl *kgo.Client) *offsetsTxn {
	t.Helper()
	tx := &offsetsTxn{}
	retry(t, func() int16 {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = kmsg.StringPtr("txo-id"), 60000
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		tx.pid, tx.epoch = resp.ProducerID, resp.ProducerEpoch
		return resp.ErrorCode
	})
	tx.addOffsets(t, cl)
	return tx
}

func (tx *offsetsTxn) addOffsets(t *testing.T, cl *kgo.Client) {
	t.Helper()
	retry(t, func() int16 {
		req := kmsg.NewPtrAddOffsetsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group = "txo-id", tx.pid, tx.epoch, "txg"
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ErrorCode
	})
}

// commitOffset commits offset for txg's txo-0 in the transaction.
func (tx *offsetsTxn) commitOffset(t *testing.T, cl *kgo.Client, offset int64) {
	t.Helper()
	retry(t, func() int16 {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch, req.Generation = "txo-id", "txg", tx.pid, tx.epoch, -1
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = "txo", topicIDOf(t, cl, "txo") // by name before v6, by id after
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Offset = offset
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	})
}

// end commits or aborts the transaction (EndTxn); a coordinator that
// bumps the epoch per transaction (KIP-890 part 2) says so in the answer.
func (tx *offsetsTxn) end(t *testing.T, cl *kgo.Client, commit bool) {
	t.Helper()
	retry(t, func() int16 {
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = "txo-id", tx.pid, tx.epoch, commit
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode == 0 && resp.Version >= 5 && resp.ProducerID >= 0 {
			tx.pid, tx.epoch = resp.ProducerID, resp.ProducerEpoch
		}
		return resp.ErrorCode
	})
}

// TestTxnOffsetsFollowTheirMarker ends transactions holding offsets: the
// coordinator's commit marker makes the offset the group's, an abort
// marker drops it, and a restarted node replays both to the same state.
func TestTxnOffsetsFollowTheirMarker(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "txo", 1, nil)
	cl := client(t, c)
	want := func(when string, offset int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got, code := fetchOffset(t, cl, true)
			if got == offset && code == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: OffsetFetch with RequireStable %d (%v), want %d", when, got, kerr.ErrorForCode(code), offset)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	tx := beginOffsetsTxn(t, cl)
	tx.commitOffset(t, cl, 9)
	tx.end(t, cl, true)
	want("after the commit", 9)
	tx.addOffsets(t, cl)
	tx.commitOffset(t, cl, 15)
	tx.end(t, cl, false)
	want("after the abort", 9)
	c.Nodes[0].Kill()
	restart(t, c.Nodes[0])
	cl = client(t, c)
	want("after SIGKILL and restart", 9)
}
