package chaos

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// A nemesis strikes the cluster and heals it again before it returns. Its
// random choices come from rng, so that a seed fixes the schedule; what it
// strikes (a leader, the controller) is whatever holds that role then.
type nemesis struct {
	name   string
	strike func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error)
}

// nemeses is every fault the schedule draws from.
var nemeses = []nemesis{
	{"kill-random", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.kill(int32(1+rng.IntN(3)), down(rng), tps)
	}},
	{"kill-leader", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.kill(c.leaderNotController(rng.IntN(len(tps)), tps), down(rng), tps)
	}},
	{"kill-controller", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.kill(c.controller(), down(rng), tps)
	}},
	{"pause", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.pause(c.leaderOf(tps[rng.IntN(len(tps))]), pauseFor(rng), tps)
	}},
	{"isolate-leader", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.isolate(c.leaderOf(tps[rng.IntN(len(tps))]), pauseFor(rng), tps)
	}},
	{"isolate-controller", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.isolate(c.controller(), pauseFor(rng), tps)
	}},
	{"isolate-random", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.isolate(int32(1+rng.IntN(3)), pauseFor(rng), tps)
	}},
	{"cut-link", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		a := int32(1 + rng.IntN(3))
		return c.cutLink(a, a%3+1, pauseFor(rng), tps)
	}},
	{"one-way-leader", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.oneWay(c.leaderOf(tps[rng.IntN(len(tps))]), pauseFor(rng), tps)
	}},
	{"slow-link", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.slowLink(int32(1+rng.IntN(3)), pauseFor(rng))
	}},
	{"torn-write", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.tornWrite(int32(1+rng.IntN(3)), tps[rng.IntN(len(tps))], 1+rng.Int64N(300), down(rng), tps)
	}},
	{"slow-disk", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.slowDisk(c.leaderOf(tps[rng.IntN(len(tps))]), pauseFor(rng), tps)
	}},
	{"failing-disk", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.failingDisk(int32(1+rng.IntN(3)), down(rng), tps, "write", "sync")
	}},
	{"failing-read", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		// A leader: its followers and consumers read from it all the time.
		return c.failingDisk(c.leaderOf(tps[rng.IntN(len(tps))]), down(rng), tps, "read")
	}},
	{"full-disk", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		return c.fullDisk(int32(1+rng.IntN(3)), down(rng), tps)
	}},
	{"clock-jump", func(c *cluster, rng *rand.Rand, tps []TP) (Fault, error) {
		skew := time.Hour
		if rng.IntN(2) == 0 {
			skew = -skew
		}
		return c.jumpClock(int32(1+rng.IntN(3)), skew, pauseFor(rng), tps)
	}},
}

// down is how long a killed node stays down; pauseFor how long a pause, a
// partition or slow link lasts (the 5-15 s).
func down(rng *rand.Rand) time.Duration { return time.Duration(2000+rng.IntN(4000)) * time.Millisecond }
func pauseFor(rng *rand.Rand) time.Duration {
	return time.Duration(5000+rng.IntN(10000)) * time.Millisecond
}

func (c *cluster) leaderOf(tp TP) int32 {
	if id, ok := c.leaders()[tp]; ok && id > 0 {
		return id
	}
	return 1
}

// leaderNotController is the leader of the i-th partition of tps, or of
// the next one whose leader is not the controller: kill-controller
// measures that case, in which an election comes before the session
// timeout.
func (c *cluster) leaderNotController(i int, tps []TP) int32 {
	ls, ctrl := c.leaders(), c.controller()
	for k := range tps {
		if id := ls[tps[(i+k)%len(tps)]]; id > 0 && id != ctrl {
			return id
		}
	}
	return c.leaderOf(tps[i])
}

// fault begins the record of a fault striking node id: the partitions of
// tps it leads and follows (every replica is on every node) and whether it
// is the controller, as the metadata says just before.
func (c *cluster) fault(id int32, target string, tps []TP) Fault {
	ctrl := c.controller() == id
	if ctrl {
		target += " (controller)"
	}
	led := c.led(id, tps)
	followed := slices.DeleteFunc(slices.Clone(tps), func(tp TP) bool { return slices.Contains(led, tp) })
	return Fault{Target: target, Affected: led, Followed: followed, Controller: ctrl, Start: time.Now()}
}

// kill SIGKILLs node id, keeps it down for d and restarts it.
func (c *cluster) kill(id int32, d time.Duration, tps []TP) (Fault, error) {
	return c.killWith(id, d, tps, nil)
}

// killWith is kill that runs whileDown on the stopped node, which says
// what it did.
func (c *cluster) killWith(id int32, d time.Duration, tps []TP, whileDown func() string) (Fault, error) {
	if id < 1 {
		id = 1
	}
	nd := c.node(id)
	f := c.fault(id, fmt.Sprintf("node %d", id), tps)
	nd.Kill()
	if whileDown != nil {
		f.Target += ", " + whileDown()
	}
	time.Sleep(d)
	return f, restart(nd, &f)
}

// restart starts nd again and waits until it is ready, and notes in f
// how long that took from exec: issue 17 wants every quorum rejoin under
// 2 s (test/cluster asserts it on an idle cluster; here it is measured
// under the workload).
func restart(nd *harness.Node, f *Fault) error {
	if err := nd.Start(); err != nil {
		return err
	}
	f.Healed = time.Now()
	err := nd.WaitReady(60 * time.Second)
	ready := time.Since(nd.Started)
	f.Target += fmt.Sprintf(", quorum %v and ready %v after exec", nd.QuorumReadyAfter().Round(time.Millisecond), ready.Round(time.Millisecond))
	return err
}

// tornWrite SIGKILLs node id and cuts up to n bytes off the newest segment
// of tp in its log before restarting it.
func (c *cluster) tornWrite(id int32, tp TP, n int64, d time.Duration, tps []TP) (Fault, error) {
	var tearErr error
	f, err := c.killWith(id, d, tps, func() string {
		seg, err := newestSegment(c.node(id).DataDir(), tp)
		if err != nil {
			tearErr = err
			return err.Error()
		}
		cut, err := tearTail(seg, n)
		tearErr = err
		return fmt.Sprintf("%d bytes off %s", cut, seg[strings.LastIndex(seg, "/"+tp.String())+1:])
	})
	if err == nil {
		err = tearErr
	}
	return f, err
}

// pause SIGSTOPs node id for d.
func (c *cluster) pause(id int32, d time.Duration, tps []TP) (Fault, error) {
	nd := c.node(id)
	f := c.fault(id, fmt.Sprintf("node %d for %v", id, d.Round(time.Millisecond)), tps)
	nd.Pause()
	time.Sleep(d)
	nd.Resume()
	f.Healed = time.Now()
	return f, nil
}

// isolate takes node id's host off the network, clients included, for d.
func (c *cluster) isolate(id int32, d time.Duration, tps []TP) (Fault, error) {
	if id < 1 {
		id = 1
	}
	h := c.host(id)
	f := c.fault(id, fmt.Sprintf("node %d for %v", id, d.Round(time.Millisecond)), tps)
	if err := c.net.Cut(h); err != nil {
		return f, err
	}
	time.Sleep(d)
	err := c.net.Heal(h)
	f.Healed = time.Now()
	return f, err
}

// oneWay drops, inside node id's host, every packet from the other nodes
// for d: clients still reach it and it still sends, but it hears no peer,
// so it is a leader that the rest of the cluster has lost.
func (c *cluster) oneWay(id int32, d time.Duration, tps []TP) (Fault, error) {
	f := c.fault(id, fmt.Sprintf("node %d hears no peer for %v", id, d.Round(time.Millisecond)), tps)
	err := c.dropFrom(id, c.others(id)...)
	if err == nil {
		time.Sleep(d)
		err = c.undrop(id)
	}
	f.Healed = time.Now()
	return f, err
}

// cutLink cuts the link between nodes a and b both ways for d; each still
// reaches the third node, through which the quorum still connects them.
func (c *cluster) cutLink(a, b int32, d time.Duration, tps []TP) (Fault, error) {
	f := c.fault(a, fmt.Sprintf("node %d and node %d for %v", a, b, d.Round(time.Millisecond)), tps)
	f.Affected = append(f.Affected, c.led(b, tps)...)
	err := c.dropFrom(a, b)
	if err == nil {
		err = c.dropFrom(b, a)
	}
	if err == nil {
		time.Sleep(d)
	}
	for _, id := range []int32{a, b} {
		if uerr := c.undrop(id); err == nil {
			err = uerr
		}
	}
	f.Healed = time.Now()
	return f, err
}

func (c *cluster) others(id int32) []int32 {
	var out []int32
	for i := range c.nodes {
		if int32(i+1) != id {
			out = append(out, int32(i+1))
		}
	}
	return out
}

// dropFrom makes node id's host drop every packet from the hosts of
// nodes, with an nftables table of its own that undrop deletes.
func (c *cluster) dropFrom(id int32, nodes ...int32) error {
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, c.host(n).Addr)
	}
	script := fmt.Sprintf("table inet chaos {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ip saddr { %s } drop\n }\n}\n",
		strings.Join(addrs, ", "))
	return inNS(c.host(id).NS, script, "nft", "-f", "-")
}

func (c *cluster) undrop(id int32) error {
	return inNS(c.host(id).NS, "", "nft", "delete", "table", "inet", "chaos")
}

// slowLink makes node id's host a slow, lossy link for d: a token bucket
// of 1 Mbit/s that queues up to 300 ms and drops past it, and 5% of the
// packets it sends dropped at random. The kernel here has no netem, so the
// latency is a queue's, which grows with the traffic, as on a saturated
// link.
func (c *cluster) slowLink(id int32, d time.Duration) (Fault, error) {
	ns := c.host(id).NS
	f := Fault{Target: fmt.Sprintf("node %d: 1 Mbit/s, 5%% loss for %v", id, d.Round(time.Millisecond)), Start: time.Now()}
	if err := inNS(ns, "", "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "1mbit", "burst", "32kbit", "latency", "300ms"); err != nil {
		return f, err
	}
	loss := "table inet chaosloss {\n chain output {\n  type filter hook output priority 0; policy accept;\n  numgen random mod 100 < 5 drop\n }\n}\n"
	err := inNS(ns, loss, "nft", "-f", "-")
	if err == nil {
		time.Sleep(d)
		err = inNS(ns, "", "nft", "delete", "table", "inet", "chaosloss")
	}
	if qerr := inNS(ns, "", "tc", "qdisc", "del", "dev", "eth0", "root"); err == nil {
		err = qerr
	}
	f.Healed = time.Now()
	return f, err
}

// inNS runs a command inside network namespace ns, stdin given.
func inNS(ns, stdin string, args ...string) error {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s in %s: %v: %s", strings.Join(args, " "), ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// scheduler draws the faults of a run: a partition leader's SIGKILL first,
// then every nemesis once in a shuffled order, again and again. One seeded
// source gives the order, the gaps between faults and every choice the
// nemeses make, so that a seed fixes the schedule.
type scheduler struct {
	rng    *rand.Rand
	pool   []nemesis // what it draws from
	queue  []nemesis
	rounds int
}

// newScheduler draws from the nemeses named in only, every one when only
// is empty.
func newScheduler(seed uint64, only ...string) *scheduler {
	s := &scheduler{rng: rand.New(rand.NewPCG(seed, 0x6b61666b61)), pool: nemeses}
	if len(only) > 0 {
		s.pool = slices.DeleteFunc(slices.Clone(nemeses), func(n nemesis) bool { return !slices.Contains(only, n.name) })
	}
	return s
}

func (s *scheduler) next() nemesis {
	if kl := slices.IndexFunc(s.pool, func(n nemesis) bool { return n.name == "kill-leader" }); s.rounds == 0 && kl >= 0 {
		// A run of any length measures a killed leader's unavailability,
		// the bound TestChaos holds.
		s.rounds++
		return s.pool[kl]
	}
	if len(s.queue) == 0 {
		s.rounds++
		s.queue = append([]nemesis(nil), s.pool...)
		s.rng.Shuffle(len(s.queue), func(i, j int) { s.queue[i], s.queue[j] = s.queue[j], s.queue[i] })
	}
	n := s.queue[0]
	s.queue = s.queue[1:]
	return n
}

// gap is the quiet time after a fault heals, before the next strikes.
func (s *scheduler) gap() time.Duration {
	return time.Duration(2000+s.rng.IntN(2000)) * time.Millisecond
}
