package broker

import (
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/config"
	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// DescribeConfigs, v0-v4.
//
// Behavior:
//   - A topic lists every topic key: its override (DYNAMIC_TOPIC_CONFIG)
//     or else the value of its first broker synonym that is set, with that
//     synonym's source.
//   - A broker (this one) lists every broker key; only the dynamic keys
//     are writable. The resource "" lists the cluster-wide dynamic
//     defaults.
//   - v1+ include_synonyms lists, after a topic's override, the broker
//     synonyms' values by source in Kafka's order: this broker's dynamic
//     configs, the cluster defaults, server.properties, the defaults.
//   - v3+ include_documentation adds each key's documentation from the
//     catalogue; the config type is always given.

// Config sources, as DescribeConfigs reports them.
const (
	sourceTopicOverride  = 1 // DYNAMIC_TOPIC_CONFIG
	sourceDynamicBroker  = 2 // DYNAMIC_BROKER_CONFIG
	sourceDynamicDefault = 3 // DYNAMIC_DEFAULT_BROKER_CONFIG
	sourceStaticBroker   = 4 // STATIC_BROKER_CONFIG: server.properties
	sourceDefault        = 5 // DEFAULT_CONFIG
)

// staticConfigs splits what server.properties set from the defaults the
// server runs with.
func staticConfigs(scs []ServerConfig) (set, defaults map[string]string) {
	set, defaults = map[string]string{}, map[string]string{}
	for _, sc := range scs {
		if sc.Default {
			defaults[sc.Name] = sc.Value
		} else {
			set[sc.Name] = sc.Value
		}
	}
	return set, defaults
}

// eachSynonym calls fn with each value the broker keys take, in Kafka's
// order of sources (this broker's dynamic configs, the cluster defaults,
// server.properties, the defaults) and, within a source, in the keys'
// order, until fn returns false. The first value is the one in force.
func (b *Broker) eachSynonym(md *coordinator.Metadata, keys []*config.Key, fn func(k *config.Key, value string, source int8) bool) {
	sets := [...]map[string]string{md.BrokerConfigs[strconv.Itoa(int(b.cfg.NodeID))], md.BrokerConfigs[""], b.dynamic.static}
	sources := [...]int8{sourceDynamicBroker, sourceDynamicDefault, sourceStaticBroker}
	for i, set := range sets {
		for _, k := range keys {
			if v, ok := set[k.Name]; ok && !fn(k, v, sources[i]) {
				return
			}
		}
	}
	for _, k := range keys {
		v, ok := b.dynamic.defaults[k.Name]
		if !ok && !k.NoDefault {
			v, ok = k.Default, true
		}
		if ok && !fn(k, v, sourceDefault) {
			return
		}
	}
}

// topicValue is the value of a topic key for a topic with these
// overrides, and where it comes from.
func (b *Broker) topicValue(md *coordinator.Metadata, overrides map[string]string, name string) (string, int8) {
	if v, ok := overrides[name]; ok {
		return v, sourceTopicOverride
	}
	value, source := config.TopicKey(name).Default, int8(sourceDefault)
	b.eachSynonym(md, config.Synonyms(name), func(k *config.Key, v string, src int8) bool {
		value, source = inTopicUnit(k, v), src
		return false
	})
	return value, source
}

// inTopicUnit turns a broker key's value into its topic key's unit
// (log.retention.hours into retention.ms); a negative time is -1, forever.
func inTopicUnit(k *config.Key, v string) string {
	if k.Scale <= 1 {
		return v
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return v
	}
	return strconv.FormatInt(max(n*k.Scale, -1), 10)
}

func handleDescribeConfigs(b *Broker, c *conn, req *kmsg.DescribeConfigsRequest) *kmsg.DescribeConfigsResponse {
	b.metadataBarrier()
	md := b.coord.Metadata()
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, r := range req.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		d := describer{b: b, md: md, req: req, names: r.ConfigNames, out: &out}
		err := c.configRefusal(r.ResourceType, r.ResourceName, authzDescribeConfigsTopic, authzDescribeConfigsBroker)
		switch {
		case err != nil:
		case r.ResourceType == resourceTopic:
			err = d.topic(r.ResourceName)
		case r.ResourceType == resourceBroker:
			err = d.broker(r.ResourceName)
		default:
			err = protocol.Errorf(protocol.InvalidRequest, "resource type %d has no configs here", r.ResourceType)
		}
		setConfigError(&out.ErrorCode, &out.ErrorMessage, err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// describer fills in one resource of a DescribeConfigs response.
type describer struct {
	b     *Broker
	md    *coordinator.Metadata
	req   *kmsg.DescribeConfigsRequest
	names []string // nil: every key
	out   *kmsg.DescribeConfigsResponseResource
}

func (d *describer) topic(name string) error {
	t := d.md.Topic(name)
	if t == nil {
		return protocol.Errorf(protocol.UnknownTopicOrPartition, "The topic '%s' does not exist.", name)
	}
	for i := range config.Topics {
		k := &config.Topics[i]
		value, source := d.b.topicValue(d.md, t.Configs, k.Name)
		e := d.entry(k, &value, source, false)
		if e == nil || !d.req.IncludeSynonyms {
			continue
		}
		if v, ok := t.Configs[k.Name]; ok {
			addSynonym(e, k.Name, v, sourceTopicOverride)
		}
		d.b.eachSynonym(d.md, config.Synonyms(k.Name), func(s *config.Key, v string, src int8) bool {
			addSynonym(e, s.Name, v, src)
			return true
		})
	}
	return nil
}

func (d *describer) broker(name string) error {
	if name == "" { // the cluster-wide dynamic defaults only
		for k, v := range d.md.BrokerConfigs[""] {
			if key := config.BrokerKey(k); key != nil {
				if e := d.entry(key, &v, sourceDynamicDefault, false); e != nil && d.req.IncludeSynonyms {
					addSynonym(e, k, v, sourceDynamicDefault)
				}
			}
		}
		return nil
	}
	if name != strconv.Itoa(int(d.b.cfg.NodeID)) {
		return protocol.Errorf(protocol.InvalidRequest, "broker %d cannot describe broker %s", d.b.cfg.NodeID, name)
	}
	for i := range config.Broker {
		k := &config.Broker[i]
		var value *string
		source := int8(sourceDefault)
		var synonyms []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
		first := true
		d.b.eachSynonym(d.md, config.BrokerSynonyms(k.Name), func(s *config.Key, v string, src int8) bool {
			if first {
				source, first = src, false
			}
			if s == k && value == nil {
				value = &v
			}
			synonyms = append(synonyms, kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{Name: s.Name, Value: &v, Source: kmsg.ConfigSource(src)})
			return true
		})
		if e := d.entry(k, value, source, k.ReadOnly()); e != nil && d.req.IncludeSynonyms {
			e.ConfigSynonyms = synonyms
		}
	}
	return nil
}

// entry adds one key to the resource unless the request names others.
func (d *describer) entry(k *config.Key, value *string, source int8, readOnly bool) *kmsg.DescribeConfigsResponseResourceConfig {
	if d.names != nil && !slices.Contains(d.names, k.Name) {
		return nil
	}
	e := kmsg.NewDescribeConfigsResponseResourceConfig()
	e.Name, e.Value, e.ReadOnly, e.Source, e.ConfigType = k.Name, value, readOnly, kmsg.ConfigSource(source), kmsg.ConfigType(k.Type)
	e.IsDefault = source == sourceDefault
	if k.Type == config.Password {
		e.Value, e.IsSensitive = nil, true // Kafka never shows a password
	}
	if d.req.IncludeDocumentation {
		e.Documentation = &k.Doc
	}
	d.out.Configs = append(d.out.Configs, e)
	return &d.out.Configs[len(d.out.Configs)-1]
}

func addSynonym(e *kmsg.DescribeConfigsResponseResourceConfig, name, value string, source int8) {
	e.ConfigSynonyms = append(e.ConfigSynonyms, kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{
		Name: name, Value: &value, Source: kmsg.ConfigSource(source)})
}
