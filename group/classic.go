package group

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/clock"
	"github.com/gokafka/gokafka/protocol"
)

// The classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup), as Kafka's GroupCoordinator runs it: a rebalance parks every
// JoinGroup until all known members have rejoined (or the rebalance timeout
// passes), then answers them at once with a new generation, the leader
// getting every member's metadata; SyncGroup parks followers until the
// leader hands out the assignments, which are stored in __consumer_offsets
// before anyone hears of them, so that a new coordinator takes the group
// over without a rebalance. Static members (group.instance.id, KIP-345)
// keep their place across restarts. Each group's state is under its own
// mutex; the coordinator's guards only the map of groups.

type groupState string

const (
	groupEmpty               groupState = "Empty"
	groupPreparingRebalance  groupState = "PreparingRebalance"
	groupCompletingRebalance groupState = "CompletingRebalance"
	groupStable              groupState = "Stable"
)

type member struct {
	id, instanceID     string
	clientID, host     string
	protocols          []kmsg.JoinGroupRequestProtocol
	session, rebalance time.Duration
	assignment         []byte
	lastSeen           time.Time
	join               func(*kmsg.JoinGroupResponse) // parked JoinGroup, nil if none
	sync               func(*kmsg.SyncGroupResponse) // parked SyncGroup, nil if none
}

// answerParked fails the member's parked requests with code.
func (m *member) answerParked(code protocol.ErrorCode) {
	if m.join != nil {
		m.join(&kmsg.JoinGroupResponse{ErrorCode: int16(code), Generation: -1})
		m.join = nil
	}
	if m.sync != nil {
		m.sync(&kmsg.SyncGroupResponse{ErrorCode: int16(code)})
		m.sync = nil
	}
}

// metadata is the member's subscription for the given protocol.
func (m *member) metadata(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func (m *member) supports(protocol string) bool {
	return slices.ContainsFunc(m.protocols, func(p kmsg.JoinGroupRequestProtocol) bool { return p.Name == protocol })
}

type group struct {
	mu   sync.Mutex // guards the rest; taken before the coordinator's mu
	gone bool       // unloaded or deleted: out of the map, its requests answered

	id           string
	state        groupState
	stateTime    int64 // ms, when state last changed
	generation   int32
	protocolType string
	protocol     string
	leader       string
	members      map[string]*member
	static       map[string]string // group.instance.id -> member id
	pending      map[string]bool   // ids handed out by MEMBER_ID_REQUIRED
	timer        *time.Timer       // ends the join phase of a rebalance
}

func newGroup(id string) *group {
	return &group{id: id, state: groupEmpty, stateTime: clock.Now().UnixMilli(),
		members: map[string]*member{}, static: map[string]string{}, pending: map[string]bool{}}
}

func (g *group) transition(s groupState) {
	g.state, g.stateTime = s, clock.Now().UnixMilli()
}

// group returns id's group, created if new; called under gc.mu.
func (gc *Coordinator) group(id string) *group {
	g := gc.groups[id]
	if g == nil {
		g = newGroup(id)
		gc.groups[id] = g
	}
	return g
}

// lockGroup returns id's group, created if new, with its lock held.
func (gc *Coordinator) lockGroup(id string) *group {
	return gc.lockFound(id, gc.group)
}

// lockExisting returns id's group with its lock held, or nil if it has
// none (a group known by its offsets alone has none).
func (gc *Coordinator) lockExisting(id string) *group {
	return gc.lockFound(id, func(id string) *group { return gc.groups[id] })
}

// lockFound locks the group find returns under gc.mu, again if it was
// retired meanwhile (a load or delete replaced it).
func (gc *Coordinator) lockFound(id string, find func(string) *group) *group {
	for {
		gc.mu.Lock()
		g := find(id)
		gc.mu.Unlock()
		if g == nil {
			return nil
		}
		g.mu.Lock()
		if !g.gone {
			return g
		}
		g.mu.Unlock()
	}
}

// retireLocked marks a group taken out of the map gone, stops its timer
// and tells its parked requests that this broker no longer coordinates it.
func (g *group) retireLocked() {
	g.gone = true
	if g.timer != nil {
		g.timer.Stop()
	}
	for _, m := range g.members {
		m.answerParked(protocol.NotCoordinator)
	}
}

// snapshotGroups returns the groups in the map now, to be locked one at a time.
func (gc *Coordinator) snapshotGroups() []*group {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	return slices.Collect(maps.Values(gc.groups))
}

func newMemberID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func instanceOf(id *string) string {
	if id == nil {
		return ""
	}
	return *id
}

// fenced reports a static member whose instance id now belongs to another
// member id: an older process of the same instance.
func (g *group) fenced(instance, memberID string) bool {
	cur, ok := g.static[instance]
	return instance != "" && ok && cur != memberID
}

// Client is who sent a request: its client.id and its address as Kafka
// shows it ("/" and the IP).
type Client struct {
	ID, Host string
}

// JoinGroup serves a JoinGroup whose principal may Read the group; respond
// is called once, now or when the join phase ends.
func (gc *Coordinator) JoinGroup(req *kmsg.JoinGroupRequest, client Client, respond func(*kmsg.JoinGroupResponse)) {
	out := req.ResponseKind().(*kmsg.JoinGroupResponse)
	fail := func(code protocol.ErrorCode) {
		out.ErrorCode, out.Generation = int16(code), -1
		respond(out)
	}
	p, err := gc.servingMember(req.Group)
	if err != nil {
		fail(protocol.Code(err))
		return
	}
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	if session < gc.cfg.MinSessionTimeout || session > gc.cfg.MaxSessionTimeout {
		fail(protocol.InvalidSessionTimeout)
		return
	}
	instance := instanceOf(req.InstanceID)
	g := gc.lockGroup(req.Group)
	defer g.mu.Unlock()
	switch {
	case req.ProtocolType == "" || len(req.Protocols) == 0:
		fail(protocol.InconsistentGroupProtocol)
		return
	case len(g.members) > 0 && req.ProtocolType != g.protocolType || !g.supportsAny(req.Protocols):
		fail(protocol.InconsistentGroupProtocol)
		return
	case req.MemberID == "" && instance == "" && req.Version >= 4:
		// KIP-394: hand out an id and let the client come back with it.
		out.MemberID = newMemberID(client.ID)
		g.pending[out.MemberID] = true
		fail(protocol.MemberIDRequired)
		return
	case g.fenced(instance, req.MemberID) && req.MemberID != "":
		fail(protocol.FencedInstanceID)
		return
	case req.MemberID != "" && g.members[req.MemberID] == nil && !g.pending[req.MemberID]:
		fail(protocol.UnknownMemberID)
		return
	}
	g.protocolType = req.ProtocolType
	if req.MemberID == "" && g.static[instance] != "" {
		gc.rejoinStatic(p, g, req, client, respond)
		return
	}
	id := req.MemberID
	if id == "" {
		id = newMemberID(cmp.Or(instance, client.ID))
	}
	if g.members[id] == nil && len(g.members) >= gc.cfg.MaxSize {
		delete(g.pending, id)
		fail(protocol.GroupMaxSizeReached)
		return
	}
	delete(g.pending, id)
	m := g.members[id]
	if m == nil {
		m = &member{id: id, instanceID: instance}
		g.members[id] = m
		if instance != "" {
			g.static[instance] = id
		}
	}
	changed := m.update(req, client, respond)
	if g.state == groupStable && g.leader != id && !changed {
		// A follower rejoining with nothing new: answer with the current
		// generation without disturbing the others, as Kafka does.
		gc.answerJoin(g, m, g.leader)
		return
	}
	gc.prepareRebalance(g)
	gc.maybeCompleteJoin(g)
}

// servingMember is serving for the member APIs (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup), which, as in Kafka, refuse an empty group id
// with INVALID_GROUP_ID; the offset APIs take it, for old clients' sake.
func (gc *Coordinator) servingMember(group string) (int32, error) {
	if group == "" {
		return -1, protocol.Errorf(protocol.InvalidGroupID, "the group id is empty")
	}
	return gc.serving(group)
}

// update takes what a JoinGroup says about the member and parks the
// request; it reports whether the member's protocols changed.
func (m *member) update(req *kmsg.JoinGroupRequest, client Client, respond func(*kmsg.JoinGroupResponse)) bool {
	changed := !slices.EqualFunc(m.protocols, req.Protocols, func(a, b kmsg.JoinGroupRequestProtocol) bool {
		return a.Name == b.Name && string(a.Metadata) == string(b.Metadata)
	})
	m.clientID, m.host, m.protocols = client.ID, client.Host, req.Protocols
	m.session = time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	m.rebalance = time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 {
		m.rebalance = m.session
	}
	m.lastSeen = time.Now()
	m.join = func(r *kmsg.JoinGroupResponse) {
		r.Version = req.Version
		respond(r)
	}
	return changed
}

// rejoinStatic handles a known group.instance.id joining without a member
// id (its process restarted): it takes a new member id and fences the old
// one. In a stable group whose protocol stays the same it keeps its
// assignment and nobody rebalances, once the new id is stored. A
// returning leader is told to skip assignment (KIP-814); a client too old
// for that field (JoinGroup v8 and below: librdkafka) is shown, as Kafka
// does, the leader's old member id, so that it takes itself for a
// follower and just syncs.
func (gc *Coordinator) rejoinStatic(p int32, g *group, req *kmsg.JoinGroupRequest, client Client, respond func(*kmsg.JoinGroupResponse)) {
	instance := *req.InstanceID
	m := g.members[g.static[instance]]
	m.answerParked(protocol.FencedInstanceID)
	delete(g.members, m.id)
	oldLeader, wasLeader := g.leader, g.leader == m.id
	m.id = newMemberID(instance)
	g.members[m.id], g.static[instance] = m, m.id
	if wasLeader {
		g.leader = m.id
	}
	shownLeader := g.leader
	if req.Version < 9 {
		shownLeader = oldLeader
	}
	changed := m.update(req, client, respond)
	switch {
	case g.state == groupPreparingRebalance:
		gc.maybeCompleteJoin(g)
	case g.state != groupStable || changed && !m.supports(g.protocol):
		gc.prepareRebalance(g)
	default:
		generation := g.generation
		gc.write(p, []protocol.KV{groupRecord(g)}, func(code protocol.ErrorCode) {
			g.mu.Lock()
			defer g.mu.Unlock()
			switch {
			case g.gone || m.join == nil || g.generation != generation:
				// a rebalance has answered it already
			case code != protocol.None:
				m.join(&kmsg.JoinGroupResponse{ErrorCode: int16(code), Generation: -1})
				m.join = nil
				gc.prepareRebalance(g)
			default:
				gc.answerJoin(g, m, shownLeader)
			}
		})
	}
}

func (g *group) supportsAny(ps []kmsg.JoinGroupRequestProtocol) bool {
	for _, m := range g.members {
		ok := false
		for _, p := range ps {
			ok = ok || m.supports(p.Name)
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
func (gc *Coordinator) prepareRebalance(g *group) {
	if g.state == groupPreparingRebalance {
		return
	}
	wait := gc.cfg.InitialRebalanceDelay
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
	g.transition(groupPreparingRebalance)
	g.timer = time.AfterFunc(wait, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.state == groupPreparingRebalance && !g.gone {
			gc.completeJoin(g)
		}
	})
}

// maybeCompleteJoin ends the join phase early once every member has
// rejoined, except while an empty group's initial delay runs.
func (gc *Coordinator) maybeCompleteJoin(g *group) {
	if g.state != groupPreparingRebalance || g.generation == 0 && gc.cfg.InitialRebalanceDelay > 0 {
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
func (gc *Coordinator) completeJoin(g *group) {
	for _, m := range g.members {
		if m.join == nil {
			g.drop(m)
		}
	}
	g.generation++
	if len(g.members) == 0 {
		gc.becomeEmpty(g)
		return
	}
	gc.rebalanced()
	if g.members[g.leader] == nil {
		for id := range g.members {
			g.leader = id
			break
		}
	}
	g.protocol = g.chooseProtocol()
	g.transition(groupCompletingRebalance)
	// The members keep their last assignments until the leader's sync
	// replaces them: DescribeGroups shows them meanwhile, as in Kafka.
	for _, m := range g.members {
		gc.answerJoin(g, m, g.leader)
	}
}

func (g *group) drop(m *member) {
	delete(g.members, m.id)
	if m.instanceID != "" && g.static[m.instanceID] == m.id {
		delete(g.static, m.instanceID)
	}
}

// becomeEmpty records that the last member has gone, so that a coordinator
// loading the group later does not bring its members back; the group's
// offsets start to age from now (offsets.retention.minutes).
func (gc *Coordinator) becomeEmpty(g *group) {
	g.protocol, g.leader = "", ""
	g.transition(groupEmpty)
	if p, ok := gc.localPartition(g.id); ok {
		gc.write(p, []protocol.KV{groupRecord(g)}, func(code protocol.ErrorCode) {
			if code != protocol.None {
				gc.log.Warn("cannot store empty group", "group", g.id, "error", code)
			}
		})
	}
}

// chooseProtocol picks the leader's first protocol that every member
// supports (Kafka votes; with one client library the result is the same).
func (g *group) chooseProtocol() string {
	for _, p := range g.members[g.leader].protocols {
		all := true
		for _, m := range g.members {
			all = all && m.supports(p.Name)
		}
		if all {
			return p.Name
		}
	}
	return g.members[g.leader].protocols[0].Name
}

func (gc *Coordinator) answerJoin(g *group, m *member, shownLeader string) {
	r := kmsg.NewPtrJoinGroupResponse()
	r.Generation, r.LeaderID, r.MemberID = g.generation, shownLeader, m.id
	r.Protocol, r.ProtocolType = kmsg.StringPtr(g.protocol), kmsg.StringPtr(g.protocolType)
	if m.id == shownLeader {
		r.SkipAssignment = g.state == groupStable
		for _, o := range g.members {
			jm := kmsg.JoinGroupResponseMember{MemberID: o.id, ProtocolMetadata: o.metadata(g.protocol)}
			if o.instanceID != "" {
				jm.InstanceID = kmsg.StringPtr(o.instanceID)
			}
			r.Members = append(r.Members, jm)
		}
	}
	m.lastSeen = time.Now()
	m.join(r)
	m.join = nil
}

// checkMember validates a member, its instance id and generation.
func (g *group) checkMember(id string, instance *string, generation int32) (*member, protocol.ErrorCode) {
	m := g.members[id]
	switch {
	case g.fenced(instanceOf(instance), id):
		return nil, protocol.FencedInstanceID
	case m == nil:
		return nil, protocol.UnknownMemberID
	case generation != g.generation:
		return m, protocol.IllegalGeneration
	}
	return m, protocol.None
}

// SyncGroup serves a SyncGroup whose principal may Read the group; respond
// is called once, now or when the leader's assignment is stored.
func (gc *Coordinator) SyncGroup(req *kmsg.SyncGroupRequest, respond func(*kmsg.SyncGroupResponse)) {
	answer := func(r *kmsg.SyncGroupResponse) {
		r.Version = req.Version
		respond(r)
	}
	p, err := gc.servingMember(req.Group)
	if err != nil {
		answer(&kmsg.SyncGroupResponse{ErrorCode: int16(protocol.Code(err))})
		return
	}
	g := gc.lockGroup(req.Group)
	defer g.mu.Unlock()
	m, code := g.checkMember(req.MemberID, req.InstanceID, req.Generation)
	switch {
	case code != protocol.None:
		answer(&kmsg.SyncGroupResponse{ErrorCode: int16(code)})
		return
	case g.state == groupPreparingRebalance:
		answer(&kmsg.SyncGroupResponse{ErrorCode: int16(protocol.RebalanceInProgress)})
		return
	case g.state == groupStable:
		answer(g.syncResponse(m))
		return
	}
	m.lastSeen = time.Now()
	m.sync = answer
	if req.MemberID != g.leader {
		return // parked until the leader syncs
	}
	for _, o := range g.members {
		o.assignment = nil // a member the leader leaves out gets none
	}
	for _, a := range req.GroupAssignment {
		if o := g.members[a.MemberID]; o != nil {
			o.assignment = a.MemberAssignment
		}
	}
	generation := g.generation
	gc.write(p, []protocol.KV{groupRecord(g)}, func(code protocol.ErrorCode) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.gone || g.state != groupCompletingRebalance || g.generation != generation {
			return
		}
		if code != protocol.None {
			for _, o := range g.members {
				o.assignment = nil
				if o.sync != nil {
					o.sync(&kmsg.SyncGroupResponse{ErrorCode: int16(code)})
					o.sync = nil
				}
			}
			gc.prepareRebalance(g)
			return
		}
		g.transition(groupStable)
		for _, o := range g.members {
			if o.sync != nil {
				o.sync(g.syncResponse(o))
				o.sync = nil
			}
		}
	})
}

func (g *group) syncResponse(m *member) *kmsg.SyncGroupResponse {
	return &kmsg.SyncGroupResponse{MemberAssignment: m.assignment,
		Protocol: kmsg.StringPtr(g.protocol), ProtocolType: kmsg.StringPtr(g.protocolType)}
}

// Heartbeat serves a Heartbeat whose principal may Read the group.
func (gc *Coordinator) Heartbeat(req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if _, err := gc.servingMember(req.Group); err != nil {
		resp.ErrorCode = int16(protocol.Code(err))
		return resp
	}
	g := gc.lockGroup(req.Group)
	defer g.mu.Unlock()
	m, code := g.checkMember(req.MemberID, req.InstanceID, req.Generation)
	if code == protocol.None && g.state == groupPreparingRebalance {
		code = protocol.RebalanceInProgress
	}
	if m != nil {
		m.lastSeen = time.Now()
	}
	resp.ErrorCode = int16(code)
	return resp
}

// LeaveGroup serves a LeaveGroup whose principal may Read the group.
func (gc *Coordinator) LeaveGroup(req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if _, err := gc.servingMember(req.Group); err != nil {
		resp.ErrorCode = int16(protocol.Code(err))
		return resp
	}
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	g := gc.lockGroup(req.Group)
	defer g.mu.Unlock()
	for _, l := range leaving {
		out := kmsg.LeaveGroupResponseMember{MemberID: l.MemberID, InstanceID: l.InstanceID}
		instance, id := instanceOf(l.InstanceID), l.MemberID
		if id == "" && instance != "" { // a static member leaving by instance id alone
			id = g.static[instance]
		}
		switch {
		case g.fenced(instance, id):
			out.ErrorCode = int16(protocol.FencedInstanceID)
		case g.members[id] == nil:
			out.ErrorCode = int16(protocol.UnknownMemberID)
		default:
			gc.removeMember(g, g.members[id], protocol.UnknownMemberID)
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
func (gc *Coordinator) removeMember(g *group, m *member, code protocol.ErrorCode) {
	m.answerParked(code)
	g.drop(m)
	switch {
	case g.state == groupPreparingRebalance:
		gc.maybeCompleteJoin(g)
	case len(g.members) == 0:
		g.generation++
		gc.becomeEmpty(g)
	default:
		gc.prepareRebalance(g)
	}
}

// expireSessions removes members silent past their session timeout. A
// member parked in JoinGroup is waiting on us, not silent.
func (gc *Coordinator) expireSessions(now time.Time) {
	for _, g := range gc.snapshotGroups() {
		g.mu.Lock()
		for id, m := range g.members {
			if !g.gone && m.join == nil && now.Sub(m.lastSeen) > m.session {
				gc.log.Info("group member session expired", "group", g.id, "member", id, "instance", m.instanceID)
				gc.removeMember(g, m, protocol.UnknownMemberID)
			}
		}
		g.mu.Unlock()
	}
}

// Run expires silent members twice a second and expired offsets every
// offsets.retention.check.interval.ms until ctx ends, then waits for the
// loads under way.
func (gc *Coordinator) Run(ctx context.Context) {
	defer gc.wg.Wait()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	lastExpiry := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			gc.expireSessions(now)
			if now.Sub(lastExpiry) >= gc.cfg.OffsetsRetentionCheckInterval {
				gc.expireOffsets(clock.Now())
				lastExpiry = now
			}
		}
	}
}

// groupRecord encodes the group as Kafka stores it (GroupMetadataValue v3,
// with instance ids): its generation, protocol, leader and every member's
// subscription and assignment.
func groupRecord(g *group) protocol.KV {
	k := kmsg.GroupMetadataKey{Version: 2, Group: g.id}
	v := kmsg.NewGroupMetadataValue()
	v.Version, v.ProtocolType, v.Generation, v.CurrentStateTimestamp = 3, g.protocolType, g.generation, g.stateTime
	if g.protocol != "" {
		v.Protocol, v.Leader = kmsg.StringPtr(g.protocol), kmsg.StringPtr(g.leader)
	}
	for _, m := range g.members {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.ClientID, vm.ClientHost = m.id, m.clientID, m.host
		vm.SessionTimeoutMillis, vm.RebalanceTimeoutMillis = int32(m.session.Milliseconds()), int32(m.rebalance.Milliseconds())
		vm.Subscription, vm.Assignment = m.metadata(g.protocol), m.assignment
		if m.instanceID != "" {
			vm.InstanceID = kmsg.StringPtr(m.instanceID)
		}
		v.Members = append(v.Members, vm)
	}
	return protocol.KV{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}
}

// groupFromRecord rebuilds a stored group. Its members are Stable with a
// fresh session: they keep heartbeating to the new coordinator as they did
// to the old one.
func groupFromRecord(id string, v *kmsg.GroupMetadataValue, now time.Time) *group {
	g := newGroup(id)
	g.protocolType, g.generation, g.stateTime = v.ProtocolType, v.Generation, v.CurrentStateTimestamp
	g.protocol, g.leader = instanceOf(v.Protocol), instanceOf(v.Leader)
	for _, vm := range v.Members {
		m := &member{id: vm.MemberID, instanceID: instanceOf(vm.InstanceID), clientID: vm.ClientID, host: vm.ClientHost,
			session:    time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
			rebalance:  time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			protocols:  []kmsg.JoinGroupRequestProtocol{{Name: g.protocol, Metadata: vm.Subscription}},
			assignment: vm.Assignment, lastSeen: now}
		g.members[m.id] = m
		if m.instanceID != "" {
			g.static[m.instanceID] = m.id
		}
		g.state = groupStable
	}
	return g
}
