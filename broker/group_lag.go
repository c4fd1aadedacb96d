package broker

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
)

// GroupOffsetStats is one committed offset of a group this broker
// coordinates, with the partition's high watermark (-1 when unknown), so
// that lag is computed where the offsets live.
type GroupOffsetStats struct {
	Group string
	klog.TopicPartition
	Committed     int64
	HighWatermark int64
}

// GroupOffsetStats returns every committed offset of the groups loaded
// here. High watermarks come from local replicas (a follower's trails its
// leader's by at most one fetch) and, for partitions with no replica here,
// from one ListOffsets per leader, each bounded by timeout.
func (b *Broker) GroupOffsetStats(timeout time.Duration) []GroupOffsetStats {
	var out []GroupOffsetStats
	b.groups.EachCommitted(func(group string, tp klog.TopicPartition, o grp.Offset) {
		out = append(out, GroupOffsetStats{Group: group, TopicPartition: tp, Committed: o.Offset, HighWatermark: -1})
	})

	md := b.coord.Metadata()
	remote := map[int32][]klog.TopicPartition{} // leader -> partitions to ask it
	for i := range out {
		tp := out[i].TopicPartition
		if p := b.replicas.Get(tp); p != nil {
			if !p.HighWatermarkLagging() { // else unknown: it may be below the committed offset
				out[i].HighWatermark = p.HighWatermark()
			}
		} else if md.HasPartition(tp.Topic, tp.Partition) {
			if leader := md.Topic(tp.Topic).Partitions[tp.Partition].Leader; leader >= 0 {
				remote[leader] = append(remote[leader], tp)
			}
		}
	}
	hws := map[klog.TopicPartition]int64{}
	for leader, tps := range remote {
		if err := b.remoteHighWatermarks(leader, tps, timeout, hws); err != nil {
			b.log.Debug("group lag: no high watermarks from the leader", "leader", leader, "err", err)
		}
	}
	for i := range out {
		if hw, ok := hws[out[i].TopicPartition]; ok && out[i].HighWatermark < 0 {
			out[i].HighWatermark = hw
		}
	}
	return out
}

// remoteHighWatermarks asks leader for the latest offsets of tps.
func (b *Broker) remoteHighWatermarks(leader int32, tps []klog.TopicPartition, timeout time.Duration, into map[klog.TopicPartition]int64) error {
	addr, err := b.peerAddr(leader)
	if err != nil {
		return err
	}
	pc, err := dialPeer(addr, b.cfg.NodeID, b.cfg.Peer)
	if err != nil {
		return err
	}
	defer pc.Close()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version, req.ReplicaID = 4, -1
	byTopic := map[string]int{}
	for _, tp := range tps {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[tp.Topic] = i
			req.Topics = append(req.Topics, kmsg.ListOffsetsRequestTopic{Topic: tp.Topic})
		}
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = tp.Partition, -1
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	resp, err := pc.Request(req, timeout)
	if err != nil {
		return err
	}
	for _, t := range resp.(*kmsg.ListOffsetsResponse).Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode == 0 {
				into[klog.TopicPartition{Topic: t.Topic, Partition: p.Partition}] = p.Offset
			}
		}
	}
	return nil
}

// peerAddr is broker id's advertised address on our inter-broker listener
// (inter.broker.listener.name, else the first listener this broker has).
func (b *Broker) peerAddr(id int32) (string, error) {
	name := b.cfg.InterBrokerListener
	if name == "" {
		name = b.cfg.Listeners[0].Name
	}
	br := b.coord.Metadata().Broker(id)
	if br == nil {
		return "", fmt.Errorf("broker %d is not registered", id)
	}
	for _, l := range br.Listeners {
		if l.Name == name {
			return net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port))), nil
		}
	}
	return "", fmt.Errorf("broker %d has no %s listener", id, name)
}
