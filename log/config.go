package log

import (
	"fmt"
	"math"
	"time"
)

// Config is the per-partition log configuration. Broker-wide defaults come
// from server.properties (log.segment.bytes, …); topic-level overrides
// (segment.bytes, …) are applied on top with ApplyTopicConfig.
type Config struct {
	SegmentBytes          int64 // log.segment.bytes / segment.bytes
	SegmentMs             int64 // log.roll.ms / segment.ms
	RetentionMs           int64 // log.retention.ms / retention.ms; -1 keeps forever
	RetentionBytes        int64 // log.retention.bytes / retention.bytes; -1 keeps all
	IndexIntervalBytes    int32 // log.index.interval.bytes / index.interval.bytes
	IndexSizeMaxBytes     int32 // log.index.size.max.bytes / segment.index.bytes
	FlushIntervalMessages int64 // log.flush.interval.messages / flush.messages
	FlushIntervalMs       int64 // log.flush.interval.ms / flush.ms
	MaxMessageBytes       int32 // message.max.bytes / max.message.bytes: largest batch
	FileDeleteDelayMs     int64 // file.delete.delay.ms
	LogAppendTime         bool  // message.timestamp.type=LogAppendTime
	CleanupPolicy         string
	// delete.retention.ms: how long a compacted log keeps tombstones;
	// min.cleanable.dirty.ratio: how much of it must be new to compact.
	DeleteRetentionMs      int64
	MinCleanableDirtyRatio float64
	// CompressionType is compression.type: "producer" stores batches as
	// produced; a codec name makes the leader recompress each batch into
	// it, at compression.gzip/lz4/zstd.level. The log stores bytes only;
	// produce reads these.
	CompressionType                string
	GzipLevel, LZ4Level, ZstdLevel int32
	// FlushBeforeAck is log.flush.before.ack / flush.before.ack,
	// gokafka's own and off as Kafka: a record counts toward the high
	// watermark only once fsynced (group_commit.go).
	FlushBeforeAck bool
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:           1 << 30,
		SegmentMs:              7 * 24 * time.Hour.Milliseconds(),
		RetentionMs:            7 * 24 * time.Hour.Milliseconds(),
		RetentionBytes:         -1,
		IndexIntervalBytes:     4096,
		IndexSizeMaxBytes:      10 << 20,
		FlushIntervalMessages:  math.MaxInt64,
		FlushIntervalMs:        math.MaxInt64,
		MaxMessageBytes:        1048588,
		FileDeleteDelayMs:      60000,
		CleanupPolicy:          "delete",
		DeleteRetentionMs:      24 * time.Hour.Milliseconds(),
		MinCleanableDirtyRatio: 0.5,
		CompressionType:        "producer",
		GzipLevel:              -1,
		LZ4Level:               9,
		ZstdLevel:              3,
	}
}

// Validate reports the first field that Kafka would reject.
func (c Config) Validate() error {
	switch {
	case c.SegmentBytes < 14:
		return fmt.Errorf("segment.bytes %d: must be at least 14", c.SegmentBytes)
	case c.SegmentMs < 1:
		return fmt.Errorf("segment.ms %d: must be at least 1", c.SegmentMs)
	case c.RetentionMs < -1:
		return fmt.Errorf("retention.ms %d: must be -1 or more", c.RetentionMs)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("index.interval.bytes %d: must not be negative", c.IndexIntervalBytes)
	case c.IndexSizeMaxBytes < 8:
		return fmt.Errorf("segment.index.bytes %d: must be at least 8", c.IndexSizeMaxBytes)
	case c.FlushIntervalMessages < 1:
		return fmt.Errorf("flush.messages %d: must be at least 1", c.FlushIntervalMessages)
	case c.FlushIntervalMs < 0:
		return fmt.Errorf("flush.ms %d: must not be negative", c.FlushIntervalMs)
	case c.MaxMessageBytes < 0:
		return fmt.Errorf("max.message.bytes %d: must not be negative", c.MaxMessageBytes)
	case c.DeleteRetentionMs < 0:
		return fmt.Errorf("delete.retention.ms %d: must not be negative", c.DeleteRetentionMs)
	case c.MinCleanableDirtyRatio < 0 || c.MinCleanableDirtyRatio > 1:
		return fmt.Errorf("min.cleanable.dirty.ratio %v: must be between 0 and 1", c.MinCleanableDirtyRatio)
	case c.CleanupPolicy != "delete" && c.CleanupPolicy != "compact" && c.CleanupPolicy != "compact,delete" && c.CleanupPolicy != "delete,compact":
		return fmt.Errorf("cleanup.policy %q: must be delete, compact or both", c.CleanupPolicy)
	}
	return nil
}

// ManagerConfig configures the set of all partition logs of one broker.
type ManagerConfig struct {
	Dirs                     []string      // log.dirs
	RecoveryThreadsPerDir    int           // num.recovery.threads.per.data.dir
	RetentionCheckInterval   time.Duration // log.retention.check.interval.ms
	FlushSchedulerInterval   time.Duration // log.flush.scheduler.interval.ms
	FlushCheckpointInterval  time.Duration // log.flush.offset.checkpoint.interval.ms
	FlushStartOffsetInterval time.Duration // log.flush.start.offset.checkpoint.interval.ms
	CleanerEnable            bool          // log.cleaner.enable
	CleanerBackoff           time.Duration // log.cleaner.backoff.ms
	// SegmentFileCacheSize is log.segment.fd.cache.size, gokafka's own:
	// how many segment files stay open while nobody uses them, the least
	// recently used closed first; 0 keeps every one open, as Kafka does,
	// and -1 (the default) a quarter of the descriptor limit.
	SegmentFileCacheSize int
	Defaults             Config // broker-wide defaults for every partition
	// FS is the file system the logs live on; nil is the operating
	// system's. Tests put a FaultFS here.
	FS FS
}

// DefaultManagerConfig returns Kafka's defaults with logs under ./data.
func DefaultManagerConfig() ManagerConfig {
	return ManagerConfig{
		Dirs:                     []string{"./data"},
		RecoveryThreadsPerDir:    2, // Kafka 4.0's default (KIP-1030)
		RetentionCheckInterval:   5 * time.Minute,
		FlushSchedulerInterval:   time.Second,
		FlushCheckpointInterval:  time.Minute,
		FlushStartOffsetInterval: time.Minute,
		CleanerEnable:            true,
		CleanerBackoff:           15 * time.Second,
		SegmentFileCacheSize:     -1,
		Defaults:                 DefaultConfig(),
	}
}

// Validate checks the manager settings and the defaults.
func (c ManagerConfig) Validate() error {
	switch {
	case len(c.Dirs) == 0:
		return fmt.Errorf("log.dirs: at least one directory is required")
	case c.RecoveryThreadsPerDir < 1:
		return fmt.Errorf("num.recovery.threads.per.data.dir %d: must be at least 1", c.RecoveryThreadsPerDir)
	case c.CleanerBackoff <= 0:
		return fmt.Errorf("log.cleaner.backoff.ms %d: must be positive", c.CleanerBackoff.Milliseconds())
	case c.SegmentFileCacheSize < -1:
		return fmt.Errorf("log.segment.fd.cache.size %d: must be -1 or more", c.SegmentFileCacheSize)
	case c.RetentionCheckInterval <= 0:
		return fmt.Errorf("log.retention.check.interval.ms %d: must be positive", c.RetentionCheckInterval.Milliseconds())
	}
	for i, d := range c.Dirs {
		if d == "" {
			return fmt.Errorf("log.dirs: entry %d is empty", i)
		}
	}
	return c.Defaults.Validate()
}
