package broker

import (
	"context"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gokafka/gokafka/config"
	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Dynamic broker configs: the broker-level keys Kafka lets AlterConfigs
// change at run time (config.Dynamic in the catalogue). They live in the
// metadata (by broker id, "" for the cluster-wide default), so every
// broker and every restart sees them, and they sit between
// server.properties and the topic overrides: a broker's own value wins
// over the cluster default, which wins over the file.

func isDynamicBrokerKey(k string) bool {
	key := config.BrokerKey(k)
	return key != nil && key.Scope == config.Dynamic
}

// withDynamic applies dynamic broker configs onto log defaults and the
// default min.insync.replicas: each broker key that sets a topic key's
// default, the coarser units first so that, as in Kafka, log.retention.ms
// wins over .minutes, which wins over .hours. Values are checked as the
// catalogue says; the first bad one is the error.
func withDynamic(c klog.Config, minISR int, configs ...map[string]string) (klog.Config, int, error) {
	for _, set := range configs {
		for i := len(config.Broker) - 1; i >= 0; i-- {
			k := &config.Broker[i]
			v, ok := set[k.Name]
			if !ok || k.Topic == "" {
				continue
			}
			if err := k.Check(v); err != nil {
				return c, minISR, invalidValue(k.Name, v, err)
			}
			v = inTopicUnit(k, strings.TrimSpace(v))
			if k.Topic == "min.insync.replicas" {
				minISR = int(parseLong(v))
			} else if apply := topicApply[k.Topic]; apply != nil {
				apply(&c, v)
			}
		}
	}
	if err := c.Validate(); err != nil {
		return c, minISR, protocol.Errorf(protocol.InvalidConfig, "%v", err)
	}
	return c, minISR, nil
}

// invalidValue is Kafka's ConfigException message for a bad value.
func invalidValue(name, v string, err error) error {
	return protocol.Errorf(protocol.InvalidConfig, "Invalid value %s for configuration %s: %v", v, name, err)
}

// dynamicState is what server.properties said, to recompute the
// effective defaults from whenever the dynamic configs change, and the
// dynamic values read outside the log's config.
type dynamicState struct {
	staticLog    klog.Config
	staticMinISR int
	// static and defaults are the server.properties keys the file set and
	// those it left at their defaults, by name.
	static, defaults map[string]string
	minISR           atomic.Int64
	maxConnections   atomic.Int64 // max.connections
}

// applyDynamicConfigs makes the metadata's dynamic broker configs this
// broker's defaults; the replica manager then reconfigures every log.
func (b *Broker) applyDynamicConfigs(md *coordinator.Metadata) {
	id := strconv.Itoa(int(b.cfg.NodeID))
	b.applyThrottleRates(md)
	maxConns := int64(b.cfg.MaxConnections)
	if v, ok := dynamicValue(md, id, "max.connections"); ok {
		maxConns = parseLong(v)
	}
	b.dynamic.maxConnections.Store(maxConns)
	backoff, _ := dynamicValue(md, id, "log.cleaner.backoff.ms") // unset: 0, as configured
	b.logs.SetCleanerBackoff(time.Duration(min(parseLong(backoff), math.MaxInt64/int64(time.Millisecond))) * time.Millisecond)
	c, minISR, err := withDynamic(b.dynamic.staticLog, b.dynamic.staticMinISR, md.BrokerConfigs[""], md.BrokerConfigs[id])
	if err != nil {
		b.log.Error("dynamic broker configs not applied", "err", err)
		return
	}
	if c != b.logs.Defaults() || int64(minISR) != b.dynamic.minISR.Load() {
		b.logs.SetDefaults(c)
		b.dynamic.minISR.Store(int64(minISR))
		b.log.Info("broker defaults changed", "cluster_default", md.BrokerConfigs[""], "this_broker", md.BrokerConfigs[id])
	}
}

// dynamicValue is a broker key's value set at run time for broker id or
// else for the cluster, if any.
func dynamicValue(md *coordinator.Metadata, id, name string) (string, bool) {
	if v, ok := md.BrokerConfigs[id][name]; ok {
		return v, true
	}
	v, ok := md.BrokerConfigs[""][name]
	return v, ok
}

func (b *Broker) defaultMinISR() int { return int(b.dynamic.minISR.Load()) }

// alterBrokerConfigs validates and stores the dynamic configs of a broker
// resource ("" or a broker id): next turns the current set into the new.
func (b *Broker) alterBrokerConfigs(resource string, validateOnly bool, next func(map[string]string) (map[string]string, error)) error {
	md := b.coord.Metadata()
	if resource != "" {
		id, err := strconv.ParseInt(resource, 10, 32)
		if err != nil || md.Broker(int32(id)) == nil {
			return protocol.Errorf(protocol.InvalidRequest, "broker %q is not registered", resource)
		}
	}
	configs, err := next(maps.Clone(md.BrokerConfigs[resource]))
	if err != nil {
		return err
	}
	if err := checkBrokerConfigs(configs); err != nil {
		return err
	}
	if _, _, err := withDynamic(b.dynamic.staticLog, b.dynamic.staticMinISR, configs); err != nil {
		return err
	}
	if validateOnly {
		return nil
	}
	ctx, cancel := context.WithTimeout(b.ctx, metadataChangeTimeout)
	defer cancel()
	if err := b.coord.AlterBrokerConfigs(ctx, resource, configs); err != nil {
		return err
	}
	b.replicas.Reconcile(b.coord.Metadata())
	return nil
}

// checkBrokerConfigs refuses, as Kafka does, unknown keys, the keys that
// cannot change at run time (all of them named in one message) and values
// of the wrong type or out of range.
func checkBrokerConfigs(configs map[string]string) error {
	var static []string
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		k := config.BrokerKey(name)
		switch {
		case k == nil:
			return protocol.Errorf(protocol.InvalidConfig, "Unknown broker config %s", name)
		case k.ReadOnly():
			static = append(static, name)
		default:
			if err := k.Check(configs[name]); err != nil {
				return invalidValue(name, configs[name], err)
			}
		}
	}
	if len(static) > 0 {
		return protocol.Errorf(protocol.InvalidConfig, "Cannot update these configs dynamically: Set(%s)", strings.Join(static, ", "))
	}
	return nil
}
