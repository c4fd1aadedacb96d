package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// Metadata, every version the table in protocol/versions.go serves.
//
// Behavior:
//   - Null topics (or none at v0) lists every topic; named topics are
//     answered once each, by name or by id (v10+).
//   - A missing topic is created when auto.create.topics.enable is on and
//     the request allows it (always before v4); as in Kafka that answer is
//     LEADER_NOT_AVAILABLE with no partitions, and the client retries.
//   - Deliberate difference: a request naming more than maxMetadataTopics
//     topics closes the connection before it is decoded (Kafka has no
//     limit); see checkTopicCount.
func handleMetadata(b *Broker, c *conn, req *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	md := b.coord.Metadata()
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	var created, noCreate map[string]bool
	if !all {
		req.Topics = uniqueTopics(req.Topics)
		created, noCreate = b.autoCreateForMetadata(c, md, req)
	}
	defer c.fillAuthorizedOperations(req, resp)
	resp.Brokers = b.brokerList(md, c.listener, false)
	resp.ClusterID = &md.ClusterID
	// As in KRaft, clients are pointed at this broker for admin requests:
	// any broker forwards them to the active controller, wherever it is.
	resp.ControllerID = b.cfg.NodeID
	if all {
		names := make([]string, 0, md.Topics.Len())
		for name := range md.Topics.All() {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if c.may(authzMetadataAll, name) { // the others are not disclosed
				resp.Topics = append(resp.Topics, topicMetadata(md, md.Topic(name)))
			}
		}
		return resp
	}
	resp.Topics = make([]kmsg.MetadataResponseTopic, 0, len(req.Topics))
	for _, rt := range req.Topics {
		if mt, refused := c.refusedTopicMetadata(md, rt, noCreate); refused {
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		if rt.Topic != nil && created[*rt.Topic] {
			resp.Topics = append(resp.Topics, autoCreatedTopicMetadata(*rt.Topic))
			continue
		}
		resp.Topics = append(resp.Topics, requestedTopicMetadata(md, rt))
	}
	req.Topics = nil // the answer holds what it needs: free the array before it is encoded
	return resp
}

// maxMetadataTopics bounds the topics one Metadata request may name. The
// decoder turns each entry into a 48-byte struct, however short its name,
// so an 8 MiB request naming the empty topic 4M times cost ~200 MiB before
// it was answered once. A client that wants more topics than this asks for
// all of them (null topics). At the bound a request costs at most ~48 MiB
// while it is decoded.
const maxMetadataTopics = 1 << 20

// checkTopicCount reads the count of the topic array that opens a request
// body (flexible: a compact array), before it is decoded, and refuses one
// over maxMetadataTopics. What it cannot read it leaves to the decoder.
func checkTopicCount(api string, flexible bool, body []byte) error {
	var n int64
	if flexible { // compact array: count+1 as an unsigned varint, 0 for null
		u, size := binary.Uvarint(body)
		if size <= 0 {
			return nil
		}
		n = int64(min(u, math.MaxInt64)) - 1
	} else if len(body) >= 4 {
		n = int64(int32(binary.BigEndian.Uint32(body)))
	}
	if n > maxMetadataTopics {
		return protocol.Errorf(protocol.InvalidRequest, "%s request names %d topics, more than %d", api, n, maxMetadataTopics)
	}
	return nil
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
	case askedByID(a) && askedByID(b):
		return bytes.Compare(a.TopicID[:], b.TopicID[:])
	case askedByID(a):
		return -1
	case askedByID(b):
		return 1
	}
	return strings.Compare(*a.Topic, *b.Topic)
}

// askedByID reports whether a Metadata request names this topic by ID
// (any topic it names by name has a non-nil one). As in Kafka, a non-zero
// ID wins over the name: Java's client asks by ID with the name "", not
// null.
func askedByID(rt kmsg.MetadataRequestTopic) bool {
	return rt.TopicID != [16]byte{} || rt.Topic == nil
}

// requestedTopicMetadata answers one requested topic, by name or by ID.
func requestedTopicMetadata(md *coordinator.Metadata, rt kmsg.MetadataRequestTopic) kmsg.MetadataResponseTopic {
	var t *coordinator.Topic
	if askedByID(rt) {
		t = md.TopicByID(rt.TopicID)
	} else {
		t = md.Topic(*rt.Topic)
	}
	if t != nil {
		return topicMetadata(md, t)
	}
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID = rt.Topic, rt.TopicID
	switch {
	case askedByID(rt):
		mt.Topic = nil
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
// returns their names. The creation is committed before the answer, so
// the client's retry finds the topic. A topic the connection may Describe
// but not Create (on the cluster or the topic) is not created; it is
// returned in noCreate.
func (b *Broker) autoCreateForMetadata(c *conn, md *coordinator.Metadata, req *kmsg.MetadataRequest) (created, noCreate map[string]bool) {
	if !b.cfg.AutoCreateTopics || (req.Version >= 4 && !req.AllowAutoTopicCreation) {
		return nil, nil
	}
	var missing []string
	for _, rt := range req.Topics {
		if askedByID(rt) || md.Topic(*rt.Topic) != nil || protocol.ValidTopicName(*rt.Topic) != nil || protocol.IsInternalTopic(*rt.Topic) ||
			!c.may(authzMetadataCreate, *rt.Topic) {
			continue
		}
		if !c.may(authzMetadataCreateCl, "") && !c.may(authzMetadataCreateTop, *rt.Topic) {
			if noCreate == nil {
				noCreate = map[string]bool{}
			}
			noCreate[*rt.Topic] = true
			continue
		}
		missing = append(missing, *rt.Topic)
	}
	if len(missing) == 0 {
		return nil, noCreate
	}
	b.autoCreateTopics(missing)
	created = make(map[string]bool, len(missing))
	for _, name := range missing {
		created[name] = true
	}
	return created, noCreate
}

// refusedTopicMetadata answers a requested topic the connection may not
// Describe, or may not create when it would be auto-created, with
// TOPIC_AUTHORIZATION_FAILED. An unknown ID is not refused (its answer,
// UNKNOWN_TOPIC_ID, discloses nothing); a refused ID keeps the ID and
// drops the name, as Kafka does.
func (c *conn) refusedTopicMetadata(md *coordinator.Metadata, rt kmsg.MetadataRequestTopic, noCreate map[string]bool) (kmsg.MetadataResponseTopic, bool) {
	mt := kmsg.NewMetadataResponseTopic()
	mt.ErrorCode = int16(authzMetadata.Error)
	if askedByID(rt) {
		t := md.TopicByID(rt.TopicID)
		mt.TopicID = rt.TopicID
		return mt, t != nil && !c.may(authzMetadata, t.Name)
	}
	mt.Topic = rt.Topic
	return mt, noCreate[*rt.Topic] || !c.may(authzMetadata, *rt.Topic)
}

// fillAuthorizedOperations answers include_cluster_authorized_operations
// (v8-v10; Describe on the cluster needed, else 0) and
// include_topic_authorized_operations (v8+) from the authorizer.
func (c *conn) fillAuthorizedOperations(req *kmsg.MetadataRequest, resp *kmsg.MetadataResponse) {
	if req.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = 0
		if c.may(authzClusterOps, "") {
			resp.AuthorizedOperations = c.authorizedOperations(resCluster, clusterName)
		}
	}
	if !req.IncludeTopicAuthorizedOperations {
		return
	}
	for i := range resp.Topics {
		if t := &resp.Topics[i]; t.Topic != nil && t.ErrorCode != int16(authzMetadata.Error) {
			t.AuthorizedOperations = c.authorizedOperations(resTopic, *t.Topic)
		}
	}
}

// autoCreatedTopicMetadata answers a topic this request created as Kafka's
// AutoTopicCreationManager does: LEADER_NOT_AVAILABLE and no partitions,
// since their leaders may not serve them yet; clients retry Metadata on
// that code.
func autoCreatedTopicMetadata(name string) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.ErrorCode = &name, int16(protocol.LeaderNotAvailable)
	return mt
}

// autoCreateTopics creates topics with the broker defaults. Failures are
// logged: the topic is answered LEADER_NOT_AVAILABLE all the same, as in
// Kafka where the creation runs in the background, and the client's next
// Metadata tries again.
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

// brokerList lists the live brokers, and the fenced ones too if fenced is
// set, with their endpoint for the listener the client connected through,
// as Kafka does.
func (b *Broker) brokerList(md *coordinator.Metadata, listener string, fenced bool) []kmsg.MetadataResponseBroker {
	ids := make([]int32, 0, len(md.Brokers))
	for id, br := range md.Brokers {
		if fenced || !br.Fenced {
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
