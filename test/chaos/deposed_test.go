package chaos

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	grp "github.com/gokafka/gokafka/group"
)

// probe is one answer of the deposed node: when its request was sent and
// whether it answered from its state as leader or coordinator.
type probe struct {
	sent     time.Time
	answered bool
	epoch    int32
}

// TestDeposedNodeStopsServing cuts a node that leads a partition and
// coordinates a group (not the controller) off from its peers, clients
// still reaching it, for three session timeouts, and asks it directly,
// the whole time and for 5 s after the heal, for the partition's high
// watermark (ListOffsets) and the group's committed offsets (OffsetFetch).
// Once the metadata of another node names a new leader (coordinator), an
// answer the deposed node gives from its old state is stale: it must say
// NOT_LEADER_OR_FOLLOWER (NOT_COORDINATOR). Its lease with the controller
// runs out before the controller can fence it, so there must be none,
// during the cut or after the heal, before it has caught up. The other
// nodes must name the new leader within the session timeout plus
// electionSlack of the cut.
func TestDeposedNodeStopsServing(t *testing.T) {
	c := startCluster(t)
	tps := c.createTopics([]string{"deposed"}, 1)
	tp, groupID := tps[0], "deposed-group"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.admin)
	commit := func(offset int64) {
		t.Helper()
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: tp.Topic, Partition: tp.Partition, At: offset, LeaderEpoch: -1})
		resp, err := adm.CommitOffsets(ctx, groupID, os)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	commit(0) // creates __consumer_offsets
	offsetsTP := TP{"__consumer_offsets", grp.PartitionFor(groupID, 6)}
	target := c.controller()%3 + 1
	c.makeLeader([]TP{tp, offsetsTP}, target)
	for i := range 10 {
		if err := c.admin.ProduceSync(ctx, &kgo.Record{Topic: tp.Topic, Partition: tp.Partition, Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	commit(5)
	if ctrl := c.controller(); ctrl == target {
		t.Fatalf("node %d became the controller; the case needs another", target)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var hws, fetches []probe
	var newLeader, newCoordinator time.Time // when another node's metadata first named one
	br := c.admin.Broker(int(target))
	watcher := c.admin.Broker(int(target%3 + 1))
	every := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				fn()
			}
		}()
	}
	every(func() {
		p := askHW(br, tp)
		mu.Lock()
		hws = append(hws, p)
		mu.Unlock()
	})
	every(func() {
		p := askCommitted(br, groupID)
		mu.Lock()
		fetches = append(fetches, p)
		mu.Unlock()
	})
	every(func() {
		ls := leadersFrom(watcher)
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if l, ok := ls[tp]; ok && l != target && newLeader.IsZero() {
			newLeader = now
		}
		if l, ok := ls[offsetsTP]; ok && l != target && newCoordinator.IsZero() {
			newCoordinator = now
		}
	})

	time.Sleep(time.Second) // answers from the leader in force
	cut := time.Now()
	if err := c.dropFrom(target, c.others(target)...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * sessionTimeout)
	if err := c.undrop(target); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	time.Sleep(5 * time.Second)
	close(stop)
	wg.Wait()

	t.Logf("node %d cut at %s, healed at %s; new leader seen %s, new coordinator %s", target,
		cut.Format("15:04:05.000"), healed.Format("15:04:05.000"), newLeader.Format("15:04:05.000"), newCoordinator.Format("15:04:05.000"))
	if newLeader.IsZero() || newCoordinator.IsZero() {
		t.Fatalf("no other node led %s or coordinated %s: the cut deposed nobody", tp, offsetsTP)
	}
	// The rest of the cluster names the new leader (so that clients move
	// to it) once the controller has fenced the node and elected another.
	if took := newLeader.Sub(cut); took > sessionTimeout+electionSlack {
		t.Errorf("the other nodes named a new leader of %s %v after the cut, want <= %v", tp, took.Round(time.Millisecond), sessionTimeout+electionSlack)
	}
	checkStale(t, "ListOffsets", hws, cut, newLeader)
	checkStale(t, "OffsetFetch", fetches, cut, newCoordinator)
}

// checkStale fails on every answer from state as leader sent after
// deposed, and on none before cut (the probe saw nothing to go stale).
func checkStale(t *testing.T, what string, ps []probe, cut, deposed time.Time) {
	t.Helper()
	before, stale, lastServed := 0, 0, time.Time{}
	for _, p := range ps {
		if !p.answered {
			continue
		}
		lastServed = p.sent
		switch {
		case p.sent.Before(cut):
			before++
		case p.sent.After(deposed):
			stale++
			if stale <= 5 {
				t.Errorf("%s sent at %s, after another node took over at %s, answered from the old state (epoch %d)",
					what, p.sent.Format("15:04:05.000"), deposed.Format("15:04:05.000"), p.epoch)
			}
		}
	}
	t.Logf("%s: %d probes, %d answered before the cut, the last answered one sent %s, %d stale",
		what, len(ps), before, lastServed.Format("15:04:05.000"), stale)
	if before == 0 {
		t.Errorf("%s: no answer before the cut", what)
	}
}

// askHW asks node br for tp's high watermark, as a consumer does.
func askHW(br *kgo.Broker, tp TP) probe {
	p := probe{sent: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = tp.Topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = tp.Partition, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, br)
	if err == nil && len(resp.Topics) == 1 && len(resp.Topics[0].Partitions) == 1 {
		rp := resp.Topics[0].Partitions[0]
		p.answered, p.epoch = rp.ErrorCode == 0, rp.LeaderEpoch
	}
	return p
}

// askCommitted asks node br for group's committed offsets.
func askCommitted(br *kgo.Broker, group string) probe {
	p := probe{sent: time.Now(), epoch: -1}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group // before v8; from v8 the groups
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	req.Groups = append(req.Groups, rg)
	resp, err := req.RequestWith(ctx, br)
	switch {
	case err != nil:
	case resp.Version >= 8:
		p.answered = len(resp.Groups) == 1 && resp.Groups[0].ErrorCode == 0
	default:
		p.answered = resp.ErrorCode == 0
	}
	return p
}

// leadersFrom maps each partition to its leader as node br's metadata
// says.
func leadersFrom(br *kgo.Broker) map[TP]int32 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, _ := kmsg.NewPtrMetadataRequest().RequestWith(ctx, br)
	return leaderMap(resp)
}
