package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/replica"
)

// Special timestamps of ListOffsets.
const (
	latestTimestamp        = -1
	earliestTimestamp      = -2
	maxTimestamp           = -3 // v7+: the record with the largest timestamp
	earliestLocalTimestamp = -4 // v8+: equals earliest without tiered storage
	latestTieredTimestamp  = -5 // v9+: none without tiered storage
	earliestPendingUpload  = -6 // v11+: none without tiered storage
)

// specialSince is the first ListOffsets version that knows each special
// timestamp; Kafka answers UNSUPPORTED_VERSION to one its version does not
// know, and to a negative timestamp no version knows.
var specialSince = map[int64]int16{latestTimestamp: 0, earliestTimestamp: 0, maxTimestamp: 7,
	earliestLocalTimestamp: 8, latestTieredTimestamp: 9, earliestPendingUpload: 11}

func handleListOffsets(b *Broker, c *conn, req *kmsg.ListOffsetsRequest) *kmsg.ListOffsetsResponse {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	md := b.coord.Metadata()
	for _, rt := range req.Topics {
		ot := kmsg.NewListOffsetsResponseTopic()
		ot.Topic = rt.Topic
		refusal := c.check(authzListOffsets, rt.Topic)
		for _, rp := range rt.Partitions {
			op := kmsg.NewListOffsetsResponseTopicPartition()
			op.Partition = rp.Partition
			p, err := b.localIfAllowed(refusal, md, rt.Topic, rp.Partition)
			if err == nil {
				err = listOffset(p, req, rp, &op)
			}
			if err != nil {
				op.ErrorCode = int16(protocol.Code(err))
				op.Offset, op.Timestamp, op.LeaderEpoch = -1, -1, -1
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		resp.Topics = append(resp.Topics, ot)
	}
	return resp
}

// listOffset answers one partition: the latest offset is the high watermark
// (the last stable offset for read_committed) for a client and the log end
// for a replica or a debugging tool (replica -2), as Kafka answers them when
// no isolation level applies; the earliest is the log
// start, and a timestamp finds the first record at or after it. A client
// is never shown an offset at or above the high watermark, and while a new
// leader's high watermark lags its epoch start it is told to retry rather
// than shown one that may be below what it already read (KIP-207).
func listOffset(p *replica.Partition, req *kmsg.ListOffsetsRequest, rp kmsg.ListOffsetsRequestTopicPartition, op *kmsg.ListOffsetsResponseTopicPartition) error {
	if err := p.CheckLeaderEpoch(rp.CurrentLeaderEpoch); err != nil {
		return err
	}
	leader, epoch := p.State()
	client := req.ReplicaID == -1
	if !p.IsLeader() && req.ReplicaID != -2 {
		return protocol.Errorf(protocol.NotLeaderOrFollower, "%s: leader is %d, lease held %v", p.TopicPartition(), leader, p.LeaseHeld())
	}
	lastFetchable := p.Log().LogEndOffset()
	switch {
	case client && req.IsolationLevel == 1:
		lastFetchable = p.LastStableOffset()
	case client:
		lastFetchable = p.HighWatermark()
	}
	lagging := client && p.HighWatermarkLagging()
	op.Timestamp, op.LeaderEpoch = -1, epoch
	if since, ok := specialSince[rp.Timestamp]; rp.Timestamp < 0 && (!ok || req.Version < since) {
		return protocol.Errorf(protocol.UnsupportedVersion, "%s: ListOffsets v%d does not know timestamp %d", p.TopicPartition(), req.Version, rp.Timestamp)
	}
	switch rp.Timestamp {
	case latestTimestamp:
		if lagging {
			return offsetNotAvailable(p, req.Version)
		}
		op.Offset = lastFetchable
		return nil
	case earliestTimestamp, earliestLocalTimestamp:
		op.Offset = p.Log().LogStartOffset()
		return nil
	case latestTieredTimestamp, earliestPendingUpload:
		// Nothing is tiered here: no offset, and no epoch either.
		op.Offset, op.LeaderEpoch = -1, -1
		return nil
	case maxTimestamp:
		var err error
		if op.Offset, op.Timestamp, err = p.Log().MaxTimestamp(); err != nil {
			return err
		}
	default:
		offset, ts, found, err := p.Log().FindOffsetByTimestamp(rp.Timestamp)
		if err != nil {
			return err
		}
		op.Offset, op.Timestamp = -1, -1
		if found {
			op.Offset, op.Timestamp = offset, ts
		}
	}
	if client && op.Offset >= lastFetchable {
		// Not yet readable: unknown, or retriable while the high
		// watermark lags (the record may well be below what was read).
		if lagging {
			return offsetNotAvailable(p, req.Version)
		}
		op.Offset, op.Timestamp = -1, -1
	}
	return nil
}

// offsetNotAvailable is KIP-207's answer to a client while the high
// watermark lags; versions before 5 do not know the code and get
// LEADER_NOT_AVAILABLE, as from Kafka. Both are retriable.
func offsetNotAvailable(p *replica.Partition, version int16) error {
	code := protocol.OffsetNotAvailable
	if version < 5 {
		code = protocol.LeaderNotAvailable
	}
	return protocol.Errorf(code, "%s: the new leader's high watermark %d is below the start of its epoch", p.TopicPartition(), p.HighWatermark())
}
