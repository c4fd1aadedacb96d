package replica

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
)

// Config is what the replica manager is told of its broker.
type Config struct {
	NodeID            int32
	ReplicaLagTimeMax time.Duration // replica.lag.time.max.ms
	// MetadataChangeTimeout bounds each call to the controller
	// (AlterPartition, a barrier after a refusal).
	MetadataChangeTimeout time.Duration
	// Internal names the topics reconciled on every change, changed or
	// not: their leaders load the group and transaction coordinators,
	// which the reconcile keeps asking for until they have.
	Internal []string
}

// Controller is the metadata quorum as the replica manager sees it (the
// coordinator): the image it reconciles against, a kick on every applied
// change, and the leader's ISR changes.
type Controller interface {
	Metadata() *coordinator.Metadata
	// Subscribe returns a channel kicked after every applied change and
	// a function that ends the subscription.
	Subscribe() (<-chan struct{}, func())
	// AlterPartitions asks for ISR changes, one error per change.
	AlterPartitions(ctx context.Context, reqs []coordinator.AlterPartition) ([]error, error)
	// Barrier returns once this node's image holds every change the
	// controller had committed when it was called.
	Barrier(ctx context.Context) error
}

// Host is the broker around the replica manager: the configs that shape
// its logs, its metrics, the coordinators that follow the leadership of
// their topics' partitions, its connections to other brokers and its
// follower replication throttle.
type Host interface {
	// ApplyConfigs adopts md's dynamic broker configs; each reconcile
	// calls it first, so that the logs it opens take them.
	ApplyConfigs(md *coordinator.Metadata)
	// LogConfig is the log config of topic t: the broker's defaults
	// under t's overrides.
	LogConfig(t *coordinator.Topic) (klog.Config, error)
	// MinISR is topic t's min.insync.replicas.
	MinISR(t *coordinator.Topic) int
	// ISRChanged counts an ISR change of a partition led here, as
	// applied from the metadata.
	ISRChanged(shrank, grew bool)
	// StateApplied follows each state a reconcile applies to a local
	// replica: the group and transaction coordinators load or unload as
	// their partitions' leadership moves.
	StateApplied(p *Partition, st coordinator.Partition)
	// DialLeader connects to broker id's inter-broker listener.
	DialLeader(id int32) (Peer, error)
	// FollowerThrottled reports whether this broker's fetches of p fall
	// under follower.replication.throttled.replicas.
	FollowerThrottled(md *coordinator.Metadata, p *Partition) bool
	// FollowerQuotaExceeded reports whether the follower throttle's
	// quota is spent for now; FollowerQuotaRecord spends n bytes of it.
	FollowerQuotaExceeded(now time.Time) bool
	FollowerQuotaRecord(n int, now time.Time)
}

// Peer is one connection to another broker.
type Peer interface {
	// Request sends req and waits up to timeout for its response.
	Request(req kmsg.Request, timeout time.Duration) (kmsg.Response, error)
	Close()
}
