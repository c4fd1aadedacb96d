package txn

import (
	"context"
	"log/slog"
	"sync"
	"time"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// PartitionWriter appends the coordinator's records to __transaction_state.
type PartitionWriter interface {
	// Write appends one record to partition with acks=all, provided this
	// broker still leads it in leaderEpoch, and returns once the record is
	// committed or has failed with a Kafka error (protocol.Errorf).
	Write(ctx context.Context, partition, leaderEpoch int32, key, value []byte) error
}

// Marker is the end of one transaction, to be written to its partitions.
type Marker struct {
	TransactionalID  string
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool
	CoordinatorEpoch int32
}

// MarkerSender writes a marker to the leaders of partitions, batched per
// leader as WriteTxnMarkers is. It returns each partition's outcome; a
// partition missing from the map failed and is retried.
type MarkerSender interface {
	Send(ctx context.Context, m Marker, partitions []klog.TopicPartition) map[klog.TopicPartition]error
}

// ProducerIDs hands out producer ids unique in the cluster.
type ProducerIDs interface {
	Generate(ctx context.Context) (int64, error)
}

// Cluster is what the coordinator asks of the cluster's metadata.
type Cluster interface {
	// PartitionExists reports whether tp is in the metadata: markers for a
	// partition of a deleted topic are dropped, as Kafka drops them.
	PartitionExists(tp klog.TopicPartition) bool
}

// Deps are the coordinator's seams to the broker.
type Deps struct {
	Writer  PartitionWriter
	Markers MarkerSender
	IDs     ProducerIDs
	Cluster Cluster
	// PartitionOf is the partition of __transaction_state that holds id.
	PartitionOf func(id string) int32
	Logger      *slog.Logger
	Now         func() time.Time // time.Now when nil
	// Phases, when set, is told how long each phase of a transaction took.
	Phases PhaseObserver
}

// partState is one partition of __transaction_state this broker leads.
type partState struct {
	epoch  int32 // leader epoch: the coordinator epoch of its markers
	loaded bool
	since  time.Time // when the load started
}

// Coordinator is the transaction coordinator of one broker.
type Coordinator struct {
	cfg Config
	d   Deps
	log *slog.Logger

	ctx    context.Context // cancelled by Close; bounds marker fan-out
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	parts map[int32]*partState
	txns  map[string]*Metadata
	// settled is closed, and replaced, whenever a write in flight ends:
	// what AddPartitionsForWrite waits on instead of answering
	// CONCURRENT_TRANSACTIONS.
	settled chan struct{}
	// adds are partitions queued by AddPartitionsForWrite behind a write
	// in flight, by transactional id, producer id and epoch.
	adds map[addKey]*queuedAdds

	counters counters
}

// New returns a coordinator that leads no partition yet; Start runs its
// timers.
func New(cfg Config, d Deps) *Coordinator {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Coordinator{cfg: cfg, d: d, log: d.Logger, ctx: ctx, cancel: cancel,
		parts: map[int32]*partState{}, txns: map[string]*Metadata{}, settled: make(chan struct{}),
		adds: map[addKey]*queuedAdds{}}
}

// Start runs the timers that abort timed-out transactions and remove
// expired transactional ids, until Close.
func (c *Coordinator) Start() {
	c.every(c.cfg.AbortTimedOutInterval, c.AbortTimedOut)
	c.every(c.cfg.RemoveExpiredInterval, c.RemoveExpired)
}

func (c *Coordinator) every(d time.Duration, f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	}()
}

// Close stops the timers and every marker fan-out, and waits for them.
func (c *Coordinator) Close() {
	c.cancel()
	c.wg.Wait()
}

func (c *Coordinator) nowMs() int64 { return c.d.Now().UnixMilli() }

// StartLoad marks partition as led here in leaderEpoch and loading: its
// ids answer COORDINATOR_LOAD_IN_PROGRESS until FinishLoad. It reports
// false when that load has already started.
func (c *Coordinator) StartLoad(partition, leaderEpoch int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.parts[partition]; ok && p.epoch == leaderEpoch {
		return false
	}
	c.unloadLocked(partition)
	c.parts[partition] = &partState{epoch: leaderEpoch, since: c.d.Now()}
	return true
}

// Record is one record of __transaction_state as read from the log.
type Record struct {
	Offset     int64
	Key, Value []byte
}

// FinishLoad replays partition's records, oldest first, and starts
// serving its ids; transactions found mid-completion get their markers
// sent again. Records that cannot be read are skipped with an ERROR line.
// A load superseded by a newer epoch or an unload is dropped.
func (c *Coordinator) FinishLoad(partition, leaderEpoch int32, records []Record) {
	img := map[string]*Metadata{}
	for _, r := range records {
		id, m, err := DecodeRecord(r.Key, r.Value)
		if err != nil {
			c.log.Error("transaction load skips a record it cannot read", "partition", partition, "offset", r.Offset, "err", err)
			continue
		}
		if m == nil {
			delete(img, id)
			continue
		}
		img[id] = m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.parts[partition]
	if !ok || p.epoch != leaderEpoch || p.loaded {
		return
	}
	for id, m := range img {
		if m.State == Dead {
			continue
		}
		c.txns[id] = m
		if m.State.completing() {
			c.startCompletion(m.clone(), partition, leaderEpoch)
		}
	}
	p.loaded = true
	c.counters.loads.Observe(c.d.Now().Sub(p.since))
	level := slog.LevelDebug // an empty partition is not news
	if len(img) > 0 {
		level = slog.LevelInfo
	}
	c.log.Log(context.Background(), level, "loaded transaction coordinator state", "partition", partition,
		"leader_epoch", leaderEpoch, "transactional_ids", len(img))
}

// Unload forgets the ids of a partition this broker no longer leads.
func (c *Coordinator) Unload(partition int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unloadLocked(partition)
}

func (c *Coordinator) unloadLocked(partition int32) {
	if _, ok := c.parts[partition]; !ok {
		return
	}
	delete(c.parts, partition)
	for id := range c.txns {
		if c.d.PartitionOf(id) == partition {
			delete(c.txns, id)
		}
	}
}

// servingLocked returns the partition of id and its coordinator epoch if
// this broker serves it: NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS
// otherwise.
func (c *Coordinator) servingLocked(id string) (int32, int32, error) {
	part := c.d.PartitionOf(id)
	p, ok := c.parts[part]
	switch {
	case !ok:
		return part, -1, protocol.Errorf(protocol.NotCoordinator, "this broker does not coordinate transactional id %q", id)
	case !p.loaded:
		return part, -1, protocol.Errorf(protocol.CoordinatorLoadInProgress, "loading __transaction_state-%d", part)
	}
	return part, p.epoch, nil
}

// stillServing reports whether partition is loaded here in epoch.
func (c *Coordinator) stillServingLocked(partition, epoch int32) bool {
	p, ok := c.parts[partition]
	return ok && p.loaded && p.epoch == epoch
}

// persist writes next as id's state and applies it to m once written. m
// must be the live metadata, marked pending by the caller under c.mu; it
// is unmarked either way. The error is what Kafka's coordinator answers
// for a failed append.
func (c *Coordinator) persist(ctx context.Context, m, next *Metadata, part, epoch int32) error {
	var value []byte
	if next.State != Dead {
		value = EncodeValue(next)
	}
	start := time.Now()
	err := c.d.Writer.Write(ctx, part, epoch, EncodeKey(next.TransactionalID), value)
	if p, ok := writePhase(next.State); ok {
		c.observe(p, start)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m.pending = false
	close(c.settled)
	c.settled = make(chan struct{})
	if err != nil {
		c.log.Warn("cannot write transaction state", "transactional_id", next.TransactionalID,
			"state", next.State, "partition", part, "err", err)
		return appendError(err)
	}
	if !c.stillServingLocked(part, epoch) {
		return protocol.Errorf(protocol.NotCoordinator, "__transaction_state-%d moved while writing", part)
	}
	*m = *next.clone()
	if next.State == Dead {
		delete(c.txns, next.TransactionalID)
	}
	return nil
}

// appendError maps a failed append to what Kafka's TransactionStateManager
// answers for it.
func appendError(err error) error {
	switch protocol.Code(err) {
	case protocol.UnknownTopicOrPartition, protocol.NotEnoughReplicas, protocol.NotEnoughReplicasAfterAppend,
		protocol.RequestTimedOut, protocol.CoordinatorNotAvailable:
		return protocol.Errorf(protocol.CoordinatorNotAvailable, "%v", err)
	case protocol.NotLeaderOrFollower, protocol.KafkaStorageError, protocol.FencedLeaderEpoch, protocol.NotCoordinator:
		return protocol.Errorf(protocol.NotCoordinator, "%v", err)
	}
	return protocol.Errorf(protocol.UnknownServerError, "%v", err)
}
