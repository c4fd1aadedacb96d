package group

import (
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// The group admin APIs: DescribeGroups, ListGroups, DeleteGroups and
// OffsetDelete, and the expiry of committed offsets. The broker has
// authorized each group before it asks.

// DescribeGroup answers one group of a DescribeGroups: its state and
// members, "Dead" for a group that does not exist.
func (gc *Coordinator) DescribeGroup(id string) kmsg.DescribeGroupsResponseGroup {
	out := kmsg.NewDescribeGroupsResponseGroup()
	out.Group = id
	if _, err := gc.serving(id); err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		return out
	}
	g := gc.lockExisting(id)
	if g != nil {
		defer g.mu.Unlock()
	}
	out.State = "Dead"
	if gc.hasOffsets(id) {
		out.State = string(groupEmpty) // known by its committed offsets alone
	}
	if g != nil {
		describeGroup(g, &out)
	}
	return out
}

// describeGroup fills in a group's state and members as Kafka's
// GroupMetadataManager does: the protocol and the members' metadata only
// once the group is Stable, since until then they are being renegotiated;
// the last assignments always.
func describeGroup(g *group, out *kmsg.DescribeGroupsResponseGroup) {
	stable := g.state == groupStable
	out.State, out.ProtocolType = string(g.state), g.protocolType
	if stable {
		out.Protocol = g.protocol
	}
	for _, m := range g.members {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.ClientID, dm.ClientHost, dm.MemberAssignment = m.id, m.clientID, m.host, m.assignment
		if stable {
			dm.ProtocolMetadata = m.metadata(g.protocol)
		}
		if m.instanceID != "" {
			dm.InstanceID = kmsg.StringPtr(m.instanceID)
		}
		out.Members = append(out.Members, dm)
	}
}

// ListGroups lists the groups this broker coordinates that may (the
// principal's Describe) lets through: the ones with members and the ones
// with offsets only (Empty), filtered by state when states is not empty.
func (gc *Coordinator) ListGroups(states []string, may func(group string) bool) []kmsg.ListGroupsResponseGroup {
	var out []kmsg.ListGroupsResponseGroup
	seen := map[string]bool{}
	add := func(id, state, protocolType string) {
		if seen[id] || len(states) > 0 && !slices.Contains(states, state) || !may(id) {
			return
		}
		seen[id] = true
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.GroupState, lg.ProtocolType, lg.GroupType = id, state, protocolType, "classic"
		out = append(out, lg)
	}
	for _, g := range gc.snapshotGroups() {
		g.mu.Lock()
		if !g.gone && (len(g.members) > 0 || gc.hasOffsets(g.id) || g.generation > 0) {
			add(g.id, string(g.state), g.protocolType)
		}
		g.mu.Unlock()
	}
	gc.offMu.Lock()
	ids := gc.Groups()
	gc.offMu.Unlock()
	for _, id := range ids {
		add(id, string(groupEmpty), "") // a simple consumer's: no protocol, as in Kafka
	}
	return out
}

// DeleteGroup deletes a group without members, as Kafka does: the group
// is gone at once, and tombstones for it and its committed offsets, and
// for the offsets of transactions that have not ended, are written with
// acks=all; done learns the outcome, from this call or later.
func (gc *Coordinator) DeleteGroup(id string, done func(protocol.ErrorCode)) {
	p, err := gc.serving(id)
	if err != nil {
		done(protocol.Code(err))
		return
	}
	g := gc.lockExisting(id)
	if g != nil {
		defer g.mu.Unlock()
	}
	if err := gc.deletable(id, g); err != nil {
		done(protocol.Code(err))
		return
	}
	kvs := []protocol.KV{{Key: (&kmsg.GroupMetadataKey{Version: 2, Group: id}).AppendTo(nil)}}
	gc.offMu.Lock()
	for _, tp := range gc.Partitions(id) {
		kvs = append(kvs, Record(id, tp, nil))
	}
	gc.Offsets.DeleteGroup(id)
	gc.offMu.Unlock()
	gc.forget(g)
	gc.write(p, kvs, done)
}

// deletable checks that group id (g, locked, or nil if it has none)
// exists and has no members.
func (gc *Coordinator) deletable(id string, g *group) error {
	if g != nil && len(g.members) > 0 {
		return protocol.Errorf(protocol.NonEmptyGroup, "group %q has members", id)
	}
	if !gc.hasOffsets(id) && (g == nil || g.generation == 0) {
		return protocol.Errorf(protocol.GroupIDNotFound, "group %q does not exist", id)
	}
	return nil
}

// forget takes a deleted group, locked (or nil), out of the map and
// retires it.
func (gc *Coordinator) forget(g *group) {
	if g == nil {
		return
	}
	gc.mu.Lock()
	if gc.groups[g.id] == g {
		delete(gc.groups, g.id)
	}
	gc.mu.Unlock()
	g.retireLocked()
}

// hasOffsets is HasOffsets under the offsets' lock.
func (gc *Coordinator) hasOffsets(id string) bool {
	gc.offMu.Lock()
	defer gc.offMu.Unlock()
	return gc.HasOffsets(id)
}

// DeleteOffsets removes committed offsets of a group for partitions of
// topics it does not consume (GROUP_SUBSCRIBED_TO_TOPIC otherwise), by
// writing tombstones with acks=all; a tombstone also drops the partition's
// offsets in transactions that have not ended, as in Kafka. refused gives
// a topic's authorization error, None when allowed.
func (gc *Coordinator) DeleteOffsets(req *kmsg.OffsetDeleteRequest, refused func(topic string) protocol.ErrorCode, respond func(*kmsg.OffsetDeleteResponse)) {
	out := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	p, err := gc.serving(req.Group)
	if err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		respond(out)
		return
	}
	g := gc.lockExisting(req.Group)
	if g != nil {
		defer g.mu.Unlock()
	}
	gc.offMu.Lock()
	defer gc.offMu.Unlock() // the write below is only queued
	if !gc.HasOffsets(req.Group) && (g == nil || len(g.members) == 0) {
		out.ErrorCode = int16(protocol.GroupIDNotFound)
		respond(out)
		return
	}
	subscribed := g.subscriptions()
	var kvs []protocol.KV
	for _, rt := range req.Topics {
		ot := kmsg.NewOffsetDeleteResponseTopic()
		ot.Topic = rt.Topic
		refusal := refused(rt.Topic)
		for _, rp := range rt.Partitions {
			op := kmsg.NewOffsetDeleteResponseTopicPartition()
			op.Partition = rp.Partition
			switch {
			case refusal != protocol.None:
				op.ErrorCode = int16(refusal)
			case subscribed[rt.Topic]:
				op.ErrorCode = int16(protocol.GroupSubscribedToTopic)
			default:
				tp := klog.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}
				if _, ok := gc.Committed[req.Group][tp]; ok || gc.HasPending(req.Group, tp) {
					gc.Delete(req.Group, tp)
					kvs = append(kvs, Record(req.Group, tp, nil))
				}
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		out.Topics = append(out.Topics, ot)
	}
	if len(kvs) == 0 {
		respond(out)
		return
	}
	gc.write(p, kvs, func(code protocol.ErrorCode) {
		out.ErrorCode = int16(code)
		respond(out)
	})
}

// subscriptions returns the topics a consumer group's members consume,
// decoded from their consumer-protocol metadata; g may be nil.
func (g *group) subscriptions() map[string]bool {
	topics := map[string]bool{}
	if g == nil || g.protocolType != "consumer" {
		return topics
	}
	for _, m := range g.members {
		var meta kmsg.ConsumerMemberMetadata
		if meta.ReadFrom(m.metadata(g.protocol)) == nil {
			for _, t := range meta.Topics {
				topics[t] = true
			}
		}
	}
	return topics
}

// expireOffsets drops committed offsets past retention, by Kafka's rules:
// an offset with its own expiry time (OffsetCommit v1-v4) at that time; an
// empty group's offsets offsets.retention.minutes after it became empty;
// offsets committed outside any group protocol, or for topics a stable
// consumer group no longer subscribes to, that long after the commit. An
// offset that a transaction which has not ended is replacing stays, and so
// does a group with such offsets; a group left with neither members nor
// offsets is deleted.
func (gc *Coordinator) expireOffsets(now time.Time) {
	gc.mu.Lock()
	gc.offMu.Lock()
	for id := range gc.Committed {
		gc.group(id) // a group known only by its offsets is Empty
	}
	gc.offMu.Unlock()
	gc.mu.Unlock()
	for _, g := range gc.snapshotGroups() {
		g.mu.Lock()
		if !g.gone {
			gc.expireGroupOffsets(g, now.UnixMilli())
		}
		g.mu.Unlock()
	}
}

// expireGroupOffsets is expireOffsets for one group, locked.
func (gc *Coordinator) expireGroupOffsets(g *group, nowMs int64) {
	p, ok := gc.localPartition(g.id)
	if !ok || len(g.members) > 0 && g.state != groupStable || len(g.pending) > 0 {
		return
	}
	retention := gc.cfg.OffsetsRetention.Milliseconds()
	subscribed := g.subscriptions()
	var kvs []protocol.KV
	gc.offMu.Lock()
	for tp, co := range gc.Committed[g.id] {
		var expired bool
		switch {
		case co.ExpireTime > 0:
			expired = nowMs >= co.ExpireTime
		case g.protocolType == "" || len(g.members) > 0 && g.protocolType == "consumer" && !subscribed[tp.Topic]:
			expired = nowMs-co.CommitTime >= retention
		case len(g.members) == 0:
			expired = nowMs-g.stateTime >= retention
		}
		if expired && !gc.HasPending(g.id, tp) {
			gc.counters.offsetExpirations.Add(1)
			delete(gc.Committed[g.id], tp)
			kvs = append(kvs, Record(g.id, tp, nil))
		}
	}
	emptied := len(g.members) == 0 && !gc.HasOffsets(g.id)
	if emptied {
		delete(gc.Committed, g.id)
	}
	gc.offMu.Unlock()
	if emptied {
		gc.forget(g)
		if g.generation > 0 || len(kvs) > 0 { // else nothing was ever stored
			kvs = append(kvs, protocol.KV{Key: (&kmsg.GroupMetadataKey{Version: 2, Group: g.id}).AppendTo(nil)})
		}
	}
	if len(kvs) > 0 {
		gc.log.Info("expired committed offsets", "group", g.id, "records", len(kvs))
		gc.write(p, kvs, func(code protocol.ErrorCode) {
			if code != protocol.None {
				gc.log.Warn("cannot store expired offsets", "group", g.id, "error", code)
			}
		})
	}
}
