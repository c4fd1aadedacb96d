package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/replica"
)

// A leader whose broker lost its lease (cut off from the controller past
// the session timeout, which may have fenced it and elected another) takes
// no writes and answers no consumer, until the lease is taken up again;
// its followers may go on fetching.
func TestLeaderWithoutLeaseServesNoClient(t *testing.T) {
	lease := replica.NewLease()
	lease.Extend(time.Now().Add(time.Hour))
	p := leaderOf(t, lease)
	if !p.IsLeader() {
		t.Fatal("a leader holding its lease does not lead")
	}
	lease.Extend(time.Now().Add(-time.Millisecond))
	if _, err := p.AppendAsLeader(prototest.Plain(0, "d").Encode(), 1); protocol.Code(err) != protocol.NotLeaderOrFollower {
		t.Fatalf("append without the lease: %v, want NOT_LEADER_OR_FOLLOWER", err)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp, rp.CurrentLeaderEpoch = -1, -1
	var op kmsg.ListOffsetsResponseTopicPartition
	if err := listOffset(p, req, rp, &op); protocol.Code(err) != protocol.NotLeaderOrFollower {
		t.Fatalf("ListOffsets without the lease: %v (offset %d), want NOT_LEADER_OR_FOLLOWER", err, op.Offset)
	}
	for _, follower := range []bool{false, true} {
		ft := &fetchTarget{p: p, req: kmsg.FetchRequestTopicPartition{CurrentLeaderEpoch: -1}, out: &kmsg.FetchResponseTopicPartition{}}
		_, err := fetchLimit(ft, 0, follower)
		if want := !follower; (protocol.Code(err) == protocol.NotLeaderOrFollower) != want {
			t.Errorf("fetch without the lease, follower %v: %v, want refused %v", follower, err, want)
		}
	}
	lease.Extend(time.Now().Add(time.Hour))
	if _, err := p.AppendAsLeader(prototest.Plain(0, "d").Encode(), 1); err != nil {
		t.Fatalf("append with the lease taken up again: %v", err)
	}
}
