package broker

import (
	"context"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/config"
	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// metadataChangeTimeout bounds metadata changes a client did not time itself
// (auto-creation on Metadata and Produce).
const metadataChangeTimeout = 30 * time.Second

func handleCreateTopics(b *Broker, c *conn, req *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	var specs []coordinator.CreateTopicSpec
	anyTopic := c.may(authzCreateCluster, "") // else Create on each topic
	for _, rt := range req.Topics {
		if seen[rt.Topic] > 1 {
			resp.Topics = append(resp.Topics, createTopicResult(rt, protocol.Errorf(protocol.InvalidRequest,
				"topic %q appears more than once in the request", rt.Topic)))
			continue
		}
		if !anyTopic && !c.may(authzCreateTopic, rt.Topic) {
			resp.Topics = append(resp.Topics, createTopicResult(rt, authzCreateTopic.refused()))
			continue
		}
		specs = append(specs, createTopicSpec(rt))
	}
	ctx, cancel := context.WithTimeout(b.ctx, requestTimeout(req.TimeoutMillis))
	defer cancel()
	results := b.createTopics(ctx, specs, req.ValidateOnly)
	md := b.coord.Metadata()
	for i, r := range results {
		rt := createTopicResult(kmsg.CreateTopicsRequestTopic{Topic: r.Name}, r.Err)
		spec := specs[i]
		if r.Err == nil {
			rt.TopicID = r.ID
			rt.NumPartitions, rt.ReplicationFactor = spec.NumPartitions, spec.ReplicationFactor
			if t := md.Topic(r.Name); t != nil && !req.ValidateOnly {
				rt.NumPartitions, rt.ReplicationFactor = int32(len(t.Partitions)), int16(len(t.Partitions[0].Replicas))
			}
			if c.may(authzCreateConfigs, r.Name) {
				rt.Configs = b.createdTopicConfigs(md, spec.Configs)
			} else {
				rt.ConfigErrorCode = int16(authzCreateConfigs.Error)
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// createdTopicConfigs lists every topic config of a created topic with its
// value and source, as Kafka answers CreateTopics v5+: Java's
// Admin.createTopics reads the list and fails on a null one.
func (b *Broker) createdTopicConfigs(md *coordinator.Metadata, overrides map[string]string) []kmsg.CreateTopicsResponseTopicConfig {
	out := make([]kmsg.CreateTopicsResponseTopicConfig, 0, len(config.Topics))
	for i := range config.Topics {
		name := config.Topics[i].Name
		value, source := b.topicValue(md, overrides, name)
		cfg := kmsg.NewCreateTopicsResponseTopicConfig()
		cfg.Name, cfg.Value, cfg.Source = name, kmsg.StringPtr(value), source
		out = append(out, cfg)
	}
	return out
}

func createTopicSpec(rt kmsg.CreateTopicsRequestTopic) coordinator.CreateTopicSpec {
	spec := coordinator.CreateTopicSpec{
		Name:              rt.Topic,
		NumPartitions:     rt.NumPartitions,
		ReplicationFactor: rt.ReplicationFactor,
		Configs:           map[string]string{},
	}
	for _, a := range rt.ReplicaAssignment {
		spec.Assignment = append(spec.Assignment, coordinator.PartitionAssignment{Partition: a.Partition, Replicas: a.Replicas})
	}
	for _, cfg := range rt.Configs {
		if cfg.Value != nil {
			spec.Configs[cfg.Name] = *cfg.Value
		}
	}
	return spec
}

func createTopicResult(rt kmsg.CreateTopicsRequestTopic, err error) kmsg.CreateTopicsResponseTopic {
	out := kmsg.NewCreateTopicsResponseTopic()
	out.Topic = rt.Topic
	out.NumPartitions, out.ReplicationFactor = -1, -1
	if err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		msg := err.Error()
		out.ErrorMessage = &msg
	}
	return out
}

// createTopics validates names and configs here (the coordinator stores
// configs opaquely), creates the valid topics through the controller, and
// opens the local replicas before returning, so that a Metadata or Produce
// right after sees a working topic on this broker.
func (b *Broker) createTopics(ctx context.Context, specs []coordinator.CreateTopicSpec, validateOnly bool) []coordinator.TopicResult {
	results := make([]coordinator.TopicResult, len(specs))
	md := b.coord.Metadata()
	var valid []coordinator.CreateTopicSpec
	var where []int
	for i, s := range specs {
		results[i].Name = s.Name
		if err := checkNewTopicName(md, s.Name); err != nil {
			results[i].Err = err
			continue
		}
		if _, err := topicLogConfig(b.logs.Defaults(), s.Configs); err != nil {
			results[i].Err = err
			continue
		}
		valid = append(valid, s)
		where = append(where, i)
	}
	if len(valid) == 0 {
		return results
	}
	for j, r := range b.coord.CreateTopics(ctx, valid, validateOnly) {
		results[where[j]] = r
	}
	if !validateOnly {
		b.replicas.Reconcile(b.coord.Metadata())
	}
	return results
}

// checkNewTopicName refuses what Kafka refuses before it creates a topic:
// invalid names, the metadata log's reserved name, and a name that collides
// with an existing topic once '.' reads as '_' (both would report metrics
// under one name). The controller checks again against its own image.
func checkNewTopicName(md *coordinator.Metadata, name string) error {
	if err := protocol.ValidTopicName(name); err != nil {
		return err
	}
	if name == protocol.ClusterMetadataTopic {
		return protocol.Errorf(protocol.InvalidRequest, "Creation of internal topic %s is prohibited.", name)
	}
	if md.Topic(name) != nil || !strings.ContainsAny(name, "._") {
		return nil // an existing name gets TOPIC_ALREADY_EXISTS from the controller
	}
	for other := range md.Topics.All() {
		if protocol.TopicNamesCollide(name, other) {
			return protocol.Errorf(protocol.InvalidTopicException, "Topic '%s' collides with existing topic: %s", name, other)
		}
	}
	return nil
}

func handleDeleteTopics(b *Broker, c *conn, req *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	md := b.coord.Metadata()
	requested := req.Topics
	if req.Version < 6 {
		for _, name := range req.TopicNames {
			requested = append(requested, kmsg.DeleteTopicsRequestTopic{Topic: &name})
		}
	}
	var names []string
	var slots []int
	for _, rt := range requested {
		out := kmsg.NewDeleteTopicsResponseTopic()
		out.Topic, out.TopicID = rt.Topic, rt.TopicID
		var t *coordinator.Topic
		if rt.Topic != nil {
			t = md.Topic(*rt.Topic)
		} else {
			t = md.TopicByID(rt.TopicID)
		}
		switch {
		case (t != nil || rt.Topic != nil) && !c.may(authzDeleteTopics, nameOr(t, rt.Topic)):
			// Refused before existence is checked, so that nothing is
			// disclosed; a topic asked by ID keeps its name hidden.
			out.ErrorCode = int16(authzDeleteTopics.Error)
		case t != nil && (protocol.IsInternalTopic(t.Name) || t.Name == protocol.ClusterMetadataTopic):
			// Kafka's tools refuse this too: the group coordinator's
			// state (every committed offset) lives there. A
			// __cluster_metadata topic, created before the name was
			// reserved, has the Raft store for its directory.
			out.ErrorCode = int16(protocol.InvalidTopicException)
			msg := "Topic " + t.Name + " is an internal topic and cannot be deleted"
			out.ErrorMessage = &msg
		case t == nil && rt.Topic == nil:
			out.ErrorCode = int16(protocol.UnknownTopicID)
		case t == nil:
			out.ErrorCode = int16(protocol.UnknownTopicOrPartition)
		default:
			name := t.Name
			out.Topic, out.TopicID = &name, t.ID
			names = append(names, t.Name)
			slots = append(slots, len(resp.Topics))
		}
		resp.Topics = append(resp.Topics, out)
	}
	if len(names) > 0 {
		ctx, cancel := context.WithTimeout(b.ctx, requestTimeout(req.TimeoutMillis))
		defer cancel()
		for i, r := range b.coord.DeleteTopics(ctx, names) {
			if r.Err != nil {
				resp.Topics[slots[i]].ErrorCode = int16(protocol.Code(r.Err))
				msg := r.Err.Error()
				resp.Topics[slots[i]].ErrorMessage = &msg
			}
		}
		b.replicas.Reconcile(b.coord.Metadata())
	}
	return resp
}

// nameOr is a topic's name: the found topic's, else the one asked for.
func nameOr(t *coordinator.Topic, asked *string) string {
	if t != nil {
		return t.Name
	}
	return *asked
}

// requestTimeout turns a request's timeout field into a duration, falling
// back to the default for zero or negative values.
func requestTimeout(ms int32) time.Duration {
	if ms <= 0 {
		return metadataChangeTimeout
	}
	return time.Duration(ms) * time.Millisecond
}
