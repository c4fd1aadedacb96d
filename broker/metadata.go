package broker

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

func handleMetadata(b *Broker, c *conn, req *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	md := b.coord.Metadata()
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if !all {
		req.Topics = uniqueTopics(req.Topics)
		md = b.autoCreateForMetadata(md, req)
	}
	resp.Brokers = b.brokerList(md, c.listener)
	resp.ClusterID = &md.ClusterID
	// As in KRaft, clients are pointed at this broker for admin requests:
	// any broker forwards them to the active controller, wherever it is.
	resp.ControllerID = b.cfg.NodeID
	if all {
		names := make([]string, 0, len(md.Topics))
		for name := range md.Topics {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			resp.Topics = append(resp.Topics, topicMetadata(md, md.Topics[name]))
		}
		return resp
	}
	resp.Topics = make([]kmsg.MetadataResponseTopic, 0, len(req.Topics))
	for _, rt := range req.Topics {
		resp.Topics = append(resp.Topics, requestedTopicMetadata(md, rt))
	}
	req.Topics = nil // the answer holds what it needs: free the array before it is encoded
	return resp
}

// uniqueTopics drops repeated names and IDs from the request, as Kafka
// reads the requested topics into a set: a request naming one topic a
// million times is answered once. Sorting in place and compacting costs no
// memory beyond the request itself; the answer's order is the set's, as in
// Kafka, not the request's.
func uniqueTopics(topics []kmsg.MetadataRequestTopic) []kmsg.MetadataRequestTopic {
	slices.SortFunc(topics, compareRequestedTopics)
	out := slices.CompactFunc(topics, func(a, b kmsg.MetadataRequestTopic) bool {
		return compareRequestedTopics(a, b) == 0
	})
	return slices.Clip(out)
}

// compareRequestedTopics orders topics asked by ID before those asked by
// name, each by its key.
func compareRequestedTopics(a, b kmsg.MetadataRequestTopic) int {
	switch {
	case a.Topic == nil && b.Topic == nil:
		return bytes.Compare(a.TopicID[:], b.TopicID[:])
	case a.Topic == nil:
		return -1
	case b.Topic == nil:
		return 1
	}
	return strings.Compare(*a.Topic, *b.Topic)
}

// requestedTopicMetadata answers one requested topic, by name or by ID.
func requestedTopicMetadata(md *coordinator.Metadata, rt kmsg.MetadataRequestTopic) kmsg.MetadataResponseTopic {
	var t *coordinator.Topic
	if rt.Topic != nil {
		t = md.Topic(*rt.Topic)
	} else {
		t = md.TopicByID(rt.TopicID)
	}
	if t != nil {
		return topicMetadata(md, t)
	}
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID = rt.Topic, rt.TopicID
	switch {
	case rt.Topic == nil:
		mt.ErrorCode = int16(protocol.UnknownTopicID)
	case protocol.ValidTopicName(*rt.Topic) != nil:
		mt.ErrorCode = int16(protocol.InvalidTopicException)
	default:
		mt.ErrorCode = int16(protocol.UnknownTopicOrPartition)
	}
	return mt
}

// autoCreateForMetadata creates the requested topics that do not exist when
// auto.create.topics.enable is on and the client allows it (v4+), and
// returns the image that includes them.
func (b *Broker) autoCreateForMetadata(md *coordinator.Metadata, req *kmsg.MetadataRequest) *coordinator.Metadata {
	if !b.cfg.AutoCreateTopics || (req.Version >= 4 && !req.AllowAutoTopicCreation) {
		return md
	}
	var missing []string
	for _, rt := range req.Topics {
		if rt.Topic != nil && md.Topic(*rt.Topic) == nil && protocol.ValidTopicName(*rt.Topic) == nil && !protocol.IsInternalTopic(*rt.Topic) {
			missing = append(missing, *rt.Topic)
		}
	}
	if len(missing) == 0 {
		return md
	}
	b.autoCreateTopics(missing)
	return b.coord.Metadata()
}

// autoCreateTopics creates topics with the broker defaults. Failures are
// logged: the caller answers from metadata, which then lacks the topic.
func (b *Broker) autoCreateTopics(names []string) {
	specs := make([]coordinator.CreateTopicSpec, len(names))
	for i, name := range names {
		specs[i] = coordinator.CreateTopicSpec{Name: name, NumPartitions: -1, ReplicationFactor: -1}
	}
	ctx, cancel := context.WithTimeout(b.ctx, metadataChangeTimeout)
	defer cancel()
	for _, r := range b.createTopics(ctx, specs, false) {
		if r.Err != nil && protocol.Code(r.Err) != protocol.TopicAlreadyExists {
			b.log.Warn("auto-creating topic failed", "topic", r.Name, "err", r.Err)
		} else if r.Err == nil {
			b.log.Info("auto-created topic", "topic", r.Name)
		}
	}
}

func topicMetadata(md *coordinator.Metadata, t *coordinator.Topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic, mt.TopicID = &name, t.ID
	mt.IsInternal = protocol.IsInternalTopic(t.Name)
	for _, st := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.LeaderEpoch = st.ID, st.Leader, st.LeaderEpoch
		mp.Replicas, mp.ISR = slices.Clone(st.Replicas), slices.Clone(st.ISR)
		for _, r := range st.Replicas {
			if br := md.Broker(r); br == nil || br.Fenced {
				mp.OfflineReplicas = append(mp.OfflineReplicas, r)
			}
		}
		if st.Leader < 0 {
			mp.ErrorCode = int16(protocol.LeaderNotAvailable)
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

// brokerList lists the live brokers with their endpoint for the listener
// the client connected through, as Kafka does.
func (b *Broker) brokerList(md *coordinator.Metadata, listener string) []kmsg.MetadataResponseBroker {
	ids := make([]int32, 0, len(md.Brokers))
	for id, br := range md.Brokers {
		if !br.Fenced {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []kmsg.MetadataResponseBroker
	for _, id := range ids {
		br := md.Brokers[id]
		for _, ep := range br.Listeners {
			if ep.Name != listener {
				continue
			}
			mb := kmsg.NewMetadataResponseBroker()
			mb.NodeID, mb.Host, mb.Port = id, ep.Host, ep.Port
			if br.Rack != "" {
				rack := br.Rack
				mb.Rack = &rack
			}
			out = append(out, mb)
		}
	}
	return out
}

// advertised returns this broker's advertised endpoint for a listener name.
func (b *Broker) advertised(listener string) (Listener, bool) {
	for _, l := range b.cfg.AdvertisedListeners {
		if l.Name == listener {
			return l, true
		}
	}
	return Listener{}, false
}
