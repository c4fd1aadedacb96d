package broker

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// topicConfig is one topic-level config key this broker accepts, Kafka's
// names: apply maps a value onto the partition log's Config (nil-effect
// keys are validated and stored, and act elsewhere: min ISR, election),
// and def gives the broker-wide default DescribeConfigs reports.
type topicConfig struct {
	apply func(c *klog.Config, v string) error
	def   func(b *Broker, d klog.Config) string
	typ   int8 // DescribeConfigs config type: 1 boolean, 2 string, 3 int, 5 long, 6 double, 7 list
}

var topicConfigs = map[string]topicConfig{
	"cleanup.policy": {func(c *klog.Config, v string) error {
		c.CleanupPolicy = strings.ReplaceAll(v, " ", "")
		return nil
	}, func(_ *Broker, d klog.Config) string { return d.CleanupPolicy }, 7},
	"compression.type": {func(_ *klog.Config, v string) error {
		// Batches are stored as the producer compressed them; recompressing
		// on the broker would mean decoding every batch.
		if v != "producer" {
			return fmt.Errorf("only compression.type=producer is supported")
		}
		return nil
	}, constant("producer"), 2},
	"delete.retention.ms":     {intField(func(c *klog.Config) *int64 { return &c.DeleteRetentionMs }, 0), long(func(d klog.Config) int64 { return d.DeleteRetentionMs }), 5},
	"file.delete.delay.ms":    {intField(func(c *klog.Config) *int64 { return &c.FileDeleteDelayMs }, 0), long(func(d klog.Config) int64 { return d.FileDeleteDelayMs }), 5},
	"flush.messages":          {intField(func(c *klog.Config) *int64 { return &c.FlushIntervalMessages }, 1), long(func(d klog.Config) int64 { return d.FlushIntervalMessages }), 5},
	"flush.ms":                {intField(func(c *klog.Config) *int64 { return &c.FlushIntervalMs }, 0), long(func(d klog.Config) int64 { return d.FlushIntervalMs }), 5},
	"index.interval.bytes":    {int32Field(func(c *klog.Config) *int32 { return &c.IndexIntervalBytes }, 0), long(func(d klog.Config) int64 { return int64(d.IndexIntervalBytes) }), 3},
	"max.message.bytes":       {int32Field(func(c *klog.Config) *int32 { return &c.MaxMessageBytes }, 0), long(func(d klog.Config) int64 { return int64(d.MaxMessageBytes) }), 3},
	"retention.bytes":         {intField(func(c *klog.Config) *int64 { return &c.RetentionBytes }, -1), long(func(d klog.Config) int64 { return d.RetentionBytes }), 5},
	"retention.ms":            {intField(func(c *klog.Config) *int64 { return &c.RetentionMs }, -1), long(func(d klog.Config) int64 { return d.RetentionMs }), 5},
	"segment.bytes":           {intField(func(c *klog.Config) *int64 { return &c.SegmentBytes }, 14), long(func(d klog.Config) int64 { return d.SegmentBytes }), 3},
	"segment.index.bytes":     {int32Field(func(c *klog.Config) *int32 { return &c.IndexSizeMaxBytes }, 8), long(func(d klog.Config) int64 { return int64(d.IndexSizeMaxBytes) }), 3},
	"segment.ms":              {intField(func(c *klog.Config) *int64 { return &c.SegmentMs }, 1), long(func(d klog.Config) int64 { return d.SegmentMs }), 5},
	"segment.jitter.ms":       {validInt(0), constant("0"), 5},
	"min.compaction.lag.ms":   {validInt(0), constant("0"), 5},
	"max.compaction.lag.ms":   {validInt(1), constant("9223372036854775807"), 5},
	"preallocate":             {validBool, constant("false"), 1},
	leaderThrottledReplicas:   {validThrottled, constant(""), 7},
	followerThrottledReplicas: {validThrottled, constant(""), 7},
	"min.insync.replicas": {func(_ *klog.Config, v string) error { _, err := parseMinISR(v); return err },
		func(b *Broker, _ klog.Config) string { return strconv.Itoa(b.defaultMinISR()) }, 3},
	"unclean.leader.election.enable": {validBool,
		func(b *Broker, _ klog.Config) string { return strconv.FormatBool(b.cfg.UncleanLeaderElection) }, 1},
	"message.timestamp.type": {func(c *klog.Config, v string) error {
		switch v {
		case "CreateTime":
			c.LogAppendTime = false
		case "LogAppendTime":
			c.LogAppendTime = true
		default:
			return fmt.Errorf("must be CreateTime or LogAppendTime")
		}
		return nil
	}, func(_ *Broker, d klog.Config) string {
		if d.LogAppendTime {
			return "LogAppendTime"
		}
		return "CreateTime"
	}, 2},
	"min.cleanable.dirty.ratio": {func(c *klog.Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("must be a number between 0 and 1")
		}
		c.MinCleanableDirtyRatio = f
		return nil
	}, func(_ *Broker, d klog.Config) string {
		return strconv.FormatFloat(d.MinCleanableDirtyRatio, 'f', -1, 64)
	}, 6},
}

func constant(v string) func(*Broker, klog.Config) string {
	return func(*Broker, klog.Config) string { return v }
}

func long(field func(klog.Config) int64) func(*Broker, klog.Config) string {
	return func(_ *Broker, d klog.Config) string { return strconv.FormatInt(field(d), 10) }
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
		tc, ok := topicConfigs[k]
		if !ok {
			return c, protocol.Errorf(protocol.InvalidConfig, "unknown topic config %q", k)
		}
		if err := tc.apply(&c, overrides[k]); err != nil {
			return c, protocol.Errorf(protocol.InvalidConfig, "%s=%s: %v", k, overrides[k], err)
		}
	}
	if err := c.Validate(); err != nil {
		return c, protocol.Errorf(protocol.InvalidConfig, "%v", err)
	}
	return c, nil
}

func parseMinISR(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("must be an integer of at least 1")
	}
	return n, nil
}

func parseIntMin(v string, min int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer")
	}
	if n < min {
		return 0, fmt.Errorf("must be at least %d", min)
	}
	return n, nil
}

func intField(field func(*klog.Config) *int64, min int64) func(*klog.Config, string) error {
	return func(c *klog.Config, v string) error {
		n, err := parseIntMin(v, min)
		if err == nil {
			*field(c) = n
		}
		return err
	}
}

func int32Field(field func(*klog.Config) *int32, min int64) func(*klog.Config, string) error {
	return func(c *klog.Config, v string) error {
		n, err := parseIntMin(v, min)
		if err == nil && n > 1<<31-1 {
			err = fmt.Errorf("must fit in 32 bits")
		}
		if err == nil {
			*field(c) = int32(n)
		}
		return err
	}
}

func validInt(min int64) func(*klog.Config, string) error {
	return func(_ *klog.Config, v string) error { _, err := parseIntMin(v, min); return err }
}

func validBool(_ *klog.Config, v string) error {
	if v != "true" && v != "false" {
		return fmt.Errorf("must be true or false")
	}
	return nil
}
