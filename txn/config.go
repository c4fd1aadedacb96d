package txn

import (
	"errors"
	"fmt"
	"time"
)

// Config holds the transaction.* keys of server.properties, with Kafka's
// names and defaults.
type Config struct {
	// The internal topic: transaction.state.log.num.partitions,
	// .replication.factor, .min.isr and .segment.bytes.
	Partitions        int32
	ReplicationFactor int16
	MinISR            int
	SegmentBytes      int64
	// MaxTimeout is transaction.max.timeout.ms: the longest
	// transaction.timeout.ms a producer may ask for.
	MaxTimeout time.Duration
	// IDExpiration is transactional.id.expiration.ms: how long an id with
	// no transaction running is kept after its last update.
	IDExpiration time.Duration
	// AbortTimedOutInterval is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms.
	AbortTimedOutInterval time.Duration
	// RemoveExpiredInterval is
	// transaction.remove.expired.transaction.cleanup.interval.ms.
	RemoveExpiredInterval time.Duration
	// AddPartitionsMaxWait is add.partitions.to.txn.retry.backoff.max.ms:
	// how long a partition leader's add of a partition waits for another
	// state change of the transaction to be written.
	AddPartitionsMaxWait time.Duration
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		Partitions:            50,
		ReplicationFactor:     3,
		MinISR:                2,
		SegmentBytes:          100 << 20,
		MaxTimeout:            15 * time.Minute,
		IDExpiration:          7 * 24 * time.Hour,
		AbortTimedOutInterval: 10 * time.Second,
		RemoveExpiredInterval: time.Hour,
		AddPartitionsMaxWait:  100 * time.Millisecond,
	}
}

// Validate reports a setting no coordinator can run with.
func (c Config) Validate() error {
	var errs []error
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("transaction.state.log.num.partitions %d: must be at least 1", c.Partitions))
	}
	if c.ReplicationFactor < 1 {
		errs = append(errs, fmt.Errorf("transaction.state.log.replication.factor %d: must be at least 1", c.ReplicationFactor))
	}
	if c.MinISR < 1 {
		errs = append(errs, fmt.Errorf("transaction.state.log.min.isr %d: must be at least 1", c.MinISR))
	}
	if c.MaxTimeout < time.Millisecond || c.IDExpiration < time.Millisecond {
		errs = append(errs, errors.New("transaction.max.timeout.ms and transactional.id.expiration.ms must be at least 1"))
	}
	if c.AbortTimedOutInterval < time.Millisecond || c.RemoveExpiredInterval < time.Millisecond {
		errs = append(errs, errors.New("the transaction cleanup intervals must be at least 1 ms"))
	}
	return errors.Join(errs...)
}
