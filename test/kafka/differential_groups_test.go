package kafka

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

const group = "diff-g"

// subscription is a consumer's JoinGroup metadata: Kafka's coordinator
// parses it.
var subscription = (&kmsg.ConsumerMemberMetadata{Topics: []string{topic}}).AppendTo(nil)

// member is one classic group member on its own connection: JoinGroup
// and SyncGroup block until the group moves, so members cannot share one.
type member struct {
	name       string
	w          *wire
	id         string
	generation int32
}

func joinReq(groupID, memberID string) *kmsg.JoinGroupRequest {
	return &kmsg.JoinGroupRequest{Group: groupID, SessionTimeoutMillis: 30000, RebalanceTimeoutMillis: 30000,
		MemberID: memberID, ProtocolType: "consumer",
		Protocols: []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: subscription}}}
}

// join sends one JoinGroup v7 and notes its answer; ids are compared by
// role only (empty, the member's own, the other's).
func (s *scenario) join(step string, m *member) *kmsg.JoinGroupResponse {
	resp, _ := s.doOn(m.w, step, joinReq(group, m.id), 7).(*kmsg.JoinGroupResponse)
	if resp == nil {
		return nil
	}
	if resp.MemberID != "" {
		m.id = resp.MemberID
	}
	if resp.ErrorCode == 0 {
		m.generation = resp.Generation
	}
	s.see(step, "%s generation=%d protocol=%v leader=%t members=%d memberID=%t", errName(resp.ErrorCode),
		resp.Generation, deref(resp.Protocol), resp.LeaderID == m.id && m.id != "", len(resp.Members), resp.MemberID != "")
	return resp
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func (s *scenario) sync(step string, m *member, generation int32, assign bool) {
	req := &kmsg.SyncGroupRequest{Group: group, Generation: generation, MemberID: m.id,
		ProtocolType: kmsg.StringPtr("consumer"), Protocol: kmsg.StringPtr("range")}
	if assign {
		req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: m.id, MemberAssignment: []byte("a")}}
	}
	resp, _ := s.doOn(m.w, step, req, 5).(*kmsg.SyncGroupResponse)
	if resp != nil {
		s.see(step, "%s assignment=%q", errName(resp.ErrorCode), resp.MemberAssignment)
	}
}

func (s *scenario) heartbeat(step string, m *member, generation int32, memberID string) {
	resp, _ := s.doOn(m.w, step, &kmsg.HeartbeatRequest{Group: group, Generation: generation, MemberID: memberID}, 4).(*kmsg.HeartbeatResponse)
	if resp != nil {
		s.see(step, "%s", errName(resp.ErrorCode))
	}
}

func (s *scenario) commit(step, groupID, topicName string, generation int32, memberID string, offset int64) {
	resp, _ := s.do(step, &kmsg.OffsetCommitRequest{Group: groupID, Generation: generation, MemberID: memberID,
		Topics: []kmsg.OffsetCommitRequestTopic{{Topic: topicName, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{
			Partition: 0, Offset: offset, LeaderEpoch: -1,
		}}}}}, 8).(*kmsg.OffsetCommitResponse)
	if resp != nil && len(resp.Topics) == 1 && len(resp.Topics[0].Partitions) == 1 {
		s.see(step, "%s", errName(resp.Topics[0].Partitions[0].ErrorCode))
	}
}

func (s *scenario) fetchOffsets(step, groupID string) {
	s.fetchGroup(step, 8, groupID, []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, Partitions: []int32{0, 1}}},
		func(t kmsg.OffsetFetchResponseGroupTopic) string { return t.Topic })
}

// fetchGroup notes one OffsetFetch (v8+) of group for topics (nil: all),
// each partition of the answer as label/partition:offset/epoch/metadata/
// error, sorted, with label naming its topic.
func (s *scenario) fetchGroup(step string, version int16, group string, topics []kmsg.OffsetFetchRequestGroupTopic,
	label func(kmsg.OffsetFetchResponseGroupTopic) string) {
	req := &kmsg.OffsetFetchRequest{Groups: []kmsg.OffsetFetchRequestGroup{{Group: group, Topics: topics}}}
	resp, _ := s.do(step, req, version).(*kmsg.OffsetFetchResponse)
	if resp == nil || len(resp.Groups) != 1 {
		return
	}
	g := resp.Groups[0]
	var parts []string
	for _, t := range g.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, fmt.Sprintf("%s/%d:%d/%d/%q/%s", label(t), p.Partition, p.Offset,
				p.LeaderEpoch, deref(p.Metadata), errName(p.ErrorCode)))
		}
	}
	slices.Sort(parts)
	s.see(step, "%s %v", errName(g.ErrorCode), parts)
}

func (s *scenario) describeGroup(step, groupID string, version int16) string {
	resp, _ := s.do(step, &kmsg.DescribeGroupsRequest{Groups: []string{groupID}}, version).(*kmsg.DescribeGroupsResponse)
	if resp == nil || len(resp.Groups) != 1 {
		return ""
	}
	g := resp.Groups[0]
	var members []string
	for _, m := range g.Members {
		members = append(members, fmt.Sprintf("metadata=%t assignment=%q", len(m.ProtocolMetadata) > 0, m.MemberAssignment))
	}
	slices.Sort(members)
	s.see(step, "%s %q state=%s protocolType=%q protocol=%q members=%v", errName(g.ErrorCode), deref(g.ErrorMessage),
		g.State, g.ProtocolType, g.Protocol, members)
	return g.State
}

// state polls DescribeGroups without noting it, until the group is in
// want or 20 s passed.
func (s *scenario) awaitState(want string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r, err := s.w.do(&kmsg.DescribeGroupsRequest{Groups: []string{group}}, 5)
		if err == nil && len(r.(*kmsg.DescribeGroupsResponse).Groups) == 1 && r.(*kmsg.DescribeGroupsResponse).Groups[0].State == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.see("await "+want, "not reached in 20 s")
}

// awaitCoordinator waits until the group coordinator of groupID answers
// (the offsets topic is created on the first FindCoordinator), so that
// the steps compare rules, not start-up timing.
func (s *scenario) awaitCoordinator(groupID string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r, err := s.w.do(&kmsg.FindCoordinatorRequest{CoordinatorKeys: []string{groupID}}, 4)
		if err == nil && r.(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode == 0 {
			d, err := s.w.do(&kmsg.DescribeGroupsRequest{Groups: []string{groupID}}, 5)
			if err == nil && d.(*kmsg.DescribeGroupsResponse).Groups[0].ErrorCode == 0 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("%s: no coordinator for group %s after 30 s", s.addr, groupID)
}

func (s *scenario) groups() {
	for _, g := range []string{group, "diff-simple"} {
		s.awaitCoordinator(g)
	}
	a := &member{name: "a", w: dialWire(s.t, s.addr)}
	b := &member{name: "b", w: dialWire(s.t, s.addr)}

	s.join("JoinGroup without member id", a)
	s.join("JoinGroup first member", a)
	s.describeGroup("DescribeGroups after the first join", group, 5)
	s.commit("OffsetCommit in CompletingRebalance", group, topic, a.generation, a.id, 1)
	s.sync("SyncGroup stale generation", a, a.generation-1, true)
	s.sync("SyncGroup unknown member", &member{w: a.w, id: "nobody"}, a.generation, true)
	s.sync("SyncGroup leader", a, a.generation, true)
	s.describeGroup("DescribeGroups stable", group, 5)
	s.heartbeat("Heartbeat stale generation", a, a.generation-1, a.id)
	s.heartbeat("Heartbeat unknown member", a, a.generation, "nobody")
	s.heartbeat("Heartbeat", a, a.generation, a.id)
	s.commit("OffsetCommit stale generation", group, topic, a.generation-1, a.id, 1)
	s.commit("OffsetCommit unknown member", group, topic, a.generation, "nobody", 1)
	s.commit("OffsetCommit", group, topic, a.generation, a.id, 1)
	s.commit("OffsetCommit unknown topic", group, "diff-nowhere", a.generation, a.id, 1)
	s.commit("OffsetCommit simple (no generation)", "diff-simple", topic, -1, "", 2)
	s.fetchOffsets("OffsetFetch", group)

	// A second member's join starts a rebalance and waits for the first.
	s.join("JoinGroup second member without id", b)
	joined := make(chan struct{})
	var bJoin *kmsg.JoinGroupResponse
	var bErr error
	go func() {
		defer close(joined)
		var r kmsg.Response
		r, bErr = b.w.do(joinReq(group, b.id), 7)
		if bErr == nil {
			bJoin = r.(*kmsg.JoinGroupResponse)
		}
	}()
	s.awaitState("PreparingRebalance")
	s.describeGroup("DescribeGroups preparing", group, 5)
	s.commit("OffsetCommit in PreparingRebalance", group, topic, a.generation, a.id, 2)
	s.heartbeat("Heartbeat in PreparingRebalance", a, a.generation, a.id)
	s.join("JoinGroup rejoin", a)
	<-joined
	if bErr != nil {
		s.see("JoinGroup second member", "%v", bErr)
	} else {
		s.see("JoinGroup second member", "%s generation=%d leader=%t members=%d", errName(bJoin.ErrorCode),
			bJoin.Generation, bJoin.LeaderID == b.id, len(bJoin.Members))
		b.generation = bJoin.Generation
	}
	s.describeGroup("DescribeGroups completing", group, 5)
	s.commit("OffsetCommit in CompletingRebalance, current generation", group, topic, a.generation, a.id, 3)
	s.sync("SyncGroup leader, two members", a, a.generation, true)
	s.sync("SyncGroup follower", b, b.generation, false)
	s.describeGroup("DescribeGroups two members", group, 5)
	s.fetchOffsets("OffsetFetch after the rebalance", group)
	s.fetchOffsets("OffsetFetch unknown group", "diff-nobody")

	lg, _ := s.do("ListGroups", &kmsg.ListGroupsRequest{}, 5).(*kmsg.ListGroupsResponse)
	if lg != nil {
		var gs []string
		for _, g := range lg.Groups {
			gs = append(gs, fmt.Sprintf("%s/%s/%s/%s", g.Group, g.ProtocolType, g.GroupState, g.GroupType))
		}
		slices.Sort(gs)
		s.see("ListGroups", "%s %s", errName(lg.ErrorCode), strings.Join(gs, " "))
	}
	s.deleteGroups("DeleteGroups non-empty", group)
	s.deleteGroups("DeleteGroups unknown", "diff-nobody")
	s.describeGroup("DescribeGroups v5 unknown group", "diff-nobody", 5)
	s.describeGroup("DescribeGroups v6 unknown group", "diff-nobody", 6)
	s.describeGroup("DescribeGroups v5 empty id", "", 5)
	s.commit("OffsetCommit simple to a group with members", group, topic, -1, "", 4)
	od, _ := s.do("OffsetDelete of a subscribed topic", &kmsg.OffsetDeleteRequest{Group: group, Topics: []kmsg.OffsetDeleteRequestTopic{{
		Topic: topic, Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}},
	}}}, 0).(*kmsg.OffsetDeleteResponse)
	if od != nil {
		var codes []string
		for _, t := range od.Topics {
			for _, p := range t.Partitions {
				codes = append(codes, errName(p.ErrorCode))
			}
		}
		s.see("OffsetDelete of a subscribed topic", "%s %v", errName(od.ErrorCode), codes)
	}
	nobody := &member{w: a.w, id: "nobody"}
	s.heartbeatGroup("Heartbeat unknown group", "diff-nobody", nobody)
	s.syncGroup("SyncGroup unknown group", "diff-nobody", nobody)

	e := &member{w: a.w}
	resp, _ := s.doOn(e.w, "JoinGroup empty group id", joinReq("", ""), 7).(*kmsg.JoinGroupResponse)
	if resp != nil {
		s.see("JoinGroup empty group id", "%s", errName(resp.ErrorCode))
	}

	lv, _ := s.do("LeaveGroup", &kmsg.LeaveGroupRequest{Group: group, Members: []kmsg.LeaveGroupRequestMember{
		{MemberID: a.id}, {MemberID: b.id}, {MemberID: "nobody"},
	}}, 4).(*kmsg.LeaveGroupResponse)
	if lv != nil {
		var codes []string
		for _, m := range lv.Members {
			codes = append(codes, errName(m.ErrorCode))
		}
		s.see("LeaveGroup", "%s %v", errName(lv.ErrorCode), codes)
	}
	s.describeGroup("DescribeGroups after leaving", group, 5)
	s.deleteGroups("DeleteGroups empty", group)
	s.describeGroup("DescribeGroups v5 deleted", group, 5)
}

func (s *scenario) heartbeatGroup(step, groupID string, m *member) {
	resp, _ := s.doOn(m.w, step, &kmsg.HeartbeatRequest{Group: groupID, Generation: 1, MemberID: m.id}, 4).(*kmsg.HeartbeatResponse)
	if resp != nil {
		s.see(step, "%s", errName(resp.ErrorCode))
	}
}

func (s *scenario) syncGroup(step, groupID string, m *member) {
	resp, _ := s.doOn(m.w, step, &kmsg.SyncGroupRequest{Group: groupID, Generation: 1, MemberID: m.id,
		ProtocolType: kmsg.StringPtr("consumer"), Protocol: kmsg.StringPtr("range")}, 5).(*kmsg.SyncGroupResponse)
	if resp != nil {
		s.see(step, "%s", errName(resp.ErrorCode))
	}
}

func (s *scenario) deleteGroups(step, groupID string) {
	resp, _ := s.do(step, &kmsg.DeleteGroupsRequest{Groups: []string{groupID}}, 2).(*kmsg.DeleteGroupsResponse)
	if resp != nil && len(resp.Groups) == 1 {
		s.see(step, "%s", errName(resp.Groups[0].ErrorCode))
	}
}
