package broker

import (
	"context"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

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
		b.replicas.reconcile(b.coord.Metadata())
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
	b.replicas.reconcile(b.coord.Metadata())
	return nil
}

func handleAlterConfigs(b *Broker, c *conn, req *kmsg.AlterConfigsRequest) *kmsg.AlterConfigsResponse {
	b.metadataBarrier()
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, r := range req.Resources {
		err := b.alterResource(r.ResourceType, r.ResourceName, req.ValidateOnly, func(map[string]string) (map[string]string, error) {
			configs := map[string]string{} // AlterConfigs replaces every override
			for _, cfg := range r.Configs {
				if cfg.Value != nil {
					configs[cfg.Name] = *cfg.Value
				}
			}
			return configs, nil
		})
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
		err := b.alterResource(r.ResourceType, r.ResourceName, req.ValidateOnly, func(current map[string]string) (map[string]string, error) {
			return applyConfigOps(current, r.Configs)
		})
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
// work on list configs (cleanup.policy), as in Kafka.
func applyConfigOps(current map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) (map[string]string, error) {
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
			if op.Name != "cleanup.policy" {
				return nil, protocol.Errorf(protocol.InvalidConfig, "%s is not a list config: APPEND and SUBTRACT apply to cleanup.policy", op.Name)
			}
			list := strings.FieldsFunc(out[op.Name], func(r rune) bool { return r == ',' })
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

// Config sources, as DescribeConfigs reports them.
const (
	sourceTopicOverride  = 1 // DYNAMIC_TOPIC_CONFIG
	sourceDynamicBroker  = 2 // DYNAMIC_BROKER_CONFIG
	sourceDynamicDefault = 3 // DYNAMIC_DEFAULT_BROKER_CONFIG
	sourceStaticBroker   = 4 // STATIC_BROKER_CONFIG: server.properties
	sourceDefault        = 5 // DEFAULT_CONFIG
)

// handleDescribeConfigs describes topics (their overrides and the broker
// defaults for the rest), this broker (server.properties as it runs, with
// the dynamic configs over it; only the dynamic keys are writable) and the
// cluster-wide dynamic defaults (resource "").
func handleDescribeConfigs(b *Broker, c *conn, req *kmsg.DescribeConfigsRequest) *kmsg.DescribeConfigsResponse {
	b.metadataBarrier()
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, r := range req.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		wanted := func(name string) bool { return r.ConfigNames == nil || slices.Contains(r.ConfigNames, name) }
		add := func(name, value string, source int8, readOnly bool, typ int8) {
			if !wanted(name) {
				return
			}
			e := kmsg.NewDescribeConfigsResponseResourceConfig()
			e.Name, e.Value, e.ReadOnly, e.Source, e.ConfigType = name, kmsg.StringPtr(value), readOnly, kmsg.ConfigSource(source), kmsg.ConfigType(typ)
			e.IsDefault = source == sourceDefault
			if req.IncludeSynonyms {
				e.ConfigSynonyms = []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{{Name: name, Value: e.Value, Source: kmsg.ConfigSource(source)}}
			}
			out.Configs = append(out.Configs, e)
		}
		switch r.ResourceType {
		case resourceTopic:
			t := b.coord.Metadata().Topic(r.ResourceName)
			if t == nil {
				setConfigError(&out.ErrorCode, &out.ErrorMessage,
					protocol.Errorf(protocol.UnknownTopicOrPartition, "The topic '%s' does not exist.", r.ResourceName))
				break
			}
			defaults := b.logs.Defaults()
			for _, name := range slices.Sorted(maps.Keys(topicConfigs)) {
				tc := topicConfigs[name]
				if v, ok := t.Configs[name]; ok {
					add(name, v, sourceTopicOverride, false, tc.typ)
				} else {
					add(name, tc.def(b, defaults), sourceDefault, false, tc.typ)
				}
			}
		case resourceBroker:
			if r.ResourceName != "" && r.ResourceName != strconv.Itoa(int(b.cfg.NodeID)) {
				setConfigError(&out.ErrorCode, &out.ErrorMessage,
					protocol.Errorf(protocol.InvalidRequest, "broker %d cannot describe broker %s", b.cfg.NodeID, r.ResourceName))
				break
			}
			md := b.coord.Metadata()
			if r.ResourceName == "" { // the cluster-wide dynamic defaults only
				for k, v := range md.BrokerConfigs[""] {
					add(k, v, sourceDynamicDefault, false, 2)
				}
				break
			}
			own, cluster := md.BrokerConfigs[r.ResourceName], md.BrokerConfigs[""]
			seen := map[string]bool{}
			describe := func(name, value string, source int8) {
				seen[name] = true
				if v, ok := cluster[name]; ok {
					value, source = v, sourceDynamicDefault
				}
				if v, ok := own[name]; ok {
					value, source = v, sourceDynamicBroker
				}
				add(name, value, source, !isDynamicBrokerKey(name), 2)
			}
			for _, sc := range b.cfg.ServerConfigs {
				source := int8(sourceStaticBroker)
				if sc.Default {
					source = sourceDefault
				}
				describe(sc.Name, sc.Value, source)
			}
			for _, d := range dynamicBrokerKeys { // keys set only dynamically
				_, mine := own[d.key]
				_, all := cluster[d.key]
				if !seen[d.key] && (mine || all) {
					describe(d.key, "", sourceDefault)
				}
			}
			for _, k := range throttleRateKeys { // unlimited unless set
				if !seen[k] {
					describe(k, strconv.FormatInt(math.MaxInt64, 10), sourceDefault)
				}
			}
		default:
			setConfigError(&out.ErrorCode, &out.ErrorMessage,
				protocol.Errorf(protocol.InvalidRequest, "resource type %d has no configs here", r.ResourceType))
		}
		resp.Resources = append(resp.Resources, out)
	}
	return resp
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
