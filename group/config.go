package group

import (
	"fmt"
	"math"
	"time"
)

// Config is the group coordinator's share of the broker's settings, named
// after the server.properties keys they come from.
type Config struct {
	MinSessionTimeout     time.Duration // group.min.session.timeout.ms
	MaxSessionTimeout     time.Duration // group.max.session.timeout.ms
	MaxSize               int           // group.max.size
	InitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms
	// OffsetsPartitions is offsets.topic.num.partitions: the partition
	// count of __consumer_offsets until the topic exists.
	OffsetsPartitions             int32
	OffsetsRetention              time.Duration // offsets.retention.minutes
	OffsetsRetentionCheckInterval time.Duration // offsets.retention.check.interval.ms
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		MinSessionTimeout:             6 * time.Second,
		MaxSessionTimeout:             30 * time.Minute,
		MaxSize:                       math.MaxInt32,
		InitialRebalanceDelay:         3 * time.Second,
		OffsetsPartitions:             50,
		OffsetsRetention:              7 * 24 * time.Hour,
		OffsetsRetentionCheckInterval: 10 * time.Minute,
	}
}

// Validate refuses settings the coordinator cannot run with.
func (c Config) Validate() error {
	switch {
	case c.MinSessionTimeout < 0 || c.MaxSessionTimeout < c.MinSessionTimeout:
		return fmt.Errorf("group session timeouts: min %v, max %v", c.MinSessionTimeout, c.MaxSessionTimeout)
	case c.MaxSize < 1:
		return fmt.Errorf("group.max.size %d is below 1", c.MaxSize)
	case c.InitialRebalanceDelay < 0:
		return fmt.Errorf("group.initial.rebalance.delay.ms %v is negative", c.InitialRebalanceDelay)
	case c.OffsetsPartitions < 1:
		return fmt.Errorf("offsets.topic.num.partitions %d is below 1", c.OffsetsPartitions)
	case c.OffsetsRetention <= 0 || c.OffsetsRetentionCheckInterval <= 0:
		return fmt.Errorf("offsets retention %v, check interval %v: both must be positive", c.OffsetsRetention, c.OffsetsRetentionCheckInterval)
	}
	return nil
}

// Cluster is what the coordinator asks of the cluster's metadata.
type Cluster interface {
	// OffsetsPartitions is the partition count of __consumer_offsets, and
	// false while the topic does not exist.
	OffsetsPartitions() (int32, bool)
	// PartitionExists reports whether the metadata holds the partition.
	PartitionExists(topic string, partition int32) bool
}
