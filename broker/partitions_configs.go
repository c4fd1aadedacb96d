package broker

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/config"
	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// CreatePartitions and the config-changing APIs. Like CreateTopics they are
// taken by any broker, forwarded to the controller, and answered once this
// broker has applied the change.

func handleCreatePartitions(b *Broker, c *conn, req *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse {
	b.metadataBarrier()
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	var specs []coordinator.CreatePartitionsSpec
	for _, rt := range req.Topics {
		if err := c.check(authzPartitions, rt.Topic); err != nil {
			resp.Topics = append(resp.Topics, createPartitionsResult(rt.Topic, err))
			continue
		}
		if protocol.IsInternalTopic(rt.Topic) {
			// A group's partition is its id's hash modulo the count:
			// more partitions would part groups from their offsets.
			resp.Topics = append(resp.Topics, createPartitionsResult(rt.Topic, protocol.Errorf(protocol.InvalidTopicException,
				"Topic %s is an internal topic; its partition count is fixed", rt.Topic)))
			continue
		}
		spec := coordinator.CreatePartitionsSpec{Topic: rt.Topic, Count: rt.Count}
		for _, a := range rt.Assignment {
			spec.Assignment = append(spec.Assignment, a.Replicas)
		}
		specs = append(specs, spec)
	}
	ctx, cancel := context.WithTimeout(b.ctx, requestTimeout(req.TimeoutMillis))
	defer cancel()
	for _, r := range b.coord.CreatePartitions(ctx, specs, req.ValidateOnly) {
		resp.Topics = append(resp.Topics, createPartitionsResult(r.Name, r.Err))
	}
	if !req.ValidateOnly {
		b.replicas.Reconcile(b.coord.Metadata())
	}
	return resp
}

func createPartitionsResult(topic string, err error) kmsg.CreatePartitionsResponseTopic {
	out := kmsg.NewCreatePartitionsResponseTopic()
	out.Topic = topic
	if err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		msg := err.Error()
		out.ErrorMessage = &msg
	}
	return out
}

const (
	resourceTopic  = 2
	resourceBroker = 4
)

// alterTopicConfigs validates a topic's complete new overrides and commits
// them; the replica manager applies them to the local logs.
func (b *Broker) alterTopicConfigs(name string, configs map[string]string, validateOnly bool) error {
	if _, err := topicLogConfig(b.logs.Defaults(), configs); err != nil {
		return err
	}
	if validateOnly {
		return nil
	}
	ctx, cancel := context.WithTimeout(b.ctx, metadataChangeTimeout)
	defer cancel()
	if err := b.coord.AlterTopicConfigs(ctx, name, configs); err != nil {
		return err
	}
	b.replicas.Reconcile(b.coord.Metadata())
	return nil
}

func handleAlterConfigs(b *Broker, c *conn, req *kmsg.AlterConfigsRequest) *kmsg.AlterConfigsResponse {
	b.metadataBarrier()
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, r := range req.Resources {
		err := c.configRefusal(r.ResourceType, r.ResourceName, authzAlterConfigsTopic, authzAlterConfigsBroker)
		if err == nil {
			err = b.alterResource(r.ResourceType, r.ResourceName, req.ValidateOnly, func(map[string]string) (map[string]string, error) {
				configs := map[string]string{} // AlterConfigs replaces every override
				for _, cfg := range r.Configs {
					if cfg.Value != nil {
						configs[cfg.Name] = *cfg.Value
					}
				}
				return configs, nil
			})
		}
		out := kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		setConfigError(&out.ErrorCode, &out.ErrorMessage, err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

func handleIncrementalAlterConfigs(b *Broker, c *conn, req *kmsg.IncrementalAlterConfigsRequest) *kmsg.IncrementalAlterConfigsResponse {
	b.metadataBarrier()
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, r := range req.Resources {
		err := c.configRefusal(r.ResourceType, r.ResourceName, authzIncrAlterTopic, authzIncrAlterBroker)
		if err == nil {
			err = b.alterResource(r.ResourceType, r.ResourceName, req.ValidateOnly, func(current map[string]string) (map[string]string, error) {
				keyOf := config.TopicKey
				if r.ResourceType == resourceBroker {
					keyOf = config.BrokerKey
				}
				return applyConfigOps(current, r.Configs, keyOf)
			})
		}
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		setConfigError(&out.ErrorCode, &out.ErrorMessage, err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// alterResource changes one resource's configs: next turns the current
// topic overrides into the new ones.
func (b *Broker) alterResource(typ kmsg.ConfigResourceType, name string, validateOnly bool, next func(map[string]string) (map[string]string, error)) error {
	switch typ {
	case resourceTopic:
		t := b.coord.Metadata().Topic(name)
		if t == nil {
			return protocol.Errorf(protocol.UnknownTopicOrPartition, "The topic '%s' does not exist.", name)
		}
		configs, err := next(t.Configs)
		if err != nil {
			return err
		}
		return b.alterTopicConfigs(name, configs, validateOnly)
	case resourceBroker:
		return b.alterBrokerConfigs(name, validateOnly, next)
	}
	return protocol.Errorf(protocol.InvalidRequest, "resource type %d has no configs here", typ)
}

// applyConfigOps applies IncrementalAlterConfigs operations (SET, DELETE,
// APPEND, SUBTRACT) to a copy of the current overrides. APPEND and SUBTRACT
// work on list configs, starting from the key's default when it has no
// override, as in Kafka (APPEND compact to a topic without an override
// gives delete,compact).
func applyConfigOps(current map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig, keyOf func(string) *config.Key) (map[string]string, error) {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	for _, op := range ops {
		value := ""
		if op.Value != nil {
			value = *op.Value
		}
		switch op.Op {
		case 0: // SET
			out[op.Name] = value
		case 1: // DELETE
			delete(out, op.Name)
		case 2, 3: // APPEND, SUBTRACT
			k := keyOf(op.Name)
			if k == nil || k.Type != config.List {
				return nil, protocol.Errorf(protocol.InvalidConfig, "Config value append is not allowed for config key: %s", op.Name)
			}
			old, ok := out[op.Name]
			if !ok {
				old = k.Default
			}
			list := strings.FieldsFunc(old, func(r rune) bool { return r == ',' })
			for _, v := range strings.Split(value, ",") {
				if op.Op == 2 && !slices.Contains(list, v) {
					list = append(list, v)
				} else if op.Op == 3 {
					list = slices.DeleteFunc(list, func(x string) bool { return x == v })
				}
			}
			out[op.Name] = strings.Join(list, ",")
		default:
			return nil, protocol.Errorf(protocol.InvalidRequest, "unknown config operation %d for %s", op.Op, op.Name)
		}
	}
	return out, nil
}

func setConfigError(code *int16, msg **string, err error) {
	if err == nil {
		return
	}
	*code = int16(protocol.Code(err))
	m := err.Error()
	*msg = &m
}

// metadataBarrier brings this broker's metadata up to what the controller
// has acknowledged, before an admin request reads it. Without a controller
// the request goes on with what this broker knows.
func (b *Broker) metadataBarrier() {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	if err := b.coord.Barrier(ctx); err != nil {
		b.log.Debug("metadata barrier", "err", err)
	}
}
