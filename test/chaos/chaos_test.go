package chaos

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	runFor = flag.Duration("chaos.duration", 2*time.Minute,
		"how long TestChaos strikes faults (2m in make test, 10m in make chaos)")
	seed   = flag.Uint64("chaos.seed", 1, "fixes TestChaos's schedule: the same seed strikes the same faults")
	logs   = flag.String("chaos.logs", "", "a directory to keep the servers' logs in")
	only   = flag.String("chaos.nemeses", "", "strike only these nemeses, comma-separated (every one when empty)")
	strict = flag.Bool("chaos.strict", false,
		"hold the unavailability and stall bounds to issue 17's figures, without loadSlack (make chaos, on a quiet machine)")
)

var topics = []string{"chaos-a", "chaos-b", "chaos-c"}

// TestChaos runs the workload under the seeded schedule for
// -chaos.duration, heals, rotates leadership, reads every replica and
// checks the history: nothing lost, duplicated, reordered or divergent, no
// read of data not kept or aborted, no crash or race, no committed offset
// backwards or above the high watermark, no high watermark backwards, a
// partition whose leader (not the controller) was SIGKILLed unavailable
// for at most the session timeout plus electionSlack, and one whose
// follower was paused or cut off for at most replica.lag.time.max.ms plus
// stallSlack, each bound loadSlack longer without -chaos.strict, and every
// ISR full again within wholeWithin of each heal. It logs a table per
// nemesis.
func TestChaos(t *testing.T) {
	c := startCluster(t)
	tps := c.createTopics(topics, 2)
	w := newWorkload(c, tps, kgo.AllISRAcks())
	w.txnTPs = c.createTopics([]string{"chaos-txn"}, 2)
	w.start()
	time.Sleep(3 * time.Second) // every producer and the group under way
	t.Logf("seed %d, %v of faults", *seed, *runFor)
	faults := strikeFor(t, c, tps, newScheduler(*seed, onlyNemeses()...), *runFor)
	h := w.finish()
	h.Faults = faults
	final := finalState(t, c, append(slices.Clone(tps), w.txnTPs...))
	keepLogs(t, final.ServerLog)
	keepOffsets(t, h)
	r := Check(h, final)
	t.Logf("seed %d: %d acknowledged, %d read, %d commits, %d high watermark samples, %d aborted, %d read_committed\n%s",
		*seed, r.Acked, len(h.Reads), len(h.Commits), len(h.HWs), len(h.Aborted), len(h.CommittedReads), table(r.Faults))
	// Every run fails on offsets as on data: the committed offsets that
	// seemed to go back (by 300 to 1000) just after the group's
	// coordinator moved were the checker's, OffsetFetch answers retried
	// over the move and stamped with when they were sent (see Commit).
	for _, p := range r.Problems() {
		t.Error(p)
	}
	for _, p := range r.Stale() {
		t.Log(p)
	}
	unavailableMax, stallMax := sessionTimeout+electionSlack, replicaLagMax+stallSlack
	if !*strict {
		unavailableMax, stallMax = unavailableMax+loadSlack, stallMax+loadSlack
	}
	for _, f := range r.Faults {
		t.Logf("%s %s (%s, leading %v): %d acknowledged, %s unavailable %v, recovered in %v, followed %s stalled %v",
			f.Start.Format("15:04:05.000"), f.Nemesis, f.Target, f.Affected, f.Acked, f.Unavailable,
			f.LongestUnavailable.Round(time.Millisecond), f.Recovery.Round(time.Millisecond), f.Stalled,
			f.LongestFollowerStall.Round(time.Millisecond))
		// A follower that stops fetching holds acks=all up only until its
		// leader drops it from the ISR.
		if stopsFollower(f.Nemesis) && f.LongestFollowerStall > stallMax {
			t.Errorf("%s (%s): %s, which it followed, acknowledged nothing for %v, want <= %v", f.Nemesis, f.Target,
				f.Stalled, f.LongestFollowerStall.Round(time.Millisecond), stallMax)
		}
		// A killed controller must be replaced (a Raft election) before
		// the new one starts the session timeout of the node it lost, as
		// in Kafka: that case is logged, not held to the bound.
		if strings.HasPrefix(f.Nemesis, "kill-") && !f.Controller && len(f.Affected) > 0 &&
			f.LongestUnavailable > unavailableMax {
			t.Errorf("%s (%s): a partition it led was unavailable for %v, want <= %v",
				f.Nemesis, f.Target, f.LongestUnavailable.Round(time.Millisecond), unavailableMax)
		}
	}
	if r.Acked == 0 {
		t.Error("nothing acknowledged")
	}
}

// onlyNemeses is -chaos.nemeses as a list.
func onlyNemeses() []string {
	if *only == "" {
		return nil
	}
	return strings.Split(*only, ",")
}

// stopsFollower reports whether nemesis stops a node, leaving it running,
// so that the partitions it follows wait for the leader to drop it from
// the ISR: a pause or a network partition.
func stopsFollower(nemesis string) bool {
	return nemesis == "pause" || strings.HasPrefix(nemesis, "isolate-") || nemesis == "one-way-leader"
}

// strikeFor strikes faults from s, one at a time, each after the cluster
// is whole again and a quiet gap, until d has passed, and returns them.
func strikeFor(t *testing.T, c *cluster, tps []TP, s *scheduler, d time.Duration) []Fault {
	t.Helper()
	var faults []Fault
	for end := time.Now().Add(d); time.Now().Before(end); {
		n := s.next()
		f, err := n.strike(c, s.rng, tps)
		f.Nemesis = n.name
		t.Logf("%s %s: %s, healed after %v", f.Start.Format("15:04:05.000"), f.Nemesis, f.Target,
			f.Healed.Sub(f.Start).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("%s (%s): %v", n.name, f.Target, err)
		}
		faults = append(faults, f)
		// The next fault strikes a whole cluster, so that each one's
		// figures are its own. Every replica is back in its ISR soon
		// after a heal: a caught-up follower left out for a minute once
		// (its leader fenced and unfenced over and over) held acks=all
		// on one replica less all that time.
		healed := time.Now()
		err = c.settle(tps, time.Minute)
		if took := time.Since(healed); err != nil || took > wholeWithin {
			t.Errorf("after %s (%s): whole again after %v, want <= %v: %v", f.Nemesis, f.Target,
				took.Round(time.Millisecond), wholeWithin, err)
		}
		time.Sleep(s.gap())
	}
	return faults
}

// finalState waits for the healed cluster to be whole, reads every
// replica of tps while it leads, takes the high watermarks and stops the
// nodes for their logs.
func finalState(t *testing.T, c *cluster, tps []TP) Final {
	t.Helper()
	c.waitWhole(tps, 90*time.Second)
	before := c.highWatermarks(tps)
	f := Final{Replicas: c.rotateAndRead(tps, before), HW: c.highWatermarks(tps)}
	f.ServerLog = c.stopAndCollectLogs()
	return f
}

// table sums the fault statistics per nemesis, longest unavailability and
// recovery as maxima.
func table(faults []FaultStats) string {
	type row struct {
		n                                      int
		acked, lost, dup, reordered, divergent int
		unavailable, recovery                  time.Duration
	}
	rows := map[string]*row{}
	var names []string
	for _, f := range faults {
		r := rows[f.Nemesis]
		if r == nil {
			r = &row{}
			rows[f.Nemesis] = r
			names = append(names, f.Nemesis)
		}
		r.n++
		r.acked += f.Acked
		r.lost += f.Lost
		r.dup += f.Duplicated
		r.reordered += f.Reordered
		r.divergent += f.Divergent
		r.unavailable = max(r.unavailable, f.LongestUnavailable)
		r.recovery = max(r.recovery, f.Recovery)
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%-19s %6s %12s %6s %10s %9s %10s %11s %9s\n",
		"nemesis", "faults", "acknowledged", "lost", "duplicated", "reordered", "divergent", "unavailable", "recovery")
	for _, n := range names {
		r := rows[n]
		fmt.Fprintf(&b, "%-19s %6d %12d %6d %10d %9d %10d %11s %9s\n", n, r.n, r.acked, r.lost, r.dup,
			r.reordered, r.divergent, r.unavailable.Round(10*time.Millisecond), r.recovery.Round(10*time.Millisecond))
	}
	return b.String()
}

// keepLogs writes each server's log into -chaos.logs, when given.
func keepLogs(t *testing.T, serverLogs map[string]string) {
	if *logs == "" {
		return
	}
	for name, text := range serverLogs {
		if err := os.WriteFile(filepath.Join(*logs, name+".log"), []byte(text), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// keepOffsets writes every commit and high watermark sample the clients
// saw into -chaos.logs (offsets.txt), when given, so that an offsets
// finding can be read against the servers' logs.
func keepOffsets(t *testing.T, h History) {
	if *logs == "" {
		return
	}
	var b strings.Builder
	for _, c := range h.Commits {
		fmt.Fprintf(&b, "%s commit %s %d sent %s acked %v %s\n", c.At.Format("15:04:05.000"), c.TP, c.Offset,
			c.sent().Format("15:04:05.000"), c.Acked, c.By)
	}
	for _, s := range h.HWs {
		fmt.Fprintf(&b, "%s hw %s %d epoch %d\n", s.At.Format("15:04:05.000"), s.TP, s.HW, s.Epoch)
	}
	if err := os.WriteFile(filepath.Join(*logs, "offsets.txt"), []byte(b.String()), 0o644); err != nil {
		t.Error(err)
	}
}

// TestAcksOneLoses proves the checker sees real loss: the same workload
// with acks=1 (and no idempotence) while a partition leader is paused for
// 8 s, twice, and cut off from its peers (clients still reach it) for 8 s,
// twice. A deposed leader acknowledges writes alone, before it learns that
// it was deposed, and truncates them when it follows; at least one
// acknowledged record must be reported lost or moved.
func TestAcksOneLoses(t *testing.T) {
	c := startCluster(t)
	tps := c.createTopics(topics[:1], 2)
	w := newWorkload(c, tps, kgo.LeaderAck())
	w.start()
	time.Sleep(3 * time.Second)
	var faults []Fault
	for i := range 4 {
		strike, name := c.pause, "pause"
		if i%2 == 1 {
			strike, name = c.oneWay, "one-way-leader"
		}
		f, err := strike(c.leaderOf(tps[i%len(tps)]), 8*time.Second, tps)
		f.Nemesis = name
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", name, f.Target)
		faults = append(faults, f)
		time.Sleep(3 * time.Second)
	}
	h := w.finish()
	h.Faults = faults
	r := Check(h, finalState(t, c, tps))
	t.Logf("acks=1: %d acknowledged, %d lost, %d moved\n%s", r.Acked, len(r.Lost), len(r.Moved), table(r.Faults))
	if len(r.Lost)+len(r.Moved) == 0 {
		t.Error("acks=1 under pauses and one-way partitions lost nothing the checker could see")
	}
}
