package coordinator

import (
	"fmt"
	"time"
)

// Voter is one entry of controller.quorum.voters: id@host:port.
type Voter struct {
	ID   int32
	Addr string // host:port of that node's CONTROLLER listener
}

// Config configures the Raft node and the controller logic of one process.
type Config struct {
	NodeID int32
	// Voter is true when process.roles includes controller. A broker-only
	// node joins Raft as a non-voter and keeps a full copy of the metadata.
	Voter  bool
	Voters []Voter // controller.quorum.voters
	// ListenAddr is where the CONTROLLER listener binds (Raft and controller
	// RPCs share it, told apart by the first byte of each connection).
	ListenAddr string
	// AdvertisedAddr is how other nodes reach this node's controller listener.
	AdvertisedAddr string
	// Dir holds the Raft log, stable store and snapshots
	// (metadata.log.dir, defaulting to the first of log.dirs).
	Dir string
	// ClusterID is meta.properties' cluster.id, which a new cluster is
	// initialised with (written by gokafka-server format); "" = random.
	ClusterID string

	// ConnectionsMaxIdle closes a controller RPC connection that sends no
	// request for this long (connections.max.idle.ms); 0 never does. A
	// forwarder whose connection was closed dials again.
	ConnectionsMaxIdle time.Duration

	SessionTimeout      time.Duration // broker.session.timeout.ms
	HeartbeatInterval   time.Duration // broker.heartbeat.interval.ms
	ProducerIDBlockSize int64         // producer ids handed out per AllocateProducerIds
	SnapshotThreshold   uint64        // Raft entries between snapshots
	// ElectionTimeout bounds how long followers wait for a leader before
	// standing. One voter needs no wait, so it is shortened automatically.
	ElectionTimeout time.Duration
	// DefaultReplicationFactor and NumPartitions are used by CreateTopics
	// requests that pass -1 (default.replication.factor, num.partitions).
	DefaultReplicationFactor int16
	NumPartitions            int32
	// UncleanLeaderElection is unclean.leader.election.enable, the default
	// for topics that do not set it.
	UncleanLeaderElection bool
	// Preferred-leader rebalancing: auto.leader.rebalance.enable,
	// leader.imbalance.check.interval.seconds and
	// leader.imbalance.per.broker.percentage.
	AutoLeaderRebalance          bool
	LeaderImbalanceCheckInterval time.Duration
	LeaderImbalancePerBrokerPct  int
}

// DefaultConfig returns Kafka's defaults for a single node with id 1.
func DefaultConfig() Config {
	return Config{
		NodeID:                   1,
		Voter:                    true,
		Voters:                   []Voter{{ID: 1, Addr: "localhost:9093"}},
		ListenAddr:               ":9093",
		AdvertisedAddr:           "localhost:9093",
		Dir:                      "./data/__cluster_metadata-0",
		ConnectionsMaxIdle:       10 * time.Minute,
		SessionTimeout:           9 * time.Second,
		HeartbeatInterval:        2 * time.Second,
		ProducerIDBlockSize:      1000,
		SnapshotThreshold:        8192,
		ElectionTimeout:          time.Second,
		DefaultReplicationFactor: 1,
		NumPartitions:            1,

		AutoLeaderRebalance:          true,
		LeaderImbalanceCheckInterval: 300 * time.Second,
		LeaderImbalancePerBrokerPct:  10,
	}
}

// Validate reports the first inconsistent setting, naming the
// server.properties key it comes from.
func (c Config) Validate() error {
	if len(c.Voters) == 0 {
		return fmt.Errorf("controller.quorum.voters: at least one voter is required")
	}
	seen := map[int32]bool{}
	self := false
	for _, v := range c.Voters {
		if seen[v.ID] {
			return fmt.Errorf("controller.quorum.voters: node id %d appears twice", v.ID)
		}
		seen[v.ID] = true
		self = self || v.ID == c.NodeID
	}
	switch {
	case c.Voter && !self:
		return fmt.Errorf("node.id %d: not in controller.quorum.voters although process.roles includes controller", c.NodeID)
	case !c.Voter && self:
		return fmt.Errorf("node.id %d: listed in controller.quorum.voters but process.roles lacks controller", c.NodeID)
	case c.Dir == "":
		return fmt.Errorf("metadata.log.dir: empty")
	case c.SessionTimeout <= c.HeartbeatInterval:
		return fmt.Errorf("broker.session.timeout.ms %d: must exceed broker.heartbeat.interval.ms %d",
			c.SessionTimeout.Milliseconds(), c.HeartbeatInterval.Milliseconds())
	case c.ProducerIDBlockSize < 1:
		return fmt.Errorf("producer id block size %d: must be positive", c.ProducerIDBlockSize)
	}
	return nil
}
