package broker

import (
	"context"
	"encoding/binary"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Committed offsets live in the internal topic __consumer_offsets, in
// Kafka's own record formats (OffsetCommitKey/Value). A group belongs to
// one partition of it (Kafka's hash of the group id), and the leader of
// that partition is the group's coordinator: it appends commits with
// acks=all and rebuilds its view by replaying the partition whenever it
// becomes leader in a new epoch.

const offsetsTopic = "__consumer_offsets"

type committedOffset struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
}

type groupCoordinator struct {
	b *Broker

	mu      sync.Mutex
	groups  map[string]*group                                  // membership, by group id
	offsets map[string]map[klog.TopicPartition]committedOffset // by group
	loaded  map[int32]int32                                    // offsets partition -> leader epoch its state was loaded in
}

func newGroupCoordinator(b *Broker) *groupCoordinator {
	return &groupCoordinator{b: b, groups: map[string]*group{},
		offsets: map[string]map[klog.TopicPartition]committedOffset{}, loaded: map[int32]int32{}}
}

// partitionFor is Kafka's group placement: abs(groupId.hashCode()) modulo
// the partition count, with Java's String.hashCode over UTF-16 units.
func partitionFor(group string, partitions int32) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(group)) {
		h = 31*h + int32(u)
	}
	return (h & 0x7fffffff) % partitions
}

// ensureTopic creates __consumer_offsets on first use. With fewer live
// brokers than offsets.topic.replication.factor it says so plainly.
func (gc *groupCoordinator) ensureTopic(ctx context.Context) (*coordinator.Topic, error) {
	if t := gc.b.coord.Metadata().Topic(offsetsTopic); t != nil {
		return t, nil
	}
	spec := coordinator.CreateTopicSpec{
		Name:              offsetsTopic,
		NumPartitions:     gc.b.cfg.OffsetsTopicPartitions,
		ReplicationFactor: gc.b.cfg.OffsetsTopicReplicationFactor,
		Configs:           map[string]string{"cleanup.policy": "compact", "segment.bytes": "104857600"},
	}
	r := gc.b.createTopics(ctx, []coordinator.CreateTopicSpec{spec}, false)[0]
	if r.Err != nil && protocol.Code(r.Err) != protocol.TopicAlreadyExists {
		gc.b.log.Error("cannot create "+offsetsTopic+"; group coordination is unavailable until it exists",
			"offsets.topic.replication.factor", spec.ReplicationFactor, "err", r.Err)
		return nil, protocol.Errorf(protocol.CoordinatorNotAvailable, "creating %s: %v", offsetsTopic, r.Err)
	}
	if t := gc.b.coord.Metadata().Topic(offsetsTopic); t != nil {
		return t, nil
	}
	return nil, protocol.Errorf(protocol.CoordinatorNotAvailable, "%s is being created", offsetsTopic)
}

// coordinatorOf returns the offsets partition of group and its leader.
func (gc *groupCoordinator) coordinatorOf(ctx context.Context, group string) (int32, int32, error) {
	t, err := gc.ensureTopic(ctx)
	if err != nil {
		return -1, -1, err
	}
	p := partitionFor(group, int32(len(t.Partitions)))
	return p, t.Partitions[p].Leader, nil
}

// serving returns the local offsets partition of group, loaded, if this
// broker is its coordinator; NOT_COORDINATOR otherwise.
func (gc *groupCoordinator) serving(group string) (*partition, error) {
	t := gc.b.coord.Metadata().Topic(offsetsTopic)
	if t == nil {
		return nil, protocol.Errorf(protocol.CoordinatorNotAvailable, "%s does not exist yet", offsetsTopic)
	}
	pid := partitionFor(group, int32(len(t.Partitions)))
	p := gc.b.replicas.get(klog.TopicPartition{Topic: offsetsTopic, Partition: pid})
	if p == nil || !p.isLeader() {
		return nil, protocol.Errorf(protocol.NotCoordinator, "broker %d does not coordinate group %q", gc.b.cfg.NodeID, group)
	}
	return p, gc.ensureLoaded(p)
}

// ensureLoaded replays the partition into memory unless this leader epoch
// has done so already. Groups of the partition loaded in an older epoch
// are dropped first: another coordinator may have changed them since.
func (gc *groupCoordinator) ensureLoaded(p *partition) error {
	_, epoch := p.state()
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if e, ok := gc.loaded[p.tp.Partition]; ok && e == epoch {
		return nil
	}
	for group := range gc.offsets {
		if partitionFor(group, gc.partitionCount()) == p.tp.Partition {
			delete(gc.offsets, group)
		}
	}
	for id, g := range gc.groups {
		if partitionFor(id, gc.partitionCount()) == p.tp.Partition && g.timer != nil {
			g.timer.Stop()
		}
		if partitionFor(id, gc.partitionCount()) == p.tp.Partition {
			delete(gc.groups, id) // members rejoin the new coordinator
		}
	}
	end := p.log.LogEndOffset()
	for offset := p.log.LogStartOffset(); offset < end; {
		res, err := p.log.Read(offset, 1<<20, end, true)
		if err != nil {
			return err
		}
		if len(res.Records) == 0 {
			break
		}
		for rest := res.Records; len(rest) > 0; {
			h, batch, next, err := protocol.NextBatch(rest)
			if err != nil {
				return err
			}
			if err := gc.replay(batch); err != nil {
				return err
			}
			offset, rest = h.LastOffset()+1, next
		}
	}
	gc.loaded[p.tp.Partition] = epoch
	return nil
}

func (gc *groupCoordinator) partitionCount() int32 {
	if t := gc.b.coord.Metadata().Topic(offsetsTopic); t != nil {
		return int32(len(t.Partitions))
	}
	return gc.b.cfg.OffsetsTopicPartitions
}

// replay applies one batch of __consumer_offsets records. Keys of version
// 0 and 1 are offset commits (a nil value deletes); group metadata
// (version 2) waits for the group protocol.
func (gc *groupCoordinator) replay(batch []byte) error {
	records, err := protocol.Records(batch)
	if err != nil {
		return err
	}
	for _, r := range records {
		if len(r.Key) < 2 || binary.BigEndian.Uint16(r.Key) > 1 {
			continue
		}
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(r.Key); err != nil {
			return protocol.Errorf(protocol.CorruptMessage, "%s: offset commit key: %v", offsetsTopic, err)
		}
		tp := klog.TopicPartition{Topic: k.Topic, Partition: k.Partition}
		if r.Value == nil {
			delete(gc.offsets[k.Group], tp)
			continue
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(r.Value); err != nil {
			return protocol.Errorf(protocol.CorruptMessage, "%s: offset commit value: %v", offsetsTopic, err)
		}
		gc.store(k.Group, tp, committedOffset{Offset: v.Offset, LeaderEpoch: v.LeaderEpoch, Metadata: v.Metadata})
	}
	return nil
}

func (gc *groupCoordinator) store(group string, tp klog.TopicPartition, c committedOffset) {
	if gc.offsets[group] == nil {
		gc.offsets[group] = map[klog.TopicPartition]committedOffset{}
	}
	gc.offsets[group][tp] = c
}

// commitRecords encodes one commit per partition in Kafka's formats.
func commitRecords(group string, req *kmsg.OffsetCommitRequest, now int64) []protocol.KV {
	var kvs []protocol.KV
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			k := kmsg.OffsetCommitKey{Version: 1, Group: group, Topic: rt.Topic, Partition: rp.Partition}
			v := kmsg.OffsetCommitValue{Version: 3, Offset: rp.Offset, LeaderEpoch: rp.LeaderEpoch, CommitTimestamp: now}
			if rp.Metadata != nil {
				v.Metadata = *rp.Metadata
			}
			kvs = append(kvs, protocol.KV{Key: k.AppendTo(nil), Value: v.AppendTo(nil)})
		}
	}
	return kvs
}

// commitError maps an append failure to what Kafka's group coordinator
// answers for it.
func commitError(err error) protocol.ErrorCode {
	switch code := protocol.Code(err); code {
	case protocol.None:
		return code
	case protocol.NotLeaderOrFollower, protocol.FencedLeaderEpoch:
		return protocol.NotCoordinator
	case protocol.MessageTooLarge:
		return protocol.InvalidCommitOffsetSize
	case protocol.UnknownTopicOrPartition, protocol.NotEnoughReplicas, protocol.NotEnoughReplicasAfterAppend, protocol.RequestTimedOut:
		return protocol.CoordinatorNotAvailable
	default:
		return code
	}
}

func handleOffsetCommit(b *Broker, c *conn, req *kmsg.OffsetCommitRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	answer := func(code protocol.ErrorCode) {
		out.Topics = out.Topics[:0]
		for _, rt := range req.Topics {
			ot := kmsg.NewOffsetCommitResponseTopic()
			ot.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				op := kmsg.NewOffsetCommitResponseTopicPartition()
				op.Partition, op.ErrorCode = rp.Partition, int16(code)
				ot.Partitions = append(ot.Partitions, op)
			}
			out.Topics = append(out.Topics, ot)
		}
		resp.complete(out)
	}
	p, err := b.groups.serving(req.Group)
	if err != nil {
		answer(protocol.Code(err))
		return
	}
	if code := b.groups.checkCommit(req); code != protocol.None {
		answer(code)
		return
	}
	now := time.Now().UnixMilli()
	res, err := p.appendAsLeader(protocol.BuildBatch(now, commitRecords(req.Group, req, now)), -1)
	if err != nil {
		answer(commitError(err))
		return
	}
	var outcome kmsg.ProduceResponseTopicPartition
	wait := ackWait{p: p, offset: res.LastOffset + 1, out: &outcome}
	b.awaitAcks([]ackWait{wait}, 5*time.Second, func() {
		code := commitError(&protocol.Error{Code: protocol.ErrorCode(outcome.ErrorCode)})
		if code == protocol.None {
			b.groups.mu.Lock()
			for _, rt := range req.Topics {
				for _, rp := range rt.Partitions {
					co := committedOffset{Offset: rp.Offset, LeaderEpoch: rp.LeaderEpoch}
					if rp.Metadata != nil {
						co.Metadata = *rp.Metadata
					}
					b.groups.store(req.Group, klog.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}, co)
				}
			}
			b.groups.mu.Unlock()
		}
		answer(code)
	})
}

func handleOffsetFetch(b *Broker, c *conn, req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version < 8 {
		var topics []kmsg.OffsetFetchRequestGroupTopic
		for _, t := range req.Topics {
			topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
		g := b.groups.fetch(req.Group, topics, req.Topics == nil)
		resp.ErrorCode = g.ErrorCode
		for _, t := range g.Topics {
			ot := kmsg.NewOffsetFetchResponseTopic()
			ot.Topic = t.Topic
			for _, p := range t.Partitions {
				op := kmsg.NewOffsetFetchResponseTopicPartition()
				op.Partition, op.Offset, op.LeaderEpoch, op.Metadata, op.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
				ot.Partitions = append(ot.Partitions, op)
			}
			resp.Topics = append(resp.Topics, ot)
		}
		return resp
	}
	for _, rg := range req.Groups {
		resp.Groups = append(resp.Groups, b.groups.fetch(rg.Group, rg.Topics, rg.Topics == nil))
	}
	return resp
}

// fetch answers one group's OffsetFetch: the requested partitions, or
// every committed one when all is set; -1 where nothing is committed.
func (gc *groupCoordinator) fetch(group string, topics []kmsg.OffsetFetchRequestGroupTopic, all bool) kmsg.OffsetFetchResponseGroup {
	out := kmsg.NewOffsetFetchResponseGroup()
	out.Group = group
	if _, err := gc.serving(group); err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		return out
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if all {
		byTopic := map[string][]int32{}
		for tp := range gc.offsets[group] {
			byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
		}
		for t, ps := range byTopic {
			topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t, Partitions: ps})
		}
	}
	for _, rt := range topics {
		ot := kmsg.NewOffsetFetchResponseGroupTopic()
		ot.Topic = rt.Topic
		for _, pid := range rt.Partitions {
			op := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			op.Partition, op.Offset, op.LeaderEpoch = pid, -1, -1
			if co, ok := gc.offsets[group][klog.TopicPartition{Topic: rt.Topic, Partition: pid}]; ok {
				md := co.Metadata
				op.Offset, op.LeaderEpoch, op.Metadata = co.Offset, co.LeaderEpoch, &md
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		out.Topics = append(out.Topics, ot)
	}
	return out
}

// checkCommit applies Kafka's rules to a commit: a group with members takes
// commits only from a member of the current generation, outside a
// rebalance; an empty group takes simple commits (generation -1).
func (gc *groupCoordinator) checkCommit(req *kmsg.OffsetCommitRequest) protocol.ErrorCode {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	g := gc.groups[req.Group]
	if g == nil || len(g.members) == 0 {
		if req.Generation >= 0 || req.MemberID != "" {
			return protocol.IllegalGeneration
		}
		return protocol.None
	}
	m, code := g.checkMember(req.MemberID, req.Generation)
	switch {
	case code != protocol.None:
		return code
	case g.state == groupPreparingRebalance:
		return protocol.RebalanceInProgress
	}
	m.lastSeen = time.Now()
	return protocol.None
}
