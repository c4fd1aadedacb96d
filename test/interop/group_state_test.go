package interop

import (
	"cmp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// groupMember drives the classic group protocol by hand, so that tests can
// assert the exact error codes and generations Kafka specifies.
type groupMember struct {
	t          *testing.T
	cl         *kgo.Client
	group      string
	instance   *string
	id         string
	generation int32
	leader     bool
	skip       bool     // SkipAssignment in the last JoinGroup answer
	version    int16    // of JoinGroup; 0 means 9
	raw        *rawConn // sends JoinGroup at version as it is; kgo would raise it
}

// request sends req to the group's coordinator, retrying while the
// coordinator is loading or moving.
func request[R kmsg.Response](t *testing.T, cl *kgo.Client, req kmsg.Request) R {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := cl.Request(testCtx(t), req)
		if err != nil {
			t.Fatalf("%T: %v", req, err)
		}
		code := int16(0)
		switch r := resp.(type) {
		case *kmsg.JoinGroupResponse:
			code = r.ErrorCode
		case *kmsg.SyncGroupResponse:
			code = r.ErrorCode
		case *kmsg.HeartbeatResponse:
			code = r.ErrorCode
		}
		retry := code == kerr.CoordinatorLoadInProgress.Code || code == kerr.NotCoordinator.Code ||
			code == kerr.CoordinatorNotAvailable.Code
		if !retry || time.Now().After(deadline) {
			return resp.(R)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// join joins (or rejoins) and returns the error code; MEMBER_ID_REQUIRED is
// followed as a client does.
func (m *groupMember) join() int16 {
	m.t.Helper()
	for {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Version = cmp.Or(m.version, 9)
		req.Group, req.MemberID, req.InstanceID = m.group, m.id, m.instance
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
		req.ProtocolType = "consumer"
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("sub")}}
		var resp *kmsg.JoinGroupResponse
		if m.raw != nil {
			m.raw.send(req, 1)
			resp = m.raw.recv(req, 1).(*kmsg.JoinGroupResponse)
		} else {
			resp = request[*kmsg.JoinGroupResponse](m.t, m.cl, req)
		}
		if resp.ErrorCode == kerr.MemberIDRequired.Code {
			m.id = resp.MemberID
			continue
		}
		if resp.ErrorCode == 0 {
			m.id, m.generation, m.leader, m.skip = resp.MemberID, resp.Generation, resp.LeaderID == resp.MemberID, resp.SkipAssignment
		}
		return resp.ErrorCode
	}
}

// sync sends SyncGroup, as the leader with assignment for itself, and
// returns the code and the assignment received.
func (m *groupMember) sync(assignment string) (int16, string) {
	m.t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group, req.MemberID, req.Generation, req.InstanceID = m.group, m.id, m.generation, m.instance
	req.ProtocolType, req.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
	if m.leader && assignment != "" {
		req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: m.id, MemberAssignment: []byte(assignment)}}
	}
	resp := request[*kmsg.SyncGroupResponse](m.t, m.cl, req)
	return resp.ErrorCode, string(resp.MemberAssignment)
}

func (m *groupMember) heartbeat() int16 {
	m.t.Helper()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 4
	req.Group, req.MemberID, req.Generation, req.InstanceID = m.group, m.id, m.generation, m.instance
	return request[*kmsg.HeartbeatResponse](m.t, m.cl, req).ErrorCode
}

// commit commits offset for partition 0 of topic as this member, and
// returns the code.
func (m *groupMember) commit(topic string, offset int64) int16 {
	m.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation, req.InstanceID = m.group, m.id, m.generation, m.instance
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, TopicID: topicIDOf(m.t, m.cl, topic), // by id from v10
		Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: offset}}}}
	resp, err := req.RequestWith(testCtx(m.t), m.cl)
	if err != nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		m.t.Fatalf("offset commit: %v %+v", err, resp)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

func describeGroup(t *testing.T, cl *kgo.Client, group string) kmsg.DescribeGroupsResponseGroup {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil || len(resp.Groups) != 1 {
		t.Fatalf("describe %s: %v %+v", group, err, resp)
	}
	return resp.Groups[0]
}

func mustCode(t *testing.T, what string, got int16, want error) {
	t.Helper()
	if err := kerr.ErrorForCode(got); err != want {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

// TestGroupStateSurvivesRestart joins a member, SIGKILLs and restarts the
// node: the group comes back Stable from __consumer_offsets, and the member
// goes on heartbeating in the same generation with the same assignment,
// without a rebalance.
func TestGroupStateSurvivesRestart(t *testing.T) {
	c := harness.StartT(t, 1, "group.initial.rebalance.delay.ms=0")
	m := &groupMember{t: t, cl: client(t, c), group: "persist"}
	mustCode(t, "join", m.join(), nil)
	if code, got := m.sync("plan-A"); code != 0 || got != "plan-A" {
		t.Fatalf("sync: %v %q", kerr.ErrorForCode(code), got)
	}
	c.Nodes[0].Kill()
	restart(t, c.Nodes[0])
	m.cl = client(t, c)
	mustCode(t, "heartbeat after restart", m.heartbeat(), nil)
	if code, got := m.sync(""); code != 0 || got != "plan-A" {
		t.Fatalf("sync after restart: %v %q, want the stored assignment", kerr.ErrorForCode(code), got)
	}
	g := describeGroup(t, m.cl, "persist")
	if g.State != "Stable" || len(g.Members) != 1 || g.Members[0].MemberID != m.id {
		t.Fatalf("after restart: state %s, members %+v", g.State, g.Members)
	}
}

// TestStaticMembership follows KIP-345: a static member joins without
// MEMBER_ID_REQUIRED; when its process restarts and joins again under the
// same group.instance.id, it gets a new member id in the same generation
// (no rebalance; the leader is told to skip assignment) and keeps its
// assignment, while the old member id is fenced; it leaves by instance id.
func TestStaticMembership(t *testing.T) {
	c := harness.StartT(t, 1, "group.initial.rebalance.delay.ms=0")
	cl := client(t, c)
	first := &groupMember{t: t, cl: cl, group: "static", instance: kmsg.StringPtr("host-1")}
	mustCode(t, "static join", first.join(), nil)
	if code, _ := first.sync("plan-A"); code != 0 {
		t.Fatalf("sync: %v", kerr.ErrorForCode(code))
	}
	again := &groupMember{t: t, cl: cl, group: "static", instance: kmsg.StringPtr("host-1")}
	mustCode(t, "rejoin after a restart", again.join(), nil)
	if again.id == first.id || again.generation != first.generation || !again.leader || !again.skip {
		t.Fatalf("rejoin: id %s (was %s), generation %d (was %d), leader %v, skip assignment %v",
			again.id, first.id, again.generation, first.generation, again.leader, again.skip)
	}
	if code, got := again.sync(""); code != 0 || got != "plan-A" {
		t.Fatalf("sync after rejoin: %v %q, want the assignment kept", kerr.ErrorForCode(code), got)
	}
	mustCode(t, "heartbeat from the replaced process", first.heartbeat(), kerr.FencedInstanceID)
	mustCode(t, "heartbeat from the new process", again.heartbeat(), nil)

	// A leader that knows no SkipAssignment (JoinGroup v5, as librdkafka
	// sends) restarts: Kafka keeps the group stable and shows it the old
	// leader id, so it takes itself for a follower and just syncs.
	old := &groupMember{t: t, cl: cl, group: "static", instance: kmsg.StringPtr("host-1"),
		version: 5, raw: dialRaw(t, c)}
	mustCode(t, "v5 rejoin after a restart", old.join(), nil)
	if old.generation != again.generation || old.leader {
		t.Fatalf("v5 rejoin: generation %d (was %d), told it leads %v", old.generation, again.generation, old.leader)
	}
	if code, got := old.sync(""); code != 0 || got != "plan-A" {
		t.Fatalf("sync after the v5 rejoin: %v %q, want the assignment kept", kerr.ErrorForCode(code), got)
	}
	if g := describeGroup(t, cl, "static"); g.State != "Stable" {
		t.Fatalf("after the v5 leader's rejoin the group is %s, want Stable", g.State)
	}
	again = old

	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group = "static"
	leave.Members = []kmsg.LeaveGroupRequestMember{{InstanceID: kmsg.StringPtr("host-1")}}
	resp, err := leave.RequestWith(testCtx(t), cl)
	if err != nil || resp.ErrorCode != 0 || len(resp.Members) != 1 || resp.Members[0].ErrorCode != 0 {
		t.Fatalf("leave by instance id: %v %+v", err, resp)
	}
	if g := describeGroup(t, cl, "static"); g.State != "Empty" || len(g.Members) != 0 {
		t.Fatalf("after leaving: state %s, %d members", g.State, len(g.Members))
	}
}

// TestOffsetsExpire commits one offset with a retention time of its own
// (OffsetCommit v2) and one with the broker's default: the first is gone
// once its time passes, the second stays.
func TestOffsetsExpire(t *testing.T) {
	c := harness.StartT(t, 1, "offsets.retention.check.interval.ms=200")
	createTopic(t, c, "exp", 2, nil)
	cl := client(t, c)
	// kgo would send its newest OffsetCommit version, which has no
	// retention field; a raw connection sends v2 as written.
	rc, corr := dialRaw(t, c), int32(0)
	commit := func(partition int32, retention int64) {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version, req.Group, req.Generation, req.RetentionTimeMillis = 2, "expiring", -1, retention
		req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "exp",
			Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: partition, Offset: 5}}}}
		for {
			corr++
			rc.send(req, corr)
			code := rc.recv(req, corr).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
			if code == kerr.CoordinatorLoadInProgress.Code || code == kerr.CoordinatorNotAvailable.Code {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			mustCode(t, "commit", code, nil)
			return
		}
	}
	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorKey = "expiring"
	if _, err := find.RequestWith(testCtx(t), cl); err != nil { // creates __consumer_offsets
		t.Fatal(err)
	}
	commit(0, 1000)
	commit(1, -1)
	committed := func() map[int32]int64 {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version, req.Group = 5, "expiring"
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "exp", Partitions: []int32{0, 1}}}
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("offset fetch: %v %+v", err, resp)
		}
		out := map[int32]int64{}
		for _, p := range resp.Topics[0].Partitions {
			out[p.Partition] = p.Offset
		}
		return out
	}
	if got := committed(); got[0] != 5 || got[1] != 5 {
		t.Fatalf("right after the commits: %v", got)
	}
	harness.WaitFor(t, "the offset with a 1s retention expiring", 10*time.Second, func() bool { return committed()[0] == -1 })
	if got := committed(); got[1] != 5 {
		t.Fatalf("the offset with the default retention: %v", got)
	}
	// The expiry is a tombstone in __consumer_offsets, not only a change
	// in memory.
	c.Nodes[0].Kill()
	restart(t, c.Nodes[0])
	cl = client(t, c)
	harness.WaitFor(t, "offsets readable after restart", 10*time.Second, func() bool {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Group = "expiring"
		resp, err := req.RequestWith(testCtx(t), cl)
		return err == nil && resp.ErrorCode == 0 && len(resp.Groups) == 1 && resp.Groups[0].ErrorCode == 0
	})
	if got := committed(); got[0] != -1 || got[1] != 5 {
		t.Fatalf("after restart: %v, want partition 0 expired and 1 kept", got)
	}
}

// TestGroupErrorCodes provokes each of the classic protocol's errors where
// Kafka returns it.
func TestGroupErrorCodes(t *testing.T) {
	c := harness.StartT(t, 1, "group.initial.rebalance.delay.ms=0", "group.max.size=2")
	createTopic(t, c, "errs-t", 1, nil)
	cl := client(t, c)
	member := func() *groupMember { return &groupMember{t: t, cl: cl, group: "errs"} }
	mustCode(t, "join with an empty group id", (&groupMember{t: t, cl: cl}).join(), kerr.InvalidGroupID)

	short := kmsg.NewPtrJoinGroupRequest()
	short.Group, short.SessionTimeoutMillis, short.RebalanceTimeoutMillis = "errs", 1000, 1000
	short.ProtocolType, short.Protocols = "consumer", []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	mustCode(t, "session below group.min.session.timeout.ms",
		request[*kmsg.JoinGroupResponse](t, cl, short).ErrorCode, kerr.InvalidSessionTimeout)

	a := member()
	mustCode(t, "first join", a.join(), nil)
	if code, _ := a.sync("plan"); code != 0 {
		t.Fatalf("sync: %v", kerr.ErrorForCode(code))
	}
	other := kmsg.NewPtrJoinGroupRequest()
	other.Group, other.SessionTimeoutMillis, other.RebalanceTimeoutMillis = "errs", 10000, 10000
	other.ProtocolType, other.Protocols = "consumer", []kmsg.JoinGroupRequestProtocol{{Name: "roundrobin"}}
	mustCode(t, "a protocol no member supports",
		request[*kmsg.JoinGroupResponse](t, cl, other).ErrorCode, kerr.InconsistentGroupProtocol)

	stranger := member()
	stranger.id, stranger.generation = "nobody", a.generation
	mustCode(t, "heartbeat from an unknown member", stranger.heartbeat(), kerr.UnknownMemberID)
	stale := *a
	stale.generation += 5
	mustCode(t, "heartbeat from another generation", stale.heartbeat(), kerr.IllegalGeneration)

	// A second member joining starts a rebalance: the first hears of it in
	// its heartbeat and rejoins, and both get the next generation.
	b := member()
	joined := make(chan int16)
	go func() { joined <- b.join() }()
	harness.WaitFor(t, "the rebalance announced to the first member", 10*time.Second, func() bool {
		return a.heartbeat() == kerr.RebalanceInProgress.Code
	})
	// An eager consumer commits in its revoke callback, before it rejoins:
	// Kafka takes that commit while the group prepares the rebalance.
	mustCode(t, "commit while the group prepares a rebalance", a.commit("errs-t", 7), nil)
	mustCode(t, "rejoin", a.join(), nil)
	mustCode(t, "second member's join", <-joined, nil)
	if a.generation != b.generation || a.generation < 2 {
		t.Fatalf("generations %d and %d after the rebalance", a.generation, b.generation)
	}
	mustCode(t, "a third member beyond group.max.size=2", member().join(), kerr.GroupMaxSizeReached)
}

// TestOffsetsTopicNeedsBrokers asks for a group coordinator on one node
// configured for offsets.topic.replication.factor=3: the answer is the
// retriable COORDINATOR_NOT_AVAILABLE, and the log says why.
func TestOffsetsTopicNeedsBrokers(t *testing.T) {
	c := harness.StartT(t, 1, "offsets.topic.replication.factor=3")
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKeys = []string{"lonely"}
	resp, err := req.RequestWith(testCtx(t), client(t, c))
	if err != nil || len(resp.Coordinators) != 1 {
		t.Fatalf("find coordinator: %v %+v", err, resp)
	}
	mustCode(t, "coordinator of a group without __consumer_offsets", resp.Coordinators[0].ErrorCode, kerr.CoordinatorNotAvailable)
	harness.WaitFor(t, "a log line naming offsets.topic.replication.factor", 5*time.Second, func() bool {
		log := c.Nodes[0].Log()
		return strings.Contains(log, "cannot create __consumer_offsets") && strings.Contains(log, "offsets.topic.replication.factor=3")
	})
}
