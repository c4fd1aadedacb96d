package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestFollowerLossStallsAcksAll measures what README's node-loss table
// says of a lost follower, with the default timeouts
// (broker.session.timeout.ms 9 s, replica.lag.time.max.ms 30 s): an
// acks=all producer writing one record at a time stalls from the kill -9
// of a follower in the ISR until the ISR shrinks, then goes on. The stall
// must end before replica.lag.time.max.ms, and the ISR must then leave
// the follower out.
//
//	go test -count=1 -v -run TestFollowerLossStallsAcksAll ./test/cluster/
func TestFollowerLossStallsAcksAll(t *testing.T) {
	c := harness.StartT(t, 3)
	createTopic(t, c, "stall", 1)
	leader := waitLeader(t, c, "stall")
	md, err := kadm.NewClient(client(t, c)).BrokerMetadata(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// The follower to kill leads neither the partition nor the Raft
	// quorum, so that only the ISR has to change.
	var follower int32
	for id := int32(1); id <= 3; id++ {
		if id != leader && (id != md.Controller || follower == 0) {
			follower = id
		}
	}
	cl := client(t, c, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic("stall"))
	ctx := ctxFor(t, 2*time.Minute)
	var acks []time.Time
	produce := func(until time.Time) {
		for time.Now().Before(until) {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("r")}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			acks = append(acks, time.Now())
		}
	}
	produce(time.Now().Add(2 * time.Second))
	before := len(acks)
	killed := time.Now()
	c.Nodes[follower-1].Kill()
	produce(killed.Add(20 * time.Second))

	stall, resumed := time.Duration(0), time.Time{}
	for i := before; i < len(acks); i++ {
		if gap := acks[i].Sub(acks[i-1]); gap > stall {
			stall, resumed = gap, acks[i]
		}
	}
	_, isr := partitionState(t, c, "stall", 0)
	t.Logf("node %d (a follower; leader %d, controller %d) killed: acks=all stalled %v, resumed %v after the kill; %d records acknowledged in the next 20 s; ISR now %v",
		follower, leader, md.Controller, stall.Round(10*time.Millisecond), resumed.Sub(killed).Round(10*time.Millisecond), len(acks)-before, isr)
	if resumed.Sub(killed) >= 30*time.Second || len(acks) == before {
		t.Errorf("acks=all did not resume before replica.lag.time.max.ms")
	}
	if slices.Contains(isr, follower) {
		t.Errorf("the ISR %v still holds the dead follower %d", isr, follower)
	}
}
