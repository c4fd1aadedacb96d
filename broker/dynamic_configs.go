package broker

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Dynamic broker configs: the broker-level keys Kafka lets AlterConfigs
// change at run time. They live in the metadata (by broker id, "" for the
// cluster-wide default), so every broker and every restart sees them, and
// they sit between server.properties and the topic overrides: a broker's
// own value wins over the cluster default, which wins over the file.

// dynamicBrokerKeys maps each dynamic broker key onto the topic key whose
// default it sets, with the factor from its unit to the topic key's. The
// order is the order of application, so that, as in Kafka,
// log.retention.ms wins over .minutes, which wins over .hours.
var dynamicBrokerKeys = []struct {
	key, topicKey string
	scale         int64
}{
	{"log.retention.hours", "retention.ms", 3600000},
	{"log.retention.minutes", "retention.ms", 60000},
	{"log.retention.ms", "retention.ms", 1},
	{"log.retention.bytes", "retention.bytes", 1},
	{"log.segment.bytes", "segment.bytes", 1},
	{"log.roll.ms", "segment.ms", 1},
	{"log.cleanup.policy", "cleanup.policy", 0},
	{"log.cleaner.delete.retention.ms", "delete.retention.ms", 1},
	{"message.max.bytes", "max.message.bytes", 1},
	{"min.insync.replicas", "min.insync.replicas", 1},
}

func isDynamicBrokerKey(k string) bool {
	for _, d := range dynamicBrokerKeys {
		if d.key == k {
			return true
		}
	}
	return slices.Contains(throttleRateKeys, k)
}

// withDynamic applies dynamic broker configs onto log defaults and the
// default min.insync.replicas. Values are checked as the topic key would
// check them; the first bad one is the error.
func withDynamic(c klog.Config, minISR int, configs ...map[string]string) (klog.Config, int, error) {
	for _, set := range configs {
		for _, d := range dynamicBrokerKeys {
			v, ok := set[d.key]
			if !ok {
				continue
			}
			if d.scale > 1 {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return c, minISR, protocol.Errorf(protocol.InvalidConfig, "%s=%s: not an integer", d.key, v)
				}
				v = strconv.FormatInt(n*d.scale, 10)
			}
			if d.key == "min.insync.replicas" {
				n, err := parseMinISR(v)
				if err != nil {
					return c, minISR, protocol.Errorf(protocol.InvalidConfig, "%s=%s: %v", d.key, v, err)
				}
				minISR = n
				continue
			}
			if err := topicConfigs[d.topicKey].apply(&c, v); err != nil {
				return c, minISR, protocol.Errorf(protocol.InvalidConfig, "%s=%s: %v", d.key, v, err)
			}
		}
	}
	if err := c.Validate(); err != nil {
		return c, minISR, protocol.Errorf(protocol.InvalidConfig, "%v", err)
	}
	return c, minISR, nil
}

// dynamicState is what server.properties said, to recompute the
// effective defaults from whenever the dynamic configs change.
type dynamicState struct {
	staticLog    klog.Config
	staticMinISR int
	minISR       atomic.Int64
}

// applyDynamicConfigs makes the metadata's dynamic broker configs this
// broker's defaults; the replica manager then reconfigures every log.
func (b *Broker) applyDynamicConfigs(md *coordinator.Metadata) {
	id := strconv.Itoa(int(b.cfg.NodeID))
	b.applyThrottleRates(md)
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
	for k, v := range configs {
		if !isDynamicBrokerKey(k) {
			return protocol.Errorf(protocol.InvalidConfig, "%s cannot be updated dynamically: set it in server.properties", k)
		}
		if n, err := strconv.ParseInt(v, 10, 64); slices.Contains(throttleRateKeys, k) && (err != nil || n < 0) {
			return protocol.Errorf(protocol.InvalidConfig, "%s=%s: must be a number of bytes per second, 0 or more", k, v)
		}
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
	b.replicas.reconcile(b.coord.Metadata())
	return nil
}
