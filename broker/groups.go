package broker

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// The classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup), run by the coordinator of each group in memory, as Kafka's
// GroupCoordinator does: a rebalance parks every JoinGroup until all known
// members have rejoined (or the rebalance timeout passes), then answers
// them at once with a new generation, the leader getting every member's
// metadata; SyncGroup parks followers until the leader hands out the
// assignments. All of it runs under the coordinator's one mutex.

type groupState string

const (
	groupEmpty               groupState = "Empty"
	groupPreparingRebalance  groupState = "PreparingRebalance"
	groupCompletingRebalance groupState = "CompletingRebalance"
	groupStable              groupState = "Stable"
)

type member struct {
	id, clientID, host string
	protocols          []kmsg.JoinGroupRequestProtocol
	session, rebalance time.Duration
	assignment         []byte
	lastSeen           time.Time
	join               func(*kmsg.JoinGroupResponse) // parked JoinGroup, nil if none
	sync               func(*kmsg.SyncGroupResponse) // parked SyncGroup, nil if none
}

type group struct {
	id           string
	state        groupState
	generation   int32
	protocolType string
	protocol     string
	leader       string
	members      map[string]*member
	pending      map[string]bool // ids handed out by MEMBER_ID_REQUIRED
	timer        *time.Timer     // ends the join phase of a rebalance
}

func (gc *groupCoordinator) group(id string) *group {
	g := gc.groups[id]
	if g == nil {
		g = &group{id: id, state: groupEmpty, members: map[string]*member{}, pending: map[string]bool{}}
		gc.groups[id] = g
	}
	return g
}

func newMemberID(clientID string) string {
	var b [16]byte
	rand.Read(b[:])
	return clientID + "-" + hex.EncodeToString(b[:])
}

func handleJoinGroup(b *Broker, c *conn, req *kmsg.JoinGroupRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.JoinGroupResponse)
	fail := func(code protocol.ErrorCode) {
		out.ErrorCode, out.Generation = int16(code), -1
		resp.complete(out)
	}
	if _, err := b.groups.serving(req.Group); err != nil {
		fail(protocol.Code(err))
		return
	}
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	if session < b.cfg.GroupMinSessionTimeout || session > b.cfg.GroupMaxSessionTimeout {
		fail(protocol.InvalidSessionTimeout)
		return
	}
	gc := b.groups
	gc.mu.Lock()
	defer gc.mu.Unlock()
	g := gc.group(req.Group)
	switch {
	case req.ProtocolType == "" || len(req.Protocols) == 0:
		fail(protocol.InconsistentGroupProtocol)
		return
	case len(g.members) > 0 && req.ProtocolType != g.protocolType || !g.supportsAny(req.Protocols):
		fail(protocol.InconsistentGroupProtocol)
		return
	case req.MemberID == "" && req.Version >= 4:
		// KIP-394: hand out an id and let the client come back with it.
		out.MemberID = newMemberID(resp.hdr.ClientID)
		g.pending[out.MemberID] = true
		fail(protocol.MemberIDRequired)
		return
	case req.MemberID != "" && g.members[req.MemberID] == nil && !g.pending[req.MemberID]:
		fail(protocol.UnknownMemberID)
		return
	}
	id := req.MemberID
	if id == "" {
		id = newMemberID(resp.hdr.ClientID)
	}
	if g.members[id] == nil && len(g.members) >= b.cfg.GroupMaxSize {
		delete(g.pending, id)
		fail(protocol.GroupMaxSizeReached)
		return
	}
	delete(g.pending, id)
	m := g.members[id]
	if m == nil {
		m = &member{id: id}
		g.members[id] = m
	}
	host := ""
	if addr := c.nc.RemoteAddr(); addr != nil {
		host = "/" + addr.String()
	}
	changed := !slices.EqualFunc(m.protocols, req.Protocols, func(a, b kmsg.JoinGroupRequestProtocol) bool {
		return a.Name == b.Name && string(a.Metadata) == string(b.Metadata)
	})
	m.clientID, m.host, m.protocols = resp.hdr.ClientID, host, req.Protocols
	m.session, m.rebalance = session, time.Duration(req.RebalanceTimeoutMillis)*time.Millisecond
	if req.Version == 0 {
		m.rebalance = session
	}
	m.lastSeen = time.Now()
	g.protocolType = req.ProtocolType
	m.join = func(r *kmsg.JoinGroupResponse) {
		r.Version = req.Version
		resp.complete(r)
	}
	if g.state == groupStable && g.leader != id && !changed {
		// A follower rejoining with nothing new: answer with the current
		// generation without disturbing the others, as Kafka does.
		gc.answerJoin(g, m)
		return
	}
	gc.prepareRebalance(g)
	gc.maybeCompleteJoin(g)
}

func (g *group) supportsAny(ps []kmsg.JoinGroupRequestProtocol) bool {
	for _, m := range g.members {
		ok := false
		for _, p := range ps {
			if slices.ContainsFunc(m.protocols, func(q kmsg.JoinGroupRequestProtocol) bool { return q.Name == p.Name }) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// prepareRebalance starts the join phase: every member must rejoin within
// the rebalance timeout; an empty group first waits
// group.initial.rebalance.delay.ms for more members.
func (gc *groupCoordinator) prepareRebalance(g *group) {
	if g.state == groupPreparingRebalance {
		return
	}
	wait := gc.b.cfg.GroupInitialRebalanceDelay
	if g.state != groupEmpty {
		wait = 0
		for _, m := range g.members {
			wait = max(wait, m.rebalance)
		}
	}
	for _, m := range g.members {
		if m.sync != nil { // a pending SyncGroup learns of the rebalance
			m.sync(&kmsg.SyncGroupResponse{ErrorCode: int16(protocol.RebalanceInProgress)})
			m.sync = nil
		}
	}
	g.state = groupPreparingRebalance
	g.timer = time.AfterFunc(wait, func() {
		gc.mu.Lock()
		defer gc.mu.Unlock()
		if g.state == groupPreparingRebalance {
			gc.completeJoin(g)
		}
	})
}

// maybeCompleteJoin ends the join phase early once every member has
// rejoined, except while an empty group's initial delay runs.
func (gc *groupCoordinator) maybeCompleteJoin(g *group) {
	if g.state != groupPreparingRebalance || g.generation == 0 && gc.b.cfg.GroupInitialRebalanceDelay > 0 {
		return
	}
	for _, m := range g.members {
		if m.join == nil {
			return
		}
	}
	g.timer.Stop()
	gc.completeJoin(g)
}

// completeJoin drops members that did not rejoin, starts a new generation
// and answers every parked JoinGroup.
func (gc *groupCoordinator) completeJoin(g *group) {
	for id, m := range g.members {
		if m.join == nil {
			delete(g.members, id)
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.state, g.protocol, g.leader = groupEmpty, "", ""
		return
	}
	if g.members[g.leader] == nil {
		for id := range g.members {
			g.leader = id
			break
		}
	}
	g.protocol = g.chooseProtocol()
	g.state = groupCompletingRebalance
	for _, m := range g.members {
		m.assignment = nil
		gc.answerJoin(g, m)
	}
}

// chooseProtocol picks the leader's first protocol that every member
// supports (Kafka votes; with one client library the result is the same).
func (g *group) chooseProtocol() string {
	for _, p := range g.members[g.leader].protocols {
		all := true
		for _, m := range g.members {
			all = all && slices.ContainsFunc(m.protocols, func(q kmsg.JoinGroupRequestProtocol) bool { return q.Name == p.Name })
		}
		if all {
			return p.Name
		}
	}
	return g.members[g.leader].protocols[0].Name
}

func (gc *groupCoordinator) answerJoin(g *group, m *member) {
	r := kmsg.NewPtrJoinGroupResponse()
	r.Generation, r.LeaderID, r.MemberID = g.generation, g.leader, m.id
	r.Protocol, r.ProtocolType = kmsg.StringPtr(g.protocol), kmsg.StringPtr(g.protocolType)
	if m.id == g.leader {
		for _, o := range g.members {
			meta := o.protocols[0].Metadata
			for _, p := range o.protocols {
				if p.Name == g.protocol {
					meta = p.Metadata
				}
			}
			r.Members = append(r.Members, kmsg.JoinGroupResponseMember{MemberID: o.id, ProtocolMetadata: meta})
		}
	}
	m.lastSeen = time.Now()
	m.join(r)
	m.join = nil
}

// checkMember validates a member and generation against the group.
func (g *group) checkMember(id string, generation int32) (*member, protocol.ErrorCode) {
	m := g.members[id]
	switch {
	case m == nil:
		return nil, protocol.UnknownMemberID
	case generation != g.generation:
		return m, protocol.IllegalGeneration
	}
	return m, protocol.None
}

func handleSyncGroup(b *Broker, c *conn, req *kmsg.SyncGroupRequest, resp *response) {
	answer := func(r *kmsg.SyncGroupResponse) {
		r.Version = req.Version
		resp.complete(r)
	}
	if _, err := b.groups.serving(req.Group); err != nil {
		answer(&kmsg.SyncGroupResponse{ErrorCode: int16(protocol.Code(err))})
		return
	}
	gc := b.groups
	gc.mu.Lock()
	defer gc.mu.Unlock()
	g := gc.group(req.Group)
	m, code := g.checkMember(req.MemberID, req.Generation)
	switch {
	case code != protocol.None:
		answer(&kmsg.SyncGroupResponse{ErrorCode: int16(code)})
		return
	case g.state == groupPreparingRebalance:
		answer(&kmsg.SyncGroupResponse{ErrorCode: int16(protocol.RebalanceInProgress)})
		return
	case g.state == groupStable:
		answer(&kmsg.SyncGroupResponse{MemberAssignment: m.assignment, Protocol: kmsg.StringPtr(g.protocol), ProtocolType: kmsg.StringPtr(g.protocolType)})
		return
	}
	m.lastSeen = time.Now()
	m.sync = answer
	if req.MemberID != g.leader {
		return // parked until the leader syncs
	}
	for _, a := range req.GroupAssignment {
		if o := g.members[a.MemberID]; o != nil {
			o.assignment = a.MemberAssignment
		}
	}
	g.state = groupStable
	for _, o := range g.members {
		if o.sync != nil {
			o.sync(&kmsg.SyncGroupResponse{MemberAssignment: o.assignment, Protocol: kmsg.StringPtr(g.protocol), ProtocolType: kmsg.StringPtr(g.protocolType)})
			o.sync = nil
		}
	}
}

func handleHeartbeat(b *Broker, c *conn, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if _, err := b.groups.serving(req.Group); err != nil {
		resp.ErrorCode = int16(protocol.Code(err))
		return resp
	}
	gc := b.groups
	gc.mu.Lock()
	defer gc.mu.Unlock()
	g := gc.group(req.Group)
	m, code := g.checkMember(req.MemberID, req.Generation)
	if code == protocol.None && g.state == groupPreparingRebalance {
		code = protocol.RebalanceInProgress
	}
	if m != nil {
		m.lastSeen = time.Now()
	}
	resp.ErrorCode = int16(code)
	return resp
}

func handleLeaveGroup(b *Broker, c *conn, req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if _, err := b.groups.serving(req.Group); err != nil {
		resp.ErrorCode = int16(protocol.Code(err))
		return resp
	}
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	gc := b.groups
	gc.mu.Lock()
	defer gc.mu.Unlock()
	g := gc.group(req.Group)
	for _, l := range leaving {
		out := kmsg.LeaveGroupResponseMember{MemberID: l.MemberID, InstanceID: l.InstanceID}
		if g.members[l.MemberID] == nil {
			out.ErrorCode = int16(protocol.UnknownMemberID)
		} else {
			gc.removeMember(g, l.MemberID)
		}
		resp.Members = append(resp.Members, out)
	}
	if req.Version < 3 {
		resp.ErrorCode, resp.Members = resp.Members[0].ErrorCode, nil
	}
	return resp
}

// removeMember takes a member out (it left or its session expired) and
// rebalances the rest.
func (gc *groupCoordinator) removeMember(g *group, id string) {
	m := g.members[id]
	if m.join != nil {
		m.join(&kmsg.JoinGroupResponse{ErrorCode: int16(protocol.UnknownMemberID), Generation: -1})
	}
	if m.sync != nil {
		m.sync(&kmsg.SyncGroupResponse{ErrorCode: int16(protocol.UnknownMemberID)})
	}
	delete(g.members, id)
	if g.state == groupPreparingRebalance {
		gc.maybeCompleteJoin(g)
		return
	}
	if len(g.members) == 0 {
		g.state, g.generation, g.leader, g.protocol = groupEmpty, g.generation+1, "", ""
		return
	}
	gc.prepareRebalance(g)
}

// expireSessions removes members silent past their session timeout. A
// member parked in JoinGroup is waiting on us, not silent.
func (gc *groupCoordinator) expireSessions(now time.Time) {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	for _, g := range gc.groups {
		for id, m := range g.members {
			if m.join == nil && now.Sub(m.lastSeen) > m.session {
				gc.b.log.Info("group member session expired", "group", g.id, "member", id)
				gc.removeMember(g, id)
			}
		}
	}
}

// sessionLoop expires silent members twice a second.
func (gc *groupCoordinator) sessionLoop() {
	defer gc.b.wg.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-gc.b.ctx.Done():
			return
		case now := <-t.C:
			gc.expireSessions(now)
		}
	}
}

func handleDescribeGroups(b *Broker, c *conn, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		out := kmsg.NewDescribeGroupsResponseGroup()
		out.Group = id
		if _, err := b.groups.serving(id); err != nil {
			out.ErrorCode = int16(protocol.Code(err))
			resp.Groups = append(resp.Groups, out)
			continue
		}
		b.groups.mu.Lock()
		g := b.groups.groups[id]
		out.State = "Dead"
		if g != nil {
			out.State, out.ProtocolType, out.Protocol = string(g.state), g.protocolType, g.protocol
			for _, m := range g.members {
				dm := kmsg.NewDescribeGroupsResponseGroupMember()
				dm.MemberID, dm.ClientID, dm.ClientHost, dm.MemberAssignment = m.id, m.clientID, m.host, m.assignment
				for _, p := range m.protocols {
					if p.Name == g.protocol {
						dm.ProtocolMetadata = p.Metadata
					}
				}
				out.Members = append(out.Members, dm)
			}
		}
		b.groups.mu.Unlock()
		resp.Groups = append(resp.Groups, out)
	}
	return resp
}

// handleListGroups lists the groups this broker coordinates: the ones
// with members and the ones with committed offsets only (Empty).
func handleListGroups(b *Broker, c *conn, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	gc := b.groups
	gc.mu.Lock()
	defer gc.mu.Unlock()
	seen := map[string]bool{}
	add := func(id, state, protocolType string) {
		if seen[id] || len(req.StatesFilter) > 0 && !slices.Contains(req.StatesFilter, state) {
			return
		}
		seen[id] = true
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.GroupState, lg.ProtocolType, lg.GroupType = id, state, protocolType, "classic"
		resp.Groups = append(resp.Groups, lg)
	}
	for id, g := range gc.groups {
		if len(g.members) > 0 || len(gc.offsets[id]) > 0 {
			add(id, string(g.state), g.protocolType)
		}
	}
	for id := range gc.offsets {
		if len(gc.offsets[id]) > 0 {
			add(id, string(groupEmpty), "consumer")
		}
	}
	return resp
}

// handleDeleteGroups deletes groups without members: their committed
// offsets get tombstones in __consumer_offsets (written with acks=all)
// before the answer.
func handleDeleteGroups(b *Broker, c *conn, req *kmsg.DeleteGroupsRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	out.Groups = make([]kmsg.DeleteGroupsResponseGroup, len(req.Groups))
	var waits []ackWait
	var deleting []string
	outcomes := make([]kmsg.ProduceResponseTopicPartition, len(req.Groups))
	for i, id := range req.Groups {
		out.Groups[i] = kmsg.DeleteGroupsResponseGroup{Group: id}
		p, kvs, err := b.groups.prepareDelete(id)
		if err == nil {
			var res klog.AppendResult
			if res, err = p.appendAsLeader(protocol.BuildBatch(time.Now().UnixMilli(), kvs), -1); err == nil {
				waits = append(waits, ackWait{p: p, offset: res.LastOffset + 1, out: &outcomes[i]})
				deleting = append(deleting, id)
				continue
			}
			err = &protocol.Error{Code: commitError(err), Msg: err.Error()}
		}
		out.Groups[i].ErrorCode = int16(protocol.Code(err))
	}
	b.awaitAcks(waits, 5*time.Second, func() {
		b.groups.mu.Lock()
		for i, id := range req.Groups {
			if code := commitError(&protocol.Error{Code: protocol.ErrorCode(outcomes[i].ErrorCode)}); code != protocol.None {
				out.Groups[i].ErrorCode = int16(code)
			} else if slices.Contains(deleting, id) {
				delete(b.groups.offsets, id)
				delete(b.groups.groups, id)
			}
		}
		b.groups.mu.Unlock()
		resp.complete(out)
	})
}

// prepareDelete checks that group can be deleted here and returns the
// tombstones for its committed offsets.
func (gc *groupCoordinator) prepareDelete(id string) (*partition, []protocol.KV, error) {
	p, err := gc.serving(id)
	if err != nil {
		return nil, nil, err
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if g := gc.groups[id]; g != nil && len(g.members) > 0 {
		return nil, nil, protocol.Errorf(protocol.NonEmptyGroup, "group %q has members", id)
	}
	if len(gc.offsets[id]) == 0 && gc.groups[id] == nil {
		return nil, nil, protocol.Errorf(protocol.GroupIDNotFound, "group %q does not exist", id)
	}
	var kvs []protocol.KV
	for tp := range gc.offsets[id] {
		k := kmsg.OffsetCommitKey{Version: 1, Group: id, Topic: tp.Topic, Partition: tp.Partition}
		kvs = append(kvs, protocol.KV{Key: k.AppendTo(nil)})
	}
	if len(kvs) == 0 { // membership only, nothing on disk
		k := kmsg.GroupMetadataKey{Version: 2, Group: id}
		kvs = append(kvs, protocol.KV{Key: k.AppendTo(nil)})
	}
	return p, kvs, nil
}

// handleOffsetDelete removes committed offsets of a group for partitions
// of topics it does not consume (GROUP_SUBSCRIBED_TO_TOPIC otherwise), by
// writing tombstones with acks=all.
func handleOffsetDelete(b *Broker, c *conn, req *kmsg.OffsetDeleteRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	p, err := b.groups.serving(req.Group)
	if err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		resp.complete(out)
		return
	}
	subscribed, known := b.groups.subscriptions(req.Group)
	if !known {
		out.ErrorCode = int16(protocol.GroupIDNotFound)
		resp.complete(out)
		return
	}
	var kvs []protocol.KV
	var gone []klog.TopicPartition
	for _, rt := range req.Topics {
		ot := kmsg.NewOffsetDeleteResponseTopic()
		ot.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			op := kmsg.NewOffsetDeleteResponseTopicPartition()
			op.Partition = rp.Partition
			if subscribed[rt.Topic] {
				op.ErrorCode = int16(protocol.GroupSubscribedToTopic)
			} else {
				k := kmsg.OffsetCommitKey{Version: 1, Group: req.Group, Topic: rt.Topic, Partition: rp.Partition}
				kvs = append(kvs, protocol.KV{Key: k.AppendTo(nil)})
				gone = append(gone, klog.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
			}
			ot.Partitions = append(ot.Partitions, op)
		}
		out.Topics = append(out.Topics, ot)
	}
	if len(kvs) == 0 {
		resp.complete(out)
		return
	}
	res, err := p.appendAsLeader(protocol.BuildBatch(time.Now().UnixMilli(), kvs), -1)
	if err != nil {
		out.ErrorCode = int16(commitError(err))
		resp.complete(out)
		return
	}
	var outcome kmsg.ProduceResponseTopicPartition
	b.awaitAcks([]ackWait{{p: p, offset: res.LastOffset + 1, out: &outcome}}, 5*time.Second, func() {
		if code := commitError(&protocol.Error{Code: protocol.ErrorCode(outcome.ErrorCode)}); code != protocol.None {
			out.ErrorCode = int16(code)
		} else {
			b.groups.mu.Lock()
			for _, tp := range gone {
				delete(b.groups.offsets[req.Group], tp)
			}
			b.groups.mu.Unlock()
		}
		resp.complete(out)
	})
}

// subscriptions returns the topics a group's members consume (decoded from
// their consumer-protocol metadata) and whether the group exists at all.
func (gc *groupCoordinator) subscriptions(group string) (map[string]bool, bool) {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	g := gc.groups[group]
	known := len(gc.offsets[group]) > 0 || g != nil && len(g.members) > 0
	topics := map[string]bool{}
	if g == nil || g.protocolType != "consumer" {
		return topics, known
	}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if p.Name != g.protocol {
				continue
			}
			var meta kmsg.ConsumerMemberMetadata
			if meta.ReadFrom(p.Metadata) == nil {
				for _, t := range meta.Topics {
					topics[t] = true
				}
			}
		}
	}
	return topics, known
}
