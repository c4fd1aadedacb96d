package broker

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gokafka/gokafka/config"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Topic-level configs. The catalogue (config.Topics) names every key and
// checks every value; topicApply gives the keys that change the partition
// log's Config their effect. The other keys act elsewhere
// (min.insync.replicas on acks=all, unclean.leader.election.enable in the
// controller, the throttled replicas on fetch) or not at all, which their
// documentation says.

// topicApply maps a checked value onto the log's Config.
var topicApply = map[string]func(c *klog.Config, v string){
	"cleanup.policy":         func(c *klog.Config, v string) { c.CleanupPolicy = strings.ReplaceAll(v, " ", "") },
	"delete.retention.ms":    func(c *klog.Config, v string) { c.DeleteRetentionMs = parseLong(v) },
	"file.delete.delay.ms":   func(c *klog.Config, v string) { c.FileDeleteDelayMs = parseLong(v) },
	"flush.before.ack":       func(c *klog.Config, v string) { c.FlushBeforeAck = strings.EqualFold(strings.TrimSpace(v), "true") },
	"flush.messages":         func(c *klog.Config, v string) { c.FlushIntervalMessages = parseLong(v) },
	"flush.ms":               func(c *klog.Config, v string) { c.FlushIntervalMs = parseLong(v) },
	"index.interval.bytes":   func(c *klog.Config, v string) { c.IndexIntervalBytes = int32(parseLong(v)) },
	"max.message.bytes":      func(c *klog.Config, v string) { c.MaxMessageBytes = int32(parseLong(v)) },
	"retention.bytes":        func(c *klog.Config, v string) { c.RetentionBytes = parseLong(v) },
	"retention.ms":           func(c *klog.Config, v string) { c.RetentionMs = parseLong(v) },
	"segment.bytes":          func(c *klog.Config, v string) { c.SegmentBytes = parseLong(v) },
	"segment.index.bytes":    func(c *klog.Config, v string) { c.IndexSizeMaxBytes = int32(parseLong(v)) },
	"segment.ms":             func(c *klog.Config, v string) { c.SegmentMs = parseLong(v) },
	"message.timestamp.type": func(c *klog.Config, v string) { c.LogAppendTime = strings.TrimSpace(v) == "LogAppendTime" },
	"min.cleanable.dirty.ratio": func(c *klog.Config, v string) {
		c.MinCleanableDirtyRatio, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
	},
	"compression.type":       func(c *klog.Config, v string) { c.CompressionType = strings.TrimSpace(v) },
	"compression.gzip.level": func(c *klog.Config, v string) { c.GzipLevel = int32(parseLong(v)) },
	"compression.lz4.level":  func(c *klog.Config, v string) { c.LZ4Level = int32(parseLong(v)) },
	"compression.zstd.level": func(c *klog.Config, v string) { c.ZstdLevel = int32(parseLong(v)) },
}

// topicCheck adds the checks of values whose form the catalogue's types
// do not say.
var topicCheck = map[string]func(string) error{
	leaderThrottledReplicas:   func(v string) error { return validThrottled(nil, v) },
	followerThrottledReplicas: func(v string) error { return validThrottled(nil, v) },
}

func parseMinISR(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("must be an integer of at least 1")
	}
	return n, nil
}

// parseLong reads a value config.Key.Check has accepted as an integer.
func parseLong(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}

// checkTopicConfig checks one topic key's value; the error carries
// INVALID_CONFIG and names the key and value.
func checkTopicConfig(name, v string) error {
	k := config.TopicKey(name)
	if k == nil {
		return protocol.Errorf(protocol.InvalidConfig, "Unknown topic config name: %s", name)
	}
	err := k.Check(v)
	if check := topicCheck[name]; err == nil && check != nil {
		err = check(v)
	}
	if err != nil {
		return protocol.Errorf(protocol.InvalidConfig, "Invalid value %s for configuration %s: %v", v, name, err)
	}
	return nil
}

// topicLogConfig applies a topic's config overrides to the broker defaults.
// An error names the key and value and carries INVALID_CONFIG.
func topicLogConfig(defaults klog.Config, overrides map[string]string) (klog.Config, error) {
	c := defaults
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic: the first bad key is always the same one
	for _, k := range keys {
		if err := checkTopicConfig(k, overrides[k]); err != nil {
			return c, err
		}
		if apply := topicApply[k]; apply != nil {
			apply(&c, overrides[k])
		}
	}
	if err := c.Validate(); err != nil {
		return c, protocol.Errorf(protocol.InvalidConfig, "%v", err)
	}
	return c, nil
}

// storedCodec is the codec and level a log's leader stores batches in
// (compression.type and its level, from the topic or the broker, already
// applied to the log's Config); ok is false for producer, which stores
// batches as the producer compressed them.
func storedCodec(c klog.Config) (codec, level int, ok bool) {
	switch c.CompressionType {
	case "uncompressed":
		return protocol.CompressionNone, 0, true
	case "gzip":
		return protocol.CompressionGzip, int(c.GzipLevel), true
	case "snappy":
		return protocol.CompressionSnappy, 0, true
	case "lz4":
		return protocol.CompressionLZ4, int(c.LZ4Level), true
	case "zstd":
		return protocol.CompressionZstd, int(c.ZstdLevel), true
	}
	return 0, 0, false
}
