package group

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// syncLog is a PartitionWriter over several partitions in memory, safe
// for concurrent use; while held is set, appends wait until it is closed,
// as a slow disk would keep them.
type syncLog struct {
	mu       sync.Mutex
	parts    map[int32]*memLog
	held     chan struct{}
	appended chan struct{} // told, when held is set, that an append waits
}

func (s *syncLog) part(p int32) *memLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parts[p] == nil {
		s.parts[p] = &memLog{}
	}
	return s.parts[p]
}

func (s *syncLog) Append(p int32, batch []byte, guard uint64, acked func(error)) (int64, error) {
	s.mu.Lock()
	held, appended := s.held, s.appended
	s.mu.Unlock()
	if held != nil {
		appended <- struct{}{}
		<-held
	}
	m := s.part(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.Append(p, batch, guard, acked)
}

func (s *syncLog) VerifyTxn(int32, string, int64, int16, bool) (uint64, error) { return 0, nil }
func (s *syncLog) Leading(int32) (int32, bool)                                 { return 0, true }
func (s *syncLog) AwaitCommitted(int32, int32) error                           { return nil }

func (s *syncLog) Bounds(p int32) (int64, int64, error) {
	m := s.part(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.Bounds(p)
}

func (s *syncLog) Read(p int32, offset, end int64) ([]byte, error) {
	m := s.part(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.Read(p, offset, end)
}

// fourPartitions is a Cluster whose __consumer_offsets has four
// partitions and whose topic t has one.
type fourPartitions struct{ oneTopic }

func (fourPartitions) OffsetsPartitions() (int32, bool) { return 4, true }

func servingAll(t *testing.T, s *syncLog) *Coordinator {
	t.Helper()
	cfg := DefaultConfig()
	cfg.InitialRebalanceDelay = 0
	gc := New(cfg, s, fourPartitions{}, discard, func() {})
	for p := range int32(4) {
		gc.Load(p, 0)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p := range int32(4) {
		for {
			gc.mu.Lock()
			_, ok := gc.loaded[p]
			gc.mu.Unlock()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("partition %d never loaded", p)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return gc
}

// joinAndSync makes a static member of a one-member group, Stable at
// generation 1, and returns its member id.
func joinAndSync(t *testing.T, gc *Coordinator, group string) string {
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = group, "consumer", 10000, 10000
	join.InstanceID = kmsg.StringPtr("i")
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{1}}}
	joined := make(chan *kmsg.JoinGroupResponse, 1)
	gc.JoinGroup(join, Client{ID: "c", Host: "/127.0.0.1"}, func(r *kmsg.JoinGroupResponse) { joined <- r })
	r := <-joined
	if r.ErrorCode != 0 {
		t.Errorf("%s: join: %v", group, protocol.ErrorCode(r.ErrorCode))
		return ""
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation, sync.InstanceID = group, r.MemberID, r.Generation, join.InstanceID
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: r.MemberID, MemberAssignment: []byte(group)}}
	synced := make(chan *kmsg.SyncGroupResponse, 1)
	gc.SyncGroup(sync, func(r *kmsg.SyncGroupResponse) { synced <- r })
	if s := <-synced; s.ErrorCode != 0 || string(s.MemberAssignment) != group {
		t.Errorf("%s: sync: %v, assignment %q", group, protocol.ErrorCode(s.ErrorCode), s.MemberAssignment)
	}
	return r.MemberID
}

// TestConcurrentGroups runs twenty groups at once (run it with -race):
// each joins, syncs, commits fifty offsets one after another, heartbeats
// and fetches between commits, while other goroutines list, describe and
// count the groups. Every group ends Stable with its last offset.
func TestConcurrentGroups(t *testing.T) {
	gc := servingAll(t, &syncLog{parts: map[int32]*memLog{}})
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			gc.ListGroups(nil, func(string) bool { return true })
			gc.DescribeGroup("g3")
			gc.Stats()
			gc.expireSessions(time.Now())
			gc.EachCommitted(func(string, klog.TopicPartition, Offset) {})
		}
	}()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			group := fmt.Sprintf("g%d", i)
			member := joinAndSync(t, gc, group)
			for n := range int64(50) {
				req := kmsg.NewPtrOffsetCommitRequest()
				req.Group, req.MemberID, req.Generation = group, member, 1
				done := make(chan protocol.ErrorCode, 1)
				gc.CommitOffsets(req, PartitionOffsets{tp0: {Offset: n}}, func(c protocol.ErrorCode) { done <- c })
				if code := <-done; code != protocol.None {
					t.Errorf("%s: commit %d: %v", group, n, code)
					return
				}
				hb := kmsg.NewPtrHeartbeatRequest()
				hb.Group, hb.MemberID, hb.Generation = group, member, 1
				if code := gc.Heartbeat(hb).ErrorCode; code != 0 {
					t.Errorf("%s: heartbeat: %v", group, protocol.ErrorCode(code))
				}
				out := gc.FetchOffsets(group, []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}, false, false)
				if got := out.Topics[0].Partitions[0].Offset; got != n {
					t.Errorf("%s: fetched %d after committing %d", group, got, n)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if s := gc.Stats(); s.Groups["Stable"] != 20 || s.Offsets != 20 || s.OffsetCommits != 20*50 {
		t.Fatalf("stats %+v: want 20 Stable groups, 20 offsets, 1000 commits", s)
	}
}

// TestNoLockAcrossAnAppend holds a group's commit in its append, as a slow
// disk would, and meanwhile serves the same group's heartbeat and offset
// fetch, another group's join, and a listing: no lock of the coordinator
// is held while the append waits. The commit completes once it is let go.
func TestNoLockAcrossAnAppend(t *testing.T) {
	s := &syncLog{parts: map[int32]*memLog{}}
	gc := servingAll(t, s)
	member := joinAndSync(t, gc, "slow")

	s.mu.Lock()
	s.held, s.appended = make(chan struct{}), make(chan struct{})
	s.mu.Unlock()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = "slow", member, 1
	committed := make(chan protocol.ErrorCode, 1)
	go gc.CommitOffsets(req, PartitionOffsets{tp0: {Offset: 3}}, func(c protocol.ErrorCode) { committed <- c })
	<-s.appended // the commit's append waits on the disk

	served := make(chan string, 4)
	go func() {
		hb := kmsg.NewPtrHeartbeatRequest()
		hb.Group, hb.MemberID, hb.Generation = "slow", member, 1
		served <- fmt.Sprintf("heartbeat %d", gc.Heartbeat(hb).ErrorCode)
		out := gc.FetchOffsets("slow", []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}, false, false)
		served <- fmt.Sprintf("fetch %d", out.Topics[0].Partitions[0].Offset)
		join := kmsg.NewPtrJoinGroupRequest()
		join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "other", "consumer", 10000, 10000
		join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
		join.Version = 4
		gc.JoinGroup(join, Client{ID: "c"}, func(r *kmsg.JoinGroupResponse) {
			served <- fmt.Sprintf("join %d", r.ErrorCode)
		})
		served <- fmt.Sprintf("list %d", len(gc.ListGroups(nil, func(string) bool { return true })))
	}()
	// The held commit is not visible yet; the other group is told to
	// come back with the member id it is handed (KIP-394).
	for _, want := range []string{"heartbeat 0", "fetch -1", fmt.Sprintf("join %d", protocol.MemberIDRequired), "list 1"} {
		select {
		case got := <-served:
			if got != want {
				t.Errorf("served %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q waits for the append in flight", want)
		}
	}
	close(s.held)
	select {
	case code := <-committed:
		if code != protocol.None {
			t.Fatalf("commit: %v", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held commit never completed")
	}
}
