package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// KIP-951: a produce (v10+) or fetch (v16+) answered with
// NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH names the current leader
// and its endpoint, so the client moves without a metadata round trip.

// leaderHint returns the current leader of a partition, its epoch and its
// endpoint on listener; ok is false when there is none to name.
func leaderHint(md *coordinator.Metadata, topic string, partition int32, listener string) (id, epoch int32, ep coordinator.Endpoint, ok bool) {
	t := md.Topic(topic)
	if t == nil || partition < 0 || int(partition) >= len(t.Partitions) {
		return -1, -1, ep, false
	}
	p := t.Partitions[partition]
	if ep, ok := endpointOf(md, p.Leader, listener); ok {
		return p.Leader, p.LeaderEpoch, ep, true
	}
	return -1, -1, ep, false
}

func movedLeader(code int16) bool {
	return code == int16(protocol.NotLeaderOrFollower) || code == int16(protocol.FencedLeaderEpoch)
}

func (b *Broker) addProduceLeaderHints(md *coordinator.Metadata, listener string, resp *kmsg.ProduceResponse) {
	if resp.Version < 10 {
		return
	}
	seen := map[int32]bool{}
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			if !movedLeader(rp.ErrorCode) {
				continue
			}
			id, epoch, ep, ok := leaderHint(md, rt.Topic, rp.Partition, listener)
			if !ok {
				continue
			}
			rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = id, epoch
			if !seen[id] {
				seen[id] = true
				rb := kmsg.NewProduceResponseBroker()
				rb.NodeID, rb.Host, rb.Port = id, ep.Host, ep.Port
				resp.Brokers = append(resp.Brokers, rb)
			}
		}
	}
}

func (b *Broker) addFetchLeaderHints(md *coordinator.Metadata, listener string, resp *kmsg.FetchResponse) {
	if resp.Version < 12 {
		return
	}
	seen := map[int32]bool{}
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		name := rt.Topic
		if resp.Version >= 13 {
			if t := md.TopicByID(rt.TopicID); t != nil {
				name = t.Name
			}
		}
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			if !movedLeader(rp.ErrorCode) {
				continue
			}
			id, epoch, ep, ok := leaderHint(md, name, rp.Partition, listener)
			if !ok {
				continue
			}
			rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = id, epoch
			if resp.Version >= 16 && !seen[id] {
				seen[id] = true
				rb := kmsg.NewFetchResponseBroker()
				rb.NodeID, rb.Host, rb.Port = id, ep.Host, ep.Port
				resp.Brokers = append(resp.Brokers, rb)
			}
		}
	}
}
