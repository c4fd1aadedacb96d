package interop

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// TestTransactionV2ImplicitAdd drives KIP-890 part 2 on the wire, as a
// client does once ApiVersions finalizes transaction.version 2: Produce
// v12 opens the transaction with no AddPartitionsToTxn (the leader adds
// the partition), EndTxn v5 bumps the epoch, the marker carries the
// bumped epoch (DescribeProducers shows it), the next transaction starts
// at sequence 0 of that epoch, and the old epoch is refused.
func TestTransactionV2ImplicitAdd(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "tv2", 1, nil)
	cl := client(t, c)
	ctx := testCtx(t)

	av := kmsg.NewPtrApiVersionsRequest()
	av.ClientSoftwareName, av.ClientSoftwareVersion = "tv2", "1"
	avr, err := av.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	finalized := int16(-1)
	for _, f := range avr.FinalizedFeatures {
		if f.Name == "transaction.version" {
			finalized = f.MaxVersionLevel
		}
	}
	if finalized != 2 || avr.FinalizedFeaturesEpoch < 0 {
		t.Fatalf("ApiVersions finalizes transaction.version %d at epoch %d, want 2", finalized, avr.FinalizedFeaturesEpoch)
	}

	id := "tx-v2"
	pid, epoch := initTransactional(t, ctx, cl, id)
	produce := func(epoch int16, seq int32) int16 {
		t.Helper()
		return produceTxnBatch(t, ctx, cl, 12, id, "tv2", pid, epoch, seq)
	}
	endTxn := func(epoch int16, commit bool) int16 {
		t.Helper()
		req := kmsg.NewPtrEndTxnRequest()
		req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = 5, id, pid, epoch, commit
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 || resp.ProducerID != pid {
			t.Fatalf("EndTxn v5: %v %+v", err, resp)
		}
		return resp.ProducerEpoch
	}
	producerEpoch := func() int16 {
		t.Helper()
		d, err := kadm.NewClient(cl).DescribeProducers(ctx, kadm.TopicsSet{"tv2": {0: {}}})
		if err != nil {
			t.Fatal(err)
		}
		e := int16(-2)
		d.EachProducer(func(p kadm.DescribedProducer) {
			if p.ProducerID == pid {
				e = p.ProducerEpoch
			}
		})
		return e
	}

	if code := produce(epoch, 0); code != 0 {
		t.Fatalf("Produce v12 with no AddPartitionsToTxn: %v", kerr.ErrorForCode(code))
	}
	dt := kmsg.NewPtrDescribeTransactionsRequest()
	dt.TransactionalIDs = []string{id}
	dresp, err := dt.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if st := dresp.TransactionStates[0]; st.State != "Ongoing" || len(st.Topics) != 1 || st.Topics[0].Topic != "tv2" {
		t.Fatalf("after Produce v12 the coordinator holds %+v, want tv2 in an Ongoing transaction", st)
	}
	bumped := endTxn(epoch, true)
	if bumped != epoch+1 {
		t.Fatalf("EndTxn v5 answered epoch %d, want %d", bumped, epoch+1)
	}
	harness.WaitFor(t, "the commit marker", 15*time.Second, func() bool {
		lso, end, start := lastStable(t, c, "tv2", pid)
		return lso == 2 && end == 2 && start == -1
	})
	if e := producerEpoch(); e != bumped {
		t.Fatalf("after the marker the partition holds epoch %d, want the bumped %d", e, bumped)
	}
	if code := produce(bumped, 0); code != 0 {
		t.Fatalf("next transaction at the bumped epoch, sequence 0: %v", kerr.ErrorForCode(code))
	}
	if code := produce(epoch, 1); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("write at the old epoch: %v, want INVALID_PRODUCER_EPOCH", kerr.ErrorForCode(code))
	}
	if again := endTxn(bumped, false); again != bumped+1 {
		t.Fatalf("EndTxn v5 abort answered epoch %d, want %d", again, bumped+1)
	}
	harness.WaitFor(t, "the abort marker", 15*time.Second, func() bool {
		lso, end, start := lastStable(t, c, "tv2", pid)
		return lso == 4 && end == 4 && start == -1
	})
	if e := producerEpoch(); e != bumped+1 {
		t.Fatalf("after the abort the partition holds epoch %d, want %d", e, bumped+1)
	}
}
