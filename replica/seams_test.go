package replica

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

// Tests of the replica manager through its seams, without a network: a
// controller that commits or refuses ISR changes as Kafka's does, and a
// leader that answers the fetcher's requests.

// fakeController holds an image and applies AlterPartition to it the way
// the controller does: a change naming the current partition epoch
// commits and bumps it, any other is refused. With refuse set it refuses
// everything.
type fakeController struct {
	mu       sync.Mutex
	md       *coordinator.Metadata
	refuse   bool
	asked    []alterSeen
	barriers int
}

// alterSeen is one AlterPartition change as the controller received it.
type alterSeen struct {
	req coordinator.AlterPartition
	at  time.Time
}

var errStaleEpoch = errors.New("stale partition epoch")

func (c *fakeController) Metadata() *coordinator.Metadata {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.md
}

func (c *fakeController) Subscribe() (<-chan struct{}, func()) { return make(chan struct{}), func() {} }

func (c *fakeController) AlterPartitions(_ context.Context, reqs []coordinator.AlterPartition) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(reqs))
	for i, r := range reqs {
		c.asked = append(c.asked, alterSeen{r, time.Now()})
		t := *c.md.Topic(r.Topic)
		t.Partitions = slices.Clone(t.Partitions)
		st := &t.Partitions[r.Partition]
		if c.refuse || st.PartitionEpoch != r.PartitionEpoch || st.LeaderEpoch != r.LeaderEpoch {
			errs[i] = errStaleEpoch
			continue
		}
		st.ISR, st.PartitionEpoch = slices.Clone(r.ISR), st.PartitionEpoch+1
		c.md = c.md.WithTopics(c.md.AppliedIndex+1, &t)
	}
	return errs, nil
}

func (c *fakeController) Barrier(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.barriers++
	return nil
}

func (c *fakeController) seen() []alterSeen {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.asked)
}

// ledBy1 is an image at index idx of the named topics, one partition
// each, led by broker 1 in epoch 0 with replicas and ISR 1,2,3.
func ledBy1(idx uint64, names ...string) *coordinator.Metadata {
	md := image(idx, names...)
	for _, n := range names {
		st := &md.Topic(n).Partitions[0]
		st.Replicas, st.ISR = []int32{1, 2, 3}, []int32{1, 2, 3}
	}
	return md
}

// feedFollower has follower id fetch at the log end of every replica of
// rm every few milliseconds until the test ends, as a follower that keeps
// up does.
func feedFollower(t *testing.T, rm *Manager, id int32) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			for _, p := range rm.All() {
				p.FollowerFetched(id, 0, p.log.LogEndOffset(), true, time.Minute, time.Now())
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
}

// A follower that stops fetching leaves the ISR of every partition after
// replica.lag.time.max.ms: the ISR loop asks the controller once per
// partition, the replica adopts the committed ISR, and nothing more is
// asked while the follower that keeps up stays.
func TestISRLoopShrinksLaggingFollowerOnce(t *testing.T) {
	ctrl := &fakeController{md: ledBy1(3, "a", "b", "c")}
	rm := newManagerWith(t, Config{NodeID: 1, ReplicaLagTimeMax: time.Second, MetadataChangeTimeout: 5 * time.Second}, ctrl, nil)
	rm.Start()
	t.Cleanup(rm.Stop)
	feedFollower(t, rm, 2) // follower 3 never fetches

	eventually(t, func() bool {
		for _, p := range rm.All() {
			if p.InISR(3) || !p.InISR(2) {
				return false
			}
		}
		return len(rm.All()) == 3
	})
	// The ISR loop looks every 50 ms: give it a few looks at the settled
	// state before counting what it asked.
	time.Sleep(300 * time.Millisecond)
	asked := ctrl.seen()
	if len(asked) != 3 {
		t.Fatalf("controller asked %d changes, want one per partition: %+v", len(asked), asked)
	}
	for _, a := range asked {
		if !slices.Equal(a.req.ISR, []int32{1, 2}) || a.req.PartitionEpoch != 0 {
			t.Errorf("%s-%d: asked ISR %v at partition epoch %d, want 1,2 at 0", a.req.Topic, a.req.Partition, a.req.ISR, a.req.PartitionEpoch)
		}
	}
}

// A refused change brings the image up to date with a barrier, and the
// partition asks again only after isrRetryBackoff: a refusal repeated at
// every look of the ISR loop was a storm at the controller.
func TestRefusedISRChangeWaitsBeforeAskingAgain(t *testing.T) {
	ctrl := &fakeController{md: ledBy1(3, "a"), refuse: true}
	rm := newManagerWith(t, Config{NodeID: 1, ReplicaLagTimeMax: 100 * time.Millisecond, MetadataChangeTimeout: 5 * time.Second}, ctrl, nil)
	rm.Start()
	t.Cleanup(rm.Stop)

	eventually(t, func() bool { return len(ctrl.seen()) >= 2 })
	asked := ctrl.seen()
	if gap := asked[1].at.Sub(asked[0].at); gap < isrRetryBackoff {
		t.Errorf("asked again %v after a refusal, want at least %v", gap, isrRetryBackoff)
	}
	ctrl.mu.Lock()
	barriers := ctrl.barriers
	ctrl.mu.Unlock()
	if barriers == 0 {
		t.Error("no barrier after a refused change")
	}
	if p := rm.Get(klog.TopicPartition{Topic: "a"}); !p.InISR(3) {
		t.Error("a refused shrink changed the ISR")
	}
}

// A follower that keeps fetching what the leader held at its previous
// fetch is caught up as of that fetch (Kafka's Replica.updateFetchState),
// so steady appends do not push it out of the ISR; one that stops
// fetching for replica.lag.time.max.ms leaves it.
func TestFollowerCaughtUpAsOfItsPreviousFetch(t *testing.T) {
	p := leaderOf(t) // log end 3, ISR 1,3
	lag := time.Second
	t0 := time.Now()
	p.FollowerFetched(3, 0, 3, true, lag, t0) // at the log end
	appendRecords(t, p, "d", "e", "f")        // log end 6
	p.FollowerFetched(3, 0, 3, true, lag, t0.Add(800*time.Millisecond))
	appendRecords(t, p, "g", "h", "i") // log end 9
	p.FollowerFetched(3, 0, 6, true, lag, t0.Add(1600*time.Millisecond))
	if req, _, ok := p.nextISR(-1, lag, t0.Add(1600*time.Millisecond)); ok {
		t.Fatalf("follower 3, caught up as of 0.8 s, shrunk at 1.6 s with lag %v: %+v", lag, req)
	}
	req, _, ok := p.nextISR(-1, lag, t0.Add(1900*time.Millisecond))
	if !ok || !slices.Equal(req.ISR, []int32{1}) {
		t.Fatalf("follower 3, last caught up 1.1 s ago: request %+v, %v; want ISR 1", req, ok)
	}
}

func appendRecords(t *testing.T, p *Partition, values ...string) {
	t.Helper()
	if _, err := p.AppendAsLeader(prototest.Plain(0, values...).Encode(), 1); err != nil {
		t.Fatal(err)
	}
}

// The high watermark never moves back on the leader: a follower's fetch
// at an older offset (a retry, a late request) leaves it where it is.
func TestHighWatermarkNeverMovesBack(t *testing.T) {
	p := leaderOf(t) // log end 3, ISR 1,3
	now := time.Now()
	p.FollowerFetched(3, 0, 3, true, time.Minute, now)
	if hw := p.HighWatermark(); hw != 3 {
		t.Fatalf("high watermark %d with the ISR at 3, want 3", hw)
	}
	p.FollowerFetched(3, 0, 1, true, time.Minute, now)
	if hw := p.HighWatermark(); hw != 3 {
		t.Fatalf("high watermark %d after a fetch at 1, want 3", hw)
	}
}

// leaderPeer answers a follower's fetcher as broker 2 leading t-0 in
// epoch 1 does: its epoch 0 ended at offset 2, and it holds one record of
// epoch 1 at offset 2, committed.
type leaderPeer struct {
	mu    sync.Mutex
	asked []kmsg.Request
	// notLeaderOf names a topic whose partitions the peer does not lead:
	// their fetches answer NOT_LEADER_OR_FOLLOWER.
	notLeaderOf string
}

func (l *leaderPeer) Request(req kmsg.Request, _ time.Duration) (kmsg.Response, error) {
	l.mu.Lock()
	l.asked = append(l.asked, req)
	l.mu.Unlock()
	switch req := req.(type) {
	case *kmsg.OffsetForLeaderEpochRequest:
		resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
		for _, rt := range req.Topics {
			t := kmsg.NewOffsetForLeaderEpochResponseTopic()
			t.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				p := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
				p.Partition, p.LeaderEpoch, p.EndOffset = rp.Partition, 0, 2
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil
	case *kmsg.FetchRequest:
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		for _, rt := range req.Topics {
			t := kmsg.NewFetchResponseTopic()
			t.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				p := kmsg.NewFetchResponseTopicPartition()
				p.Partition, p.HighWatermark = rp.Partition, 3
				if rt.Topic == l.notLeaderOf {
					p.ErrorCode = int16(protocol.NotLeaderOrFollower)
				}
				if rp.FetchOffset == 2 {
					batch := prototest.Plain(0, "x").Encode()
					protocol.SetBaseOffset(batch, 2)
					protocol.SetPartitionLeaderEpoch(batch, 1)
					p.RecordBatches = batch
				}
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		time.Sleep(5 * time.Millisecond) // as a leader's max wait, shortened
		return resp, nil
	}
	return nil, errors.New("unexpected request")
}

func (l *leaderPeer) Close() {}

// A replica that becomes a follower first cuts its log back to where it
// agrees with the new leader (OffsetForLeaderEpoch), then fetches from
// there and takes the leader's high watermark: the record of epoch 0 at
// offset 2, which the new leader never had, is gone.
func TestFollowerTruncatesToTheLeaderThenFetches(t *testing.T) {
	md := image(3, "t")
	md.Topic("t").Partitions[0].Replicas = []int32{1, 2}
	md.Topic("t").Partitions[0].ISR = []int32{1, 2} // follower 2 never fetches: nothing commits
	ctrl := &fakeController{md: md}
	leader := &leaderPeer{}
	dialed := make(chan int32, 10)
	rm := newManagerWith(t, Config{NodeID: 1, ReplicaLagTimeMax: time.Minute, MetadataChangeTimeout: 5 * time.Second}, ctrl,
		func(id int32) (Peer, error) {
			dialed <- id
			return leader, nil
		})
	t.Cleanup(rm.Stop)
	rm.Reconcile(md)
	p := rm.Get(klog.TopicPartition{Topic: "t"})
	for _, v := range []string{"a", "b", "c"} { // epoch 0, offsets 0-2, one batch each
		appendRecords(t, p, v)
	}

	st := md.Topic("t").Partitions[0]
	st.Leader, st.LeaderEpoch, st.ISR = 2, 1, []int32{2}
	moved := *md.Topic("t")
	moved.Partitions = []coordinator.Partition{st}
	next := md.WithTopics(4, &moved)
	ctrl.mu.Lock()
	ctrl.md = next
	ctrl.mu.Unlock()
	rm.Reconcile(next)

	eventually(t, func() bool { return p.HighWatermark() == 3 })
	if id := <-dialed; id != 2 {
		t.Errorf("dialed broker %d, want the leader 2", id)
	}
	if epoch, end := p.log.EndOffsetForEpoch(0); epoch != 0 || end != 2 {
		t.Errorf("epoch 0 ends at %d (epoch %d), want 2: not truncated to the leader", end, epoch)
	}
	if end, epoch := p.log.LogEndOffset(), p.log.LatestEpoch(); end != 3 || epoch != 1 {
		t.Errorf("log end %d, latest epoch %d; want 3 and 1", end, epoch)
	}
	leader.mu.Lock()
	first := leader.asked[0]
	leader.mu.Unlock()
	if _, ok := first.(*kmsg.OffsetForLeaderEpochRequest); !ok {
		t.Errorf("first request %T, want OffsetForLeaderEpoch before any fetch", first)
	}
}

// One partition's error holds back that partition only: the others go
// on being fetched over the same connection, where the error used to
// close it and fail the round for every partition of the leader.
func TestFetchErrorHoldsBackItsPartitionOnly(t *testing.T) {
	md := image(3, "good", "bad")
	for _, n := range []string{"good", "bad"} {
		st := &md.Topic(n).Partitions[0]
		st.Leader, st.LeaderEpoch, st.Replicas, st.ISR = 2, 1, []int32{2, 1}, []int32{2, 1}
	}
	leader := &leaderPeer{notLeaderOf: "bad"}
	var dials sync.Map
	rm := newManagerWith(t, Config{NodeID: 1, ReplicaLagTimeMax: time.Minute, MetadataChangeTimeout: 5 * time.Second},
		&fakeController{md: md}, func(id int32) (Peer, error) {
			n, _ := dials.LoadOrStore(id, new(int))
			*n.(*int)++
			return leader, nil
		})
	stop := sync.OnceFunc(rm.Stop)
	t.Cleanup(stop)
	rm.Reconcile(md)

	fetches := func(topic string) int {
		leader.mu.Lock()
		defer leader.mu.Unlock()
		n := 0
		for _, r := range leader.asked {
			if f, ok := r.(*kmsg.FetchRequest); ok && slices.ContainsFunc(f.Topics, func(rt kmsg.FetchRequestTopic) bool { return rt.Topic == topic }) {
				n++
			}
		}
		return n
	}
	eventually(t, func() bool { return fetches("good") >= 40 })
	stop()
	if n, _ := dials.Load(int32(2)); *n.(*int) != 1 {
		t.Errorf("dialed the leader %d times, want once: an error of one partition closed the connection", *n.(*int))
	}
	if good, bad := fetches("good"), fetches("bad"); bad > good/4 {
		t.Errorf("bad, answered NOT_LEADER_OR_FOLLOWER, was fetched %d times against good's %d: not held back", bad, good)
	}
}

// gatedHost is testHost whose reconciles wait, once armed, until the
// gate opens: a broker too busy to apply what the controller committed.
type gatedHost struct {
	testHost
	gate *atomic.Pointer[chan struct{}]
}

func (h gatedHost) ApplyConfigs(*coordinator.Metadata) {
	if g := h.gate.Load(); g != nil {
		<-*g
	}
}

// An answered batch is settled (this broker reconciles its outcome)
// while the next is sent: a slow reconcile used to hold back every
// other change of the broker until it ended.
func TestISRChangesAreSentWhileTheLastAreSettled(t *testing.T) {
	md := ledBy1(3, "a", "b")
	ctrl := &fakeController{md: md}
	logs, gate := testLogs(t), new(atomic.Pointer[chan struct{}])
	rm := New(context.Background(), Config{NodeID: 1, ReplicaLagTimeMax: time.Minute, MetadataChangeTimeout: 5 * time.Second},
		logs, ctrl, gatedHost{testHost{logs, nil}, gate}, nil, quiet)
	rm.Start()
	open := make(chan struct{})
	gate.Store(&open)
	t.Cleanup(func() {
		close(open)
		rm.Stop()
	})

	shrink := func(topic string) {
		p := rm.Get(klog.TopicPartition{Topic: topic})
		rm.ChangeISR(p, coordinator.AlterPartition{Topic: topic, Leader: 1, ISR: []int32{1, 2}}, 0)
	}
	asked := func(topic string) bool {
		return slices.ContainsFunc(ctrl.seen(), func(a alterSeen) bool { return a.req.Topic == topic })
	}
	shrink("a")
	eventually(t, func() bool { return asked("a") }) // its settling now waits at the gate
	shrink("b")
	eventually(t, func() bool { return asked("b") })
}
