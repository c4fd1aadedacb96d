package coordinator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// Coordinator is one node of the metadata quorum. Every node keeps a full,
// current copy of the metadata; the node that is Raft leader also runs the
// controller (see controller.go).
type Coordinator struct {
	cfg   Config
	log   *slog.Logger
	raft  *raft.Raft
	store *raftboltdb.BoltStore
	trans *patientTransport
	mux   *mux
	fsm   *fsm

	ctrl *controller
	fwd  forwarder // to the active controller, from any other node
	// hbFwd carries heartbeats on a connection of their own, so that they
	// never queue behind another operation's commit (issue 17: brokers
	// fenced while their heartbeats waited behind ISR changes).
	hbFwd forwarder

	closeOnce    sync.Once
	storeFailure sync.Once // see store_failure.go
	done         chan struct{}
	wg           sync.WaitGroup
	ready        atomic.Bool // the controller (leader) or a follower caught up
	readyCh      chan struct{}
	joinErr      chan error // a non-voter refused for good
}

// New opens (or creates) the Raft state in cfg.Dir, starts the listener on
// cfg.ListenAddr, and joins the quorum. On first start every voter
// bootstraps the same voter set, as hashicorp/raft recommends.
func New(cfg Config, logger *slog.Logger) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("metadata dir: %w", err)
	}
	c := &Coordinator{cfg: cfg, log: logger, done: make(chan struct{}), readyCh: make(chan struct{}), joinErr: make(chan error, 1)}
	c.fsm = newFSM(logger)
	c.ctrl = newController(c)
	if err := c.openRaft(); err != nil {
		c.closeParts()
		return nil, err
	}
	c.wg.Add(2)
	go c.watchLeadership()
	go c.watchReady()
	if !cfg.Voter {
		c.wg.Add(1)
		go c.joinLoop()
	}
	return c, nil
}

func (c *Coordinator) openRaft() error {
	store, err := openBoltStore(filepath.Join(c.cfg.Dir, raftStoreFile))
	if errors.Is(err, bbolt.ErrTimeout) {
		return fmt.Errorf("metadata dir %s is in use by another process", c.cfg.Dir)
	}
	if err != nil {
		return fmt.Errorf("opening the raft store: %w", err)
	}
	c.store = store
	// Raft logs through the node's slog logger, warnings and up as before.
	hlog := newRaftLogger(c.log, hclog.Warn)
	files, err := raft.NewFileSnapshotStoreWithLogger(c.cfg.Dir, 2, hlog)
	if err != nil {
		return fmt.Errorf("opening the snapshot store in %s: %w", c.cfg.Dir, err)
	}
	snaps := watchedSnapshots{SnapshotStore: files, failed: c.storeFailed}
	if c.mux, err = listenMux(c.cfg, c.serveRPC, c.log); err != nil {
		return err
	}
	c.trans = newPatientTransport(raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: c.mux.raftLayer(), MaxPool: 3, Timeout: 5 * time.Second, Logger: hlog,
	}), c.log)
	stable := watchedStore{raftStore: store, failed: c.storeFailed}
	logs, err := raft.NewLogCache(512, stable)
	if err != nil {
		return err
	}
	rc := c.raftConfig(hlog)
	existing, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return fmt.Errorf("reading the raft state in %s: %w", c.cfg.Dir, err)
	}
	if !existing && c.cfg.Voter {
		if err := raft.BootstrapCluster(rc, logs, stable, snaps, c.trans, c.voterConfiguration()); err != nil {
			return fmt.Errorf("bootstrapping the metadata quorum: %w", err)
		}
	}
	c.raft, err = raft.NewRaft(rc, c.fsm, logs, stable, snaps, c.trans)
	if err != nil {
		return fmt.Errorf("starting raft: %w", err)
	}
	c.trans.raft.Store(c.raft)
	return nil
}

// NewClusterID returns a random cluster id in Kafka's Uuid form, as
// kafka-storage random-uuid prints it.
func NewClusterID() string { return newUUID() }

// initialClusterID is the id the controller of a new cluster records.
func (c *Coordinator) initialClusterID() string {
	if c.cfg.ClusterID != "" {
		return c.cfg.ClusterID
	}
	return newUUID()
}

// raftStoreFile holds the Raft log and stable store inside Config.Dir.
const raftStoreFile = "raft.db"

// HasStore reports whether dir holds a Raft store: a node without one joins
// or bootstraps a cluster, so its caller first makes sure nothing on disk
// belongs to a cluster it would forget.
func HasStore(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, raftStoreFile))
	return err == nil && fi.Mode().IsRegular()
}

// openBoltStore checks raft.db before bbolt maps it (see checkBoltFile),
// and turns a panic of bbolt over a corrupt page into an error naming the
// file.
func openBoltStore(path string) (store *raftboltdb.BoltStore, err error) {
	if err := checkBoltFile(path); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s is corrupt: %v", path, r)
		}
	}()
	store, err = raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: &bbolt.Options{Timeout: time.Second}})
	if err != nil {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return store, err
}

func (c *Coordinator) raftConfig(hlog hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(strconv.Itoa(int(c.cfg.NodeID)))
	rc.Logger = hlog
	rc.SnapshotThreshold = c.cfg.SnapshotThreshold
	rc.SnapshotInterval = 30 * time.Second
	election, fetch := c.cfg.ElectionTimeout, raftFetchTimeout(c.cfg)
	if len(c.cfg.Voters) == 1 {
		// Nobody else can win an election, so waiting for a leader's
		// heartbeat only delays start-up.
		election, fetch = 100*time.Millisecond, 100*time.Millisecond
	}
	rc.HeartbeatTimeout = fetch
	rc.ElectionTimeout = max(election, fetch) // Raft refuses a candidate's wait shorter than a follower's
	// Kafka's timing, not Raft's defaults: a lease of half the election
	// timeout (500 ms) made a leader that waited that long for a busy
	// follower's answer step down, 10 to 17 times per run with 30,000
	// partitions on two shared cores (issue 16), and every step-down
	// fails the commits in flight.
	rc.LeaderLeaseTimeout = fetch
	// Followers learn that an entry is committed from the next
	// AppendEntries, sent at the latest every CommitTimeout (50 ms by
	// default): a topic created through one broker would be missing from
	// another's Metadata for that long. 10 ms costs a few small RPCs a
	// second per follower.
	rc.CommitTimeout = 10 * time.Millisecond
	return rc
}

// raftFetchTimeout is controller.quorum.fetch.timeout.ms, at most a
// quarter of broker.session.timeout.ms. A broker stops leading once no
// controller has answered its heartbeat for a session timeout (its
// lease), and replacing a dead Raft leader takes up to twice the fetch
// timeout (Raft randomizes the follower's wait up to double) plus the
// vote: with Kafka's 2 s against a session timeout of 3 s, every broker
// of the cluster stopped leading while a controller was elected. Kafka's
// brokers keep serving without a controller, so Kafka needs no such cap.
func raftFetchTimeout(cfg Config) time.Duration {
	return max(min(cfg.FetchTimeout, cfg.SessionTimeout/4), minRaftTimeout)
}

func (c *Coordinator) voterConfiguration() raft.Configuration {
	var conf raft.Configuration
	for _, v := range c.cfg.Voters {
		conf.Servers = append(conf.Servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(strconv.Itoa(int(v.ID))),
			Address:  raft.ServerAddress(v.Addr),
		})
	}
	return conf
}

// watchLeadership publishes the current leader into the image and starts or
// stops the controller as this node gains or loses leadership.
func (c *Coordinator) watchLeadership() {
	defer c.wg.Done()
	obs := make(chan raft.Observation, 16)
	observer := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	c.raft.RegisterObserver(observer)
	defer c.raft.DeregisterObserver(observer)
	tick := time.NewTicker(time.Second) // observations can be dropped; poll too
	defer tick.Stop()
	for {
		addr, id := c.raft.LeaderWithID()
		if addr != "" {
			c.fwd.redirect(string(addr))
			c.hbFwd.redirect(string(addr))
		}
		c.fsm.setController(parseNodeID(id))
		c.ctrl.setLeader(c.raft.State() == raft.Leader)
		select {
		case <-c.done:
			c.ctrl.setLeader(false)
			return
		case <-obs:
		case <-tick.C:
		}
	}
}

// watchReady closes readyCh once this node can serve: as the leader, when the
// controller has caught up and initialised the cluster; as a follower, when a
// leader is known and its metadata has reached us.
func (c *Coordinator) watchReady() {
	defer c.wg.Done()
	kick, unsubscribe := c.Subscribe()
	defer unsubscribe()
	for {
		md := c.Metadata()
		if md.ClusterID != "" && md.ControllerID >= 0 && (c.ctrl.isActive() || !c.IsLeader()) && c.caughtUp() {
			c.ready.Store(true)
			close(c.readyCh)
			c.log.Info("metadata quorum ready", "cluster_id", md.ClusterID, "controller", md.ControllerID)
			return
		}
		select {
		case <-c.done:
			return
		case <-kick:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// caughtUp reports whether this node has applied what the active
// controller had applied when asked. Knowing a leader is not enough: a
// restarted follower replays its log as the leader's commit index reaches
// it, and a broker that started serving before then once answered
// Metadata with none of the cluster's topics.
func (c *Coordinator) caughtUp() bool {
	if c.ctrl.isActive() {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Barrier(ctx) == nil
}

func parseNodeID(id raft.ServerID) int32 {
	n, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

// WaitReady blocks until the node has a current copy of the metadata.
func (c *Coordinator) WaitReady(ctx context.Context) error {
	select {
	case <-c.readyCh:
		return nil
	case err := <-c.joinErr:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return errClosed
	}
}

// Ready reports whether WaitReady would return at once.
func (c *Coordinator) Ready() bool { return c.ready.Load() }

// WaitApplied blocks until the local image reflects Raft index idx.
func (c *Coordinator) WaitApplied(ctx context.Context, idx uint64) error {
	kick, unsubscribe := c.Subscribe()
	defer unsubscribe()
	for c.Metadata().AppliedIndex < idx {
		select {
		case <-kick:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return errClosed
		}
	}
	return nil
}

// Metadata returns the latest image. It is never nil and never changes.
func (c *Coordinator) Metadata() *Metadata { return c.fsm.image.Load() }

// Subscribe returns a channel that receives a signal after each change of
// the image (signals coalesce: read Metadata for the latest), and a function
// that ends the subscription.
func (c *Coordinator) Subscribe() (<-chan struct{}, func()) { return c.fsm.subscribe() }

// IsLeader reports whether this node is the Raft leader.
func (c *Coordinator) IsLeader() bool { return c.raft.State() == raft.Leader }

// LeaderID returns the node id of the Raft leader, or -1 if none is known.
func (c *Coordinator) LeaderID() int32 { return c.Metadata().ControllerID }

// HeartbeatInterval is how often brokers should call Heartbeat.
func (c *Coordinator) HeartbeatInterval() time.Duration { return c.cfg.HeartbeatInterval }

// SessionTimeout is how long the controller waits for a broker's heartbeat
// before it fences the broker (broker.session.timeout.ms).
func (c *Coordinator) SessionTimeout() time.Duration { return c.cfg.SessionTimeout }

// Close leaves the quorum's work to the others: it stops the controller,
// shuts Raft down and closes the stores. It is safe to call more than once.
func (c *Coordinator) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.done)
		c.wg.Wait()
		if c.raft != nil {
			err = c.raft.Shutdown().Error()
		}
		c.closeParts()
	})
	return err
}

func (c *Coordinator) closeParts() {
	if c.trans != nil {
		c.trans.Close()
	} else if c.mux != nil {
		c.mux.Close()
	}
	if c.store != nil {
		c.store.Close()
	}
}

var errClosed = errors.New("coordinator closed")
