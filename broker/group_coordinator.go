package broker

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/replica"
)

// The group coordinator (package group) reaches __consumer_offsets and the
// metadata through seams this file implements; creating the topic and
// answering FindCoordinator for groups stay with the Broker.

const offsetsTopic = grp.OffsetsTopic

// ensureOffsetsTopic creates __consumer_offsets on first use, compacted,
// with the offsets.topic.* settings.
func (b *Broker) ensureOffsetsTopic(ctx context.Context) (*coordinator.Topic, error) {
	return b.ensureInternalTopic(ctx, coordinator.CreateTopicSpec{
		Name:              offsetsTopic,
		NumPartitions:     b.cfg.OffsetsTopicPartitions,
		ReplicationFactor: b.cfg.OffsetsTopicReplicationFactor,
		Configs: map[string]string{"cleanup.policy": "compact",
			"segment.bytes": strconv.FormatInt(b.cfg.OffsetsTopicSegmentBytes, 10)},
	}, "offsets.topic.replication.factor", &b.offsetsComplained)
}

// coordinatorOf returns the offsets partition of group and its leader.
func (b *Broker) groupCoordinatorOf(ctx context.Context, group string) (int32, int32, error) {
	t, err := b.ensureOffsetsTopic(ctx)
	if err != nil {
		return -1, -1, err
	}
	p := grp.PartitionFor(group, int32(len(t.Partitions)))
	return p, t.Partitions[p].Leader, nil
}

// offsetsLog is the group coordinator's PartitionWriter: the partitions of
// __consumer_offsets among this broker's replicas.
type offsetsLog struct{ b *Broker }

func (o offsetsLog) partition(pid int32) (*replica.Partition, error) {
	p := o.b.replicas.Get(klog.TopicPartition{Topic: offsetsTopic, Partition: pid})
	if p == nil {
		return nil, protocol.Errorf(protocol.NotLeaderOrFollower, "%s-%d has no replica here", offsetsTopic, pid)
	}
	return p, nil
}

func (o offsetsLog) Append(pid int32, batch []byte, guard uint64, acked func(error)) (int64, error) {
	p, err := o.partition(pid)
	if err != nil {
		return -1, err
	}
	res, err := p.AppendLeader(batch, -1, klog.AppendOptions{VerificationGuard: guard})
	if err != nil {
		return -1, err
	}
	var outcome kmsg.ProduceResponseTopicPartition
	o.b.wg.Add(1)
	go func() { // awaitAcks may finish at once, before Append returns
		defer o.b.wg.Done()
		o.b.awaitAcks([]ackWait{{p: p, offset: res.LastOffset + 1, out: &outcome}}, 5*time.Second, func() {
			var err error
			if outcome.ErrorCode != 0 {
				err = &protocol.Error{Code: protocol.ErrorCode(outcome.ErrorCode)}
			}
			acked(err)
		})
	}()
	return res.FirstOffset, nil
}

func (o offsetsLog) VerifyTxn(pid int32, transactionalID string, producerID int64, epoch int16, add bool) (uint64, error) {
	p, err := o.partition(pid)
	if err != nil {
		return 0, err
	}
	op := txnVerify
	if add {
		op = txnAdd
	}
	return o.b.beginTxnWrite(p, transactionalID, producerID, epoch, op)
}

func (o offsetsLog) Leading(pid int32) (int32, bool) {
	p := o.b.replicas.Get(klog.TopicPartition{Topic: offsetsTopic, Partition: pid})
	if p == nil {
		return 0, false
	}
	_, epoch := p.State()
	return epoch, p.IsLeader()
}

// offsetsCluster is the group coordinator's view of the metadata.
type offsetsCluster struct{ b *Broker }

func (o offsetsCluster) OffsetsPartitions() (int32, bool) {
	if t := o.b.coord.Metadata().Topic(offsetsTopic); t != nil {
		return int32(len(t.Partitions)), true
	}
	return 0, false
}

func (o offsetsCluster) PartitionExists(topic string, partition int32) bool {
	return o.b.coord.Metadata().HasPartition(topic, partition)
}

// Group is the group coordinator's share of the broker's settings.
func (c Config) Group() grp.Config {
	return grp.Config{
		MinSessionTimeout:             c.GroupMinSessionTimeout,
		MaxSessionTimeout:             c.GroupMaxSessionTimeout,
		MaxSize:                       c.GroupMaxSize,
		InitialRebalanceDelay:         c.GroupInitialRebalanceDelay,
		OffsetsPartitions:             c.OffsetsTopicPartitions,
		OffsetsRetention:              c.OffsetsRetention,
		OffsetsRetentionCheckInterval: c.OffsetsRetentionCheckInterval,
	}
}

func (o offsetsLog) Bounds(pid int32) (int64, int64, error) {
	p, err := o.partition(pid)
	if err != nil {
		return 0, 0, err
	}
	return p.Log().LogStartOffset(), p.HighWatermark(), nil
}

func (o offsetsLog) AwaitCommitted(pid, epoch int32) error {
	p, err := o.partition(pid)
	if err != nil {
		return err
	}
	return p.AwaitEpochStart(o.b.ctx, epoch)
}

func (o offsetsLog) Read(pid int32, offset, end int64) ([]byte, error) {
	p, err := o.partition(pid)
	if err != nil {
		return nil, err
	}
	res, err := p.Log().Read(offset, 1<<20, end, true)
	return res.Records, err
}
