package group

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// Offset is one committed offset of a group, as OffsetCommitValue stores it.
type Offset struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	CommitTime  int64 // ms since the epoch
	ExpireTime  int64 // ms; 0 when the group's retention applies
	// RecordOffset is where the commit's record sits in __consumer_offsets:
	// of a transactional and a plain commit of one partition, the later
	// record wins when the transaction commits, as in Kafka.
	RecordOffset int64
}

// PartitionOffsets is a group's offsets by partition.
type PartitionOffsets = map[klog.TopicPartition]Offset

// Offsets holds the offsets of groups: committed ones, which OffsetFetch
// shows, and the pending ones of transactions that have not ended.
type Offsets struct {
	// Committed is by group; read it freely, change it through the methods.
	Committed map[string]PartitionOffsets
	pending   map[string]map[int64]PartitionOffsets // by group, then producer id
}

// NewOffsets returns an empty store.
func NewOffsets() Offsets {
	return Offsets{Committed: map[string]PartitionOffsets{}, pending: map[string]map[int64]PartitionOffsets{}}
}

// Store makes o the group's committed offset of tp unless a later record
// has committed one already.
func (s *Offsets) Store(group string, tp klog.TopicPartition, o Offset) {
	if s.Committed[group] == nil {
		s.Committed[group] = PartitionOffsets{}
	}
	if old, ok := s.Committed[group][tp]; !ok || o.RecordOffset >= old.RecordOffset {
		s.Committed[group][tp] = o
	}
}

// StorePending keeps o for the group's partition tp until producerID's
// transaction ends.
func (s *Offsets) StorePending(group string, producerID int64, tp klog.TopicPartition, o Offset) {
	if s.pending[group] == nil {
		s.pending[group] = map[int64]PartitionOffsets{}
	}
	if s.pending[group][producerID] == nil {
		s.pending[group][producerID] = PartitionOffsets{}
	}
	s.pending[group][producerID][tp] = o
}

// Delete forgets the group's offset of tp, committed or pending, as a
// tombstone in __consumer_offsets does.
func (s *Offsets) Delete(group string, tp klog.TopicPartition) {
	delete(s.Committed[group], tp)
	for _, offs := range s.pending[group] {
		delete(offs, tp)
	}
}

// DeleteGroup forgets every offset of the group.
func (s *Offsets) DeleteGroup(group string) {
	delete(s.Committed, group)
	delete(s.pending, group)
}

// DeleteGroups forgets every offset of the groups that match.
func (s *Offsets) DeleteGroups(match func(group string) bool) {
	maps.DeleteFunc(s.Committed, func(g string, _ PartitionOffsets) bool { return match(g) })
	maps.DeleteFunc(s.pending, func(g string, _ map[int64]PartitionOffsets) bool { return match(g) })
}

// Merge takes every group of from, replacing what s has of them.
func (s *Offsets) Merge(from *Offsets) {
	maps.Copy(s.Committed, from.Committed)
	maps.Copy(s.pending, from.pending)
}

// EndTxn settles producerID's pending offsets of the groups that accepts
// takes: on commit each becomes the committed offset unless a later plain
// commit of its partition is stored already; on abort they are dropped.
func (s *Offsets) EndTxn(producerID int64, commit bool, accepts func(group string) bool) {
	for group, byProducer := range s.pending {
		offs, ok := byProducer[producerID]
		if !ok || !accepts(group) {
			continue
		}
		delete(byProducer, producerID)
		if len(byProducer) == 0 {
			delete(s.pending, group)
		}
		if commit {
			for tp, o := range offs {
				s.Store(group, tp, o)
			}
		}
	}
}

// HasPending reports whether a transaction that has not ended holds an
// offset of tp for group.
func (s *Offsets) HasPending(group string, tp klog.TopicPartition) bool {
	for _, offs := range s.pending[group] {
		if _, ok := offs[tp]; ok {
			return true
		}
	}
	return false
}

// HasOffsets reports whether the group has offsets, committed or in a
// transaction that has not ended: such a group exists, as an Empty one
// when it has no members.
func (s *Offsets) HasOffsets(group string) bool {
	return len(s.Committed[group]) > 0 || len(s.pending[group]) > 0
}

// Groups lists the groups that have offsets.
func (s *Offsets) Groups() []string {
	var out []string
	for g := range s.Committed {
		if s.HasOffsets(g) {
			out = append(out, g)
		}
	}
	for g := range s.pending {
		if len(s.Committed[g]) == 0 {
			out = append(out, g)
		}
	}
	return out
}

// Partitions lists the partitions the group has offsets of, committed or
// pending.
func (s *Offsets) Partitions(group string) []klog.TopicPartition {
	tps := slices.Collect(maps.Keys(s.Committed[group]))
	for _, offs := range s.pending[group] {
		for tp := range offs {
			if _, ok := s.Committed[group][tp]; !ok && !slices.Contains(tps, tp) {
				tps = append(tps, tp)
			}
		}
	}
	return tps
}

// Record encodes one commit in Kafka's format: OffsetCommitValue version 1
// when it carries its own expiry, 3 otherwise; a nil o is a tombstone.
func Record(group string, tp klog.TopicPartition, o *Offset) protocol.KV {
	k := kmsg.OffsetCommitKey{Version: 1, Group: group, Topic: tp.Topic, Partition: tp.Partition}
	if o == nil {
		return protocol.KV{Key: k.AppendTo(nil)}
	}
	v := kmsg.OffsetCommitValue{Version: 3, Offset: o.Offset, LeaderEpoch: o.LeaderEpoch,
		Metadata: o.Metadata, CommitTimestamp: o.CommitTime}
	if o.ExpireTime > 0 {
		v.Version, v.ExpireTimestamp = 1, o.ExpireTime
	}
	return protocol.KV{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}
}

// Replay applies one OffsetCommitKey/Value record read from
// __consumer_offsets at recordOffset: a nil value deletes; producerID is
// that of a transactional batch, else -1.
func (s *Offsets) Replay(key, value []byte, recordOffset, producerID int64) error {
	var k kmsg.OffsetCommitKey
	if err := k.ReadFrom(key); err != nil {
		return err
	}
	tp := klog.TopicPartition{Topic: k.Topic, Partition: k.Partition}
	if value == nil {
		s.Delete(k.Group, tp)
		return nil
	}
	var v kmsg.OffsetCommitValue
	if err := v.ReadFrom(value); err != nil {
		return err
	}
	o := Offset{Offset: v.Offset, LeaderEpoch: v.LeaderEpoch, Metadata: v.Metadata, CommitTime: v.CommitTimestamp,
		RecordOffset: recordOffset}
	if v.Version == 1 && v.ExpireTimestamp > 0 {
		o.ExpireTime = v.ExpireTimestamp
	}
	if v.Version < 3 {
		o.LeaderEpoch = -1
	}
	if producerID >= 0 {
		s.StorePending(k.Group, producerID, tp, o)
	} else {
		s.Store(k.Group, tp, o)
	}
	return nil
}
