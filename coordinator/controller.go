package coordinator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/gokafka/gokafka/protocol"
)

// controller is the part of the coordinator that runs on the Raft leader.
// Like KRaft's QuorumController it handles one operation at a time: each
// reads the current image, decides, and proposes one command, so decisions
// are never made on a stale image.
//
// Lock order: opMu, then mu. opMu serialises operations and is held across
// their Raft round trip, except for ISR changes, which the state machine
// checks again and which hold it only until they are in Raft's queue
// (doPipelined); mu guards the controller's own state and is never held
// across Raft, nor while elections are decided (decide), so that a
// heartbeat (which changes nothing in the metadata) and a change of
// leadership never wait behind a commit or a large election.
type controller struct {
	c *Coordinator

	opMu sync.Mutex // one operation at a time, from decision to commit

	mu       sync.Mutex
	active   bool                // leader, caught up and the cluster initialised
	lastSeen map[int32]time.Time // broker heartbeats, known only to the leader
	progress map[int32]ReplicaProgress
	stop     chan struct{} // closed when leadership is lost
}

func newController(c *Coordinator) *controller { return &controller{c: c} }

// setLeader starts the controller on gaining leadership and stops it on
// losing it. It is called repeatedly with the same value.
func (ct *controller) setLeader(leader bool) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	switch {
	case leader && ct.stop == nil:
		ct.stop = make(chan struct{})
		ct.c.wg.Add(1)
		go ct.run(ct.stop)
	case !leader && ct.stop != nil:
		close(ct.stop)
		ct.stop, ct.active = nil, false
	}
}

func (ct *controller) isActive() bool {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.active
}

// run catches up with everything committed by earlier leaders, initialises
// a new cluster, then fences brokers that stop heartbeating.
func (ct *controller) run(stop chan struct{}) {
	defer ct.c.wg.Done()
	for ct.c.raft.Barrier(10*time.Second).Error() != nil {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	if ct.c.Metadata().ClusterID == "" {
		// The credentials of gokafka-server format --add-scram (scram.go).
		creds, err := readBootstrapScram(ct.c.cfg.Dir)
		if err != nil {
			ct.c.log.Error("cannot initialise the cluster: bootstrap credentials", "err", err)
			return
		}
		if _, err := ct.c.propose(&command{Op: opInitCluster, ClusterID: ct.c.initialClusterID(), Scram: creds}); err != nil {
			ct.c.log.Warn("cannot initialise the cluster id", "err", err)
			return
		}
	}
	ct.mu.Lock()
	if ct.stop != stop {
		ct.mu.Unlock()
		return
	}
	// Every broker gets a full session to find the new controller.
	ct.lastSeen, ct.progress = map[int32]time.Time{}, map[int32]ReplicaProgress{}
	for id := range ct.c.Metadata().Brokers {
		ct.lastSeen[id] = time.Now()
	}
	ct.active = true
	ct.mu.Unlock()
	ct.c.log.Info("controller active", "node", ct.c.cfg.NodeID)
	ct.fenceLoop(stop)
}

// fenceLoop fences silent brokers and, when enabled, moves leadership back
// to preferred replicas on leader.imbalance.check.interval.seconds.
func (ct *controller) fenceLoop(stop chan struct{}) {
	// A silent broker is fenced within a tick of its session's end; a
	// tick costs a look at lastSeen under mu.
	t := time.NewTicker(max(min(ct.c.cfg.HeartbeatInterval/2, fenceCheckInterval), 10*time.Millisecond))
	defer t.Stop()
	var rebalance <-chan time.Time
	if ct.c.cfg.AutoLeaderRebalance {
		r := time.NewTicker(ct.c.cfg.LeaderImbalanceCheckInterval)
		defer r.Stop()
		rebalance = r.C
	}
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ct.fenceSilent()
		case <-rebalance:
			ct.rebalance()
		}
	}
}

// rebalance elects preferred leaders for every broker whose share of
// partitions led by someone else exceeds leader.imbalance.per.broker.percentage.
func (ct *controller) rebalance() {
	_, err := ct.do(func(md *Metadata) (*command, error) {
		refs := imbalanced(md, ct.c.cfg.LeaderImbalancePerBrokerPct)
		if len(refs) == 0 {
			return nil, nil
		}
		ct.c.log.Info("preferred leader election", "partitions", len(refs))
		return &command{Op: opElectPreferred, Elect: refs}, nil
	})
	if err != nil {
		ct.c.log.Warn("preferred leader election failed", "err", err)
	}
}

// imbalanced lists, for each broker over the imbalance threshold, the
// partitions it prefers to lead and could lead now but does not.
func imbalanced(md *Metadata, pct int) []PartitionRef {
	preferred := map[int32]int{}
	movable := map[int32][]PartitionRef{}
	for name, t := range md.Topics.All() {
		for _, p := range t.Partitions {
			want := p.Replicas[0]
			preferred[want]++
			if p.Leader != want && slices.Contains(p.ISR, want) && md.usable(want) {
				movable[want] = append(movable[want], PartitionRef{name, p.ID})
			}
		}
	}
	var out []PartitionRef
	for b, refs := range movable {
		if 100*len(refs) > pct*preferred[b] {
			out = append(out, refs...)
		}
	}
	return out
}

// uncleanTopics lists the topics whose config (or the broker default)
// allows unclean leader election.
func (c *Coordinator) uncleanTopics(md *Metadata) []string {
	var out []string
	for name, t := range md.Topics.All() {
		on := c.cfg.UncleanLeaderElection
		if v, ok := t.Configs["unclean.leader.election.enable"]; ok {
			on = strings.EqualFold(v, "true")
		}
		if on {
			out = append(out, name)
		}
	}
	return out
}

// fenceCheckInterval bounds how late after its session ends a silent
// broker is fenced.
const fenceCheckInterval = 100 * time.Millisecond

// fenceSilent fences every unfenced broker whose last heartbeat is older
// than the session timeout. Finding none costs no operation, so that the
// check never waits for another operation's commit.
func (ct *controller) fenceSilent() {
	for _, b := range ct.silent() {
		_, err := ct.do(func(md *Metadata) (*command, error) {
			silent := time.Since(ct.lastSeen[b.ID])
			if silent <= ct.c.cfg.SessionTimeout || md.Brokers[b.ID] == nil || md.Brokers[b.ID].Fenced {
				return nil, nil
			}
			ct.c.log.Warn("fencing broker: no heartbeat within the session timeout",
				"broker", b.ID, "silent", silent.Round(time.Millisecond))
			return &command{Op: opFence, BrokerID: b.ID}, nil
		})
		if err != nil {
			ct.c.log.Warn("cannot fence broker", "broker", b.ID, "err", err)
		}
	}
}

// silent lists the unfenced brokers whose session has ended, as the
// active controller sees them.
func (ct *controller) silent() []*Broker {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if !ct.active {
		return nil
	}
	var out []*Broker
	for _, b := range ct.c.Metadata().Brokers {
		if !b.Fenced && time.Since(ct.lastSeen[b.ID]) > ct.c.cfg.SessionTimeout {
			out = append(out, b)
		}
	}
	return out
}

// do runs one controller operation: decide reads the current image and
// returns the command to propose (nil for none). decide runs under mu and
// may use the controller's state; the proposal waits for Raft under opMu
// only.
//
// A command that carries its elections' results (changes.go) was decided
// against the applied image, but ISR changes proposed before it and not
// yet applied (doPipelined) may change a partition it changes: the state
// machine then refuses that partition's change as stale, and do decides
// those partitions again on the image that now holds the ISR change, as
// a retry. Every ISR change entered Raft before the first proposal, and
// opMu keeps new ones out until do returns, so the retry is decided on an
// image nothing pending can change: one retry suffices, a second is a bug.
func (ct *controller) do(decide func(md *Metadata) (*command, error)) (applyResult, error) {
	ct.opMu.Lock()
	defer ct.opMu.Unlock()
	cmd, err := ct.decide(decide, nil)
	if err != nil || cmd == nil {
		return applyResult{}, err
	}
	res, err := ct.c.propose(cmd)
	for retries := 0; err == nil && len(staleRefs(cmd, res)) > 0; retries++ {
		stale := staleRefs(cmd, res)
		if retries == maxStaleRetries {
			ct.c.log.Error("BUG: partition changes still stale after retries", "op", cmd.Op, "partitions", stale)
			break
		}
		again := *cmd
		again.Retry = true
		if cmd, err = ct.decide(func(*Metadata) (*command, error) { return &again, nil }, stale); err != nil || len(cmd.Changes) == 0 {
			break // nothing left to change
		}
		res, err = ct.c.propose(cmd)
	}
	return res, err
}

// maxStaleRetries bounds the retries of do; one is all it should take.
const maxStaleRetries = 3

// doPipelined is do for an operation the state machine checks again when
// it applies it (ISR changes: alterISR): only deciding and entering the
// command into Raft's queue hold opMu, the commit is awaited outside it, so
// that the next operation is decided meanwhile and concurrent commands
// share Raft round trips.
func (ct *controller) doPipelined(decide func(md *Metadata) (*command, error)) (applyResult, error) {
	ct.opMu.Lock()
	cmd, err := ct.decide(decide, nil)
	var f raft.ApplyFuture
	if err == nil && cmd != nil {
		f, err = ct.c.submit(cmd)
	}
	ct.opMu.Unlock()
	if err != nil || cmd == nil {
		return applyResult{}, err
	}
	return ct.c.await(cmd, f)
}

// decide runs decide on the current image under mu, on the active
// controller only, and then decides the elections that follow from the
// command (limited to the partitions in only, when not nil). Those need
// only the image, which is immutable, so they run outside mu: a large
// election does not hold up heartbeats. The caller's opMu keeps any other
// operation from deciding meanwhile.
func (ct *controller) decide(decide func(md *Metadata) (*command, error), only []PartitionRef) (*command, error) {
	md, cmd, err := ct.decideLocked(decide)
	if err != nil || cmd == nil || !carriesResults(cmd.Op) {
		return cmd, err
	}
	if err := decideResults(md, cmd, only, ct.c.log); err != nil {
		return nil, err
	}
	return cmd, nil
}

func (ct *controller) decideLocked(decide func(md *Metadata) (*command, error)) (*Metadata, *command, error) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if !ct.active {
		return nil, nil, notController(ct.c)
	}
	md := ct.c.Metadata()
	cmd, err := decide(md)
	if err != nil || cmd == nil {
		return nil, nil, err
	}
	switch cmd.Op {
	case opRegister, opFence, opUnfence, opShutdown:
		cmd.Unclean = ct.c.uncleanTopics(md)
	}
	return md, cmd, nil
}

func notController(c *Coordinator) error {
	return protocol.Errorf(protocol.NotController, "node %d is not the active controller (leader: %d)", c.cfg.NodeID, c.LeaderID())
}

// propose commits cmd through Raft and waits until it is applied here.
// Raft bounds the wait: a leader that loses its quorum steps down and fails
// every pending future.
func (c *Coordinator) propose(cmd *command) (applyResult, error) {
	f, err := c.submit(cmd)
	if err != nil {
		return applyResult{}, err
	}
	return c.await(cmd, f)
}

// submit enters cmd into Raft's queue.
func (c *Coordinator) submit(cmd *command) (raft.ApplyFuture, error) {
	data, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	return c.raft.Apply(data, 10*time.Second), nil
}

// await waits until cmd, submitted as f, is committed and applied here.
func (c *Coordinator) await(cmd *command, f raft.ApplyFuture) (applyResult, error) {
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) { // refused before it entered the log
			return applyResult{}, notController(c)
		}
		// Lost leadership or timed out with the command in the log: a
		// later leader may still commit it, so the outcome is unknown,
		// which Kafka says with REQUEST_TIMED_OUT.
		return applyResult{}, protocol.Errorf(protocol.RequestTimedOut, "committing %s: %v; it may yet take effect", cmd.Op, err)
	}
	res := f.Response().(applyResult)
	return res, res.Err
}

// newUUID returns a random Kafka Uuid in its string form (22 characters of
// unpadded base64url). Like Kafka it never starts with '-', so that the id
// cannot be mistaken for a command-line flag.
func newUUID() string {
	for {
		id := randomID()
		s := base64.RawURLEncoding.EncodeToString(id[:])
		if s[0] != '-' {
			return s
		}
	}
}

func randomID() [16]byte {
	var id [16]byte
	rand.Read(id[:])
	return id
}

// respond turns a controller operation's outcome into its answer.
func respond(res applyResult, err error) rpcResponse {
	r := errResponse(err)
	r.Index, r.First = res.Index, res.First
	return r
}

func (c *Coordinator) registerBroker(r BrokerRegistration) rpcResponse {
	return respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		// A live broker with this id elsewhere means a copied node.id.
		if b := md.Brokers[r.ID]; b != nil && c.ctrl.alive(md, r.ID) && !slices.Equal(b.Listeners, r.Listeners) {
			return nil, protocol.Errorf(protocol.DuplicateBrokerRegistration,
				"broker %d is already registered and alive with listeners %v; refusing %v", r.ID, b.Listeners, r.Listeners)
		}
		c.ctrl.lastSeen[r.ID] = time.Now()
		return &command{Op: opRegister, Broker: &Broker{ID: r.ID, Listeners: r.Listeners, Rack: r.Rack}}, nil
	}))
}

// heartbeat renews a broker's session. One from a broker that is
// registered and not fenced changes no metadata, so it only takes mu and
// never waits behind another operation's commit: a busy controller must
// not fence healthy brokers (issue 17). Only an unfencing goes through do.
func (c *Coordinator) heartbeat(id int32, applied uint64) rpcResponse {
	if resp, done := c.ctrl.renew(id, applied); done {
		return resp
	}
	return respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		b := md.Brokers[id]
		if b == nil {
			return nil, protocol.Errorf(protocol.BrokerIDNotRegistered, "broker %d is not registered", id)
		}
		c.ctrl.lastSeen[id] = time.Now()
		c.ctrl.recordProgress(id, applied)
		if b.Fenced && !b.ControlledShutdown {
			c.log.Info("unfencing broker: heartbeats resumed", "broker", id)
			return &command{Op: opUnfence, BrokerID: id}, nil
		}
		return nil, nil
	}))
}

// renew records a heartbeat of a registered, unfenced broker; done is
// false when the heartbeat needs an operation (unfencing, or an error
// decided on the image under opMu).
func (ct *controller) renew(id int32, applied uint64) (_ rpcResponse, done bool) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if !ct.active {
		return errResponse(notController(ct.c)), true
	}
	b := ct.c.Metadata().Brokers[id]
	if b == nil || b.Fenced {
		return rpcResponse{}, false
	}
	ct.lastSeen[id] = time.Now()
	ct.recordProgress(id, applied)
	return rpcResponse{}, true
}

// controlledShutdown fences a broker that asked to stop: its leaderships
// move now, while it still serves, instead of after the session timeout.
// It stays fenced until it registers again.
func (c *Coordinator) controlledShutdown(id int32) rpcResponse {
	return respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		if md.Brokers[id] == nil {
			return nil, protocol.Errorf(protocol.BrokerIDNotRegistered, "broker %d is not registered", id)
		}
		c.log.Info("controlled shutdown: moving leaderships away", "broker", id)
		return &command{Op: opShutdown, BrokerID: id}, nil
	}))
}

func (c *Coordinator) allocateProducerIDs(brokerID int32) rpcResponse {
	r := respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		if md.Brokers[brokerID] == nil {
			return nil, protocol.Errorf(protocol.BrokerIDNotRegistered, "broker %d is not registered", brokerID)
		}
		return &command{Op: opAllocateProdID, Count: c.cfg.ProducerIDBlockSize}, nil
	}))
	if r.Code == 0 {
		r.Count = int32(c.cfg.ProducerIDBlockSize)
	}
	return r
}
