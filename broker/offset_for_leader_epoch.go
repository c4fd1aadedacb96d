package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// handleOffsetForLeaderEpoch tells a follower (or a KIP-320 consumer) where
// a leader epoch ends in the leader's log: the largest epoch at or below
// the one asked for and the start of the next, or the log end for the
// latest. The asker truncates anything of its own past that point.
func handleOffsetForLeaderEpoch(b *Broker, c *conn, req *kmsg.OffsetForLeaderEpochRequest) *kmsg.OffsetForLeaderEpochResponse {
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	md := b.coord.Metadata()
	// Followers have ClusterAction; consumers (KIP-320) Describe per topic.
	follower := c.may(authzEpochCluster, "")
	for _, rt := range req.Topics {
		ot := kmsg.NewOffsetForLeaderEpochResponseTopic()
		ot.Topic = rt.Topic
		var refusal error
		if !follower {
			refusal = c.check(authzEpochTopic, rt.Topic)
		}
		for _, rp := range rt.Partitions {
			op := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			op.Partition, op.LeaderEpoch, op.EndOffset = rp.Partition, -1, -1
			p, err := b.localIfAllowed(refusal, md, rt.Topic, rp.Partition)
			if err == nil {
				err = p.CheckLeaderEpoch(rp.CurrentLeaderEpoch)
			}
			if err == nil && !p.IsLeader() {
				err = protocol.Errorf(protocol.NotLeaderOrFollower, "%s: not the leader", p.TopicPartition())
			}
			if err != nil {
				op.ErrorCode = int16(protocol.Code(err))
			} else {
				op.LeaderEpoch, op.EndOffset = p.Log().EndOffsetForEpoch(rp.LeaderEpoch)
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		resp.Topics = append(resp.Topics, ot)
	}
	return resp
}
