package interop

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/group"
	"github.com/gokafka/gokafka/test/harness"
)

// TestTxnOffsetsStayPending commits an offset, then commits another in a
// transaction that never ends: OffsetFetch keeps answering the first,
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

	txnOffsetCommit(t, cl, 1000, 0, 9)

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

// txnOffsetCommit commits offset for txg's txo-0 in producer pid's
// transaction.
func txnOffsetCommit(t *testing.T, cl *kgo.Client, pid int64, epoch int16, offset int64) {
	t.Helper()
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch, req.Generation = "txo-id", "txg", pid, epoch, -1
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = "txo"
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Offset = offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("TxnOffsetCommit: %v", kerr.ErrorForCode(code))
	}
}

// TestTxnOffsetsFollowTheirMarker ends transactions holding offsets with
// WriteTxnMarkers, as a transaction coordinator does: a commit makes the
// offset the group's, an abort drops it, and a restarted node replays the
// markers to the same state.
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
	txnOffsetCommit(t, cl, 1000, 0, 9)
	writeMarker(t, cl, 1000, 0, true)
	want("after the commit marker", 9)
	txnOffsetCommit(t, cl, 1000, 0, 15)
	writeMarker(t, cl, 1000, 0, false)
	want("after the abort marker", 9)
	c.Nodes[0].Kill()
	restart(t, c.Nodes[0])
	cl = client(t, c)
	want("after SIGKILL and restart", 9)
}

// writeMarker ends producer pid's transaction on txg's partition of
// __consumer_offsets.
func writeMarker(t *testing.T, cl *kgo.Client, pid int64, epoch int16, commit bool) {
	t.Helper()
	meta, err := kmsg.NewPtrMetadataRequest().RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	n := int32(0)
	for _, mt := range meta.Topics {
		if mt.Topic != nil && *mt.Topic == "__consumer_offsets" {
			n = int32(len(mt.Partitions))
		}
	}
	if n == 0 {
		t.Fatal("no __consumer_offsets in the metadata")
	}
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed = pid, epoch, commit
	m.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "__consumer_offsets", Partitions: []int32{group.PartitionFor("txg", n)}}}
	req.Markers = append(req.Markers, m)
	resp, err := req.RequestWith(testCtx(t), cl.Broker(1))
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Markers[0].Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("WriteTxnMarkers: %v", kerr.ErrorForCode(code))
	}
}
