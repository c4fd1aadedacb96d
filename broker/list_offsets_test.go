package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/replica"
)

// newLeaderWithLaggingHW returns partition t-0 that followed broker 2 in
// epoch 0, holding three records but told only of high watermark 1, and
// now leads epoch 1 with ISR 1,2,3: its epoch starts at 3.
func newLeaderWithLaggingHW(t *testing.T) *replica.Partition {
	p := leaderOf(t, nil)
	p.Log().TruncateTo(0)
	p.ApplyState(coordinator.Partition{Leader: 2, LeaderEpoch: 1, ISR: []int32{1, 2, 3}, Replicas: []int32{1, 2, 3}}, 1)
	if err := p.TruncateForLeader(-1, -1); err != nil { // the fetcher's first step; the log is empty
		t.Fatal(err)
	}
	if err := p.AppendAsFollower(2, 1, prototest.Plain(0, "a", "b", "c").Encode(), 1, 0); err != nil {
		t.Fatal(err)
	}
	p.ApplyState(coordinator.Partition{Leader: 1, LeaderEpoch: 2, ISR: []int32{1, 2, 3}, Replicas: []int32{1, 2, 3}}, 1)
	return p
}

func listOffsetCode(p *replica.Partition, version int16, replica int32, timestamp int64) (int64, protocol.ErrorCode) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version, req.ReplicaID = version, replica
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp, rp.CurrentLeaderEpoch = timestamp, -1
	op := kmsg.NewListOffsetsResponseTopicPartition()
	if err := listOffset(p, req, rp, &op); err != nil {
		return -1, protocol.Code(err)
	}
	return op.Offset, 0
}

// A new leader whose high watermark (1) is below the start of its epoch
// (3) may be below what consumers read from the old leader: it answers
// latest, and any lookup landing at or above it, with OFFSET_NOT_AVAILABLE
// (LEADER_NOT_AVAILABLE before v5) until the ISR catches up (KIP-207).
func TestListOffsetsWaitsForTheEpochStart(t *testing.T) {
	p := newLeaderWithLaggingHW(t)
	if hw := p.HighWatermark(); hw != 1 {
		t.Fatalf("high watermark %d, want 1 taken over from following", hw)
	}
	for _, c := range []struct {
		version   int16
		replica   int32
		timestamp int64
		offset    int64
		code      protocol.ErrorCode
	}{
		{7, -1, latestTimestamp, -1, protocol.OffsetNotAvailable},
		{4, -1, latestTimestamp, -1, protocol.LeaderNotAvailable},
		{7, -1, maxTimestamp, -1, protocol.OffsetNotAvailable},
		{7, -1, earliestTimestamp, 0, 0},
		{7, -1, 0, 0, 0},               // the first record is below the high watermark
		{7, -2, latestTimestamp, 3, 0}, // a debugging tool's: the log end, no KIP-207 error
	} {
		if offset, code := listOffsetCode(p, c.version, c.replica, c.timestamp); offset != c.offset || code != c.code {
			t.Errorf("v%d replica %d timestamp %d: offset %d code %d, want %d code %d", c.version, c.replica, c.timestamp, offset, code, c.offset, c.code)
		}
	}
	if !p.HighWatermarkLagging() {
		t.Fatal("high watermark 1 below epoch start 3 not lagging")
	}
	now := time.Now()
	p.FollowerFetched(2, 2, 3, true, time.Minute, now)
	p.FollowerFetched(3, 2, 3, true, time.Minute, now)
	if offset, code := listOffsetCode(p, 7, -1, latestTimestamp); offset != 3 || code != 0 {
		t.Fatalf("latest once the ISR holds the epoch start: offset %d code %d, want 3", offset, code)
	}
	if offset, code := listOffsetCode(p, 7, -1, maxTimestamp); offset != 2 || code != 0 {
		t.Fatalf("max timestamp with all records committed: offset %d code %d, want 2", offset, code)
	}
}

// Each special timestamp is known from its version on: earlier, and for a
// negative timestamp no version knows, the answer is UNSUPPORTED_VERSION,
// as Kafka 4.4's. Without tiered storage the latest tiered offset (v9)
// and the earliest pending upload (v11) are none.
func TestListOffsetsSpecialTimestampsByVersion(t *testing.T) {
	p := leaderOf(t, nil)
	for _, c := range []struct {
		version   int16
		timestamp int64
		offset    int64
		code      protocol.ErrorCode
	}{
		{6, maxTimestamp, -1, protocol.UnsupportedVersion},
		{7, earliestLocalTimestamp, -1, protocol.UnsupportedVersion},
		{8, earliestLocalTimestamp, 0, 0},
		{8, latestTieredTimestamp, -1, protocol.UnsupportedVersion},
		{9, latestTieredTimestamp, -1, 0},
		{10, earliestPendingUpload, -1, protocol.UnsupportedVersion},
		{11, earliestPendingUpload, -1, 0},
		{11, -7, -1, protocol.UnsupportedVersion},
		{11, -1 << 62, -1, protocol.UnsupportedVersion},
	} {
		if offset, code := listOffsetCode(p, c.version, -1, c.timestamp); offset != c.offset || code != c.code {
			t.Errorf("v%d timestamp %d: offset %d, code %d; want %d, %d", c.version, c.timestamp, offset, code, c.offset, c.code)
		}
	}
}
