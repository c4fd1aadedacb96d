package cluster

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// rejoinBound is how long a restarted voter may take from exec to /readyz.
// Measured on a loaded two-core machine it takes well under a second; the
// bound is the 2 s, a functional limit, not a benchmark.
const rejoinBound = 2 * time.Second

// TestRejoinAfterDowntime SIGKILLs a node of the quorum, keeps it down,
// restarts it and asserts that it is ready again within rejoinBound,
// several times. A leader once backed off replicating to a follower it had
// seen fail for up to 10 s, so a node down for long rejoined late.
//
// GOKAFKA_REJOIN_DOWN (a duration, 20s by default) and
// GOKAFKA_REJOIN_ROUNDS (3) change the schedule for a measurement; every
// round logs exec→"metadata quorum ready" and exec→/readyz, and the end
// their medians and maxima.
func TestRejoinAfterDowntime(t *testing.T) {
	down, rounds := rejoinSchedule(t)
	c := startCluster(t)
	createTopic(t, c, "rejoin", 3)
	var quorums, readies []time.Duration
	defer func() {
		t.Logf("%d rounds of %v down: metadata quorum ready after %s, /readyz after %s",
			len(readies), down, medianMax(quorums), medianMax(readies))
	}()
	for round := range rounds {
		// Even rounds kill a follower, odd ones the Raft leader: it comes
		// back as a follower of the leader elected meanwhile.
		ctrl := controllerID(t, c)
		n := c.Nodes[slices.IndexFunc(c.Nodes, func(n *harness.Node) bool {
			return (int32(n.ID) == ctrl) == (round%2 == 1)
		})]
		n.Kill()
		time.Sleep(down)
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		if err := n.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		ready := time.Since(n.Started)
		quorum := n.QuorumReadyAfter()
		quorums, readies = append(quorums, quorum), append(readies, ready)
		t.Logf("round %d: node %d down %v: metadata quorum ready after %v, /readyz after %v",
			round, n.ID, down, quorum.Round(time.Millisecond), ready.Round(time.Millisecond))
		if ready > rejoinBound {
			t.Errorf("round %d: node %d took %v to rejoin after %v down, want < %v\n%s",
				round, n.ID, ready, down, rejoinBound, n.Tail(30))
		}
	}
}

// medianMax says "median M, max X" of ds.
func medianMax(ds []time.Duration) string {
	if len(ds) == 0 {
		return "nothing measured"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("median %v, max %v", s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

func rejoinSchedule(t *testing.T) (down time.Duration, rounds int) {
	down, rounds = 20*time.Second, 3
	var err error
	if s := os.Getenv("GOKAFKA_REJOIN_DOWN"); s != "" {
		if down, err = time.ParseDuration(s); err != nil {
			t.Fatalf("GOKAFKA_REJOIN_DOWN: %v", err)
		}
	}
	if s := os.Getenv("GOKAFKA_REJOIN_ROUNDS"); s != "" {
		if rounds, err = strconv.Atoi(s); err != nil {
			t.Fatalf("GOKAFKA_REJOIN_ROUNDS: %v", err)
		}
	}
	return down, rounds
}

// controllerID asks the running nodes which one is the active controller
// (the Raft leader), waiting until one names it.
func controllerID(t *testing.T, c *harness.Cluster) int32 {
	t.Helper()
	id := int32(-1)
	harness.WaitFor(t, "a known controller", 10*time.Second, func() bool {
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctxFor(t, 2*time.Second), client(t, c))
		if err == nil {
			id = resp.ControllerID
		}
		return id >= 0
	})
	return id
}
