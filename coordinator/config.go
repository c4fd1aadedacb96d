package coordinator

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/gokafka/gokafka/auth"
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
	// ServerTLS seals the controller listener (listener.name.<controller>.
	// ssl.*): every connection completes a TLS handshake with a client
	// certificate that verifies against ClientCAs before its first byte is
	// read, so Raft and the controller RPCs both ride it. It must require
	// and verify client certificates (ssl.client.auth=required). nil keeps
	// the listener plaintext.
	ServerTLS *tls.Config
	// ClientTLS is what this node presents and trusts when it dials a
	// peer's controller listener (Raft and forwarded operations). Its
	// ServerName, when empty, is the host of the address dialled. It is
	// set exactly when ServerTLS is: every node of a quorum both listens
	// and dials.
	ClientTLS *tls.Config
	// AuthorizePeer, when set, is asked about every peer that completed
	// the handshake; false closes the connection. Kafka authorizes
	// ClusterAction on the principal the peer's certificate maps to; nil
	// admits any certificate the trust store verifies.
	AuthorizePeer func(state tls.ConnectionState) bool
	// SASL, when set, makes every connection to the controller listener
	// authenticate with SASL/PLAIN before its first byte is read
	// (SASL_PLAINTEXT; SASL_SSL with ServerTLS, whose client certificates
	// are then optional and AuthorizePeer unused). nil: no SASL.
	SASL *ControllerSASL
	// AuthorizePrincipal, when set, is asked about every peer that
	// authenticated with SASL; false closes the connection. Kafka
	// authorizes ClusterAction on that principal; nil admits every user
	// of ControllerSASL.Users.
	AuthorizePrincipal func(auth.Principal) bool
	// Dir holds the Raft log, stable store and snapshots
	// (metadata.log.dir, defaulting to the first of log.dirs).
	Dir string
	// OnStoreFailure, when set, hears of the first write to Dir that the
	// disk refused (store_failure.go), with the error, on the goroutine
	// that wrote and before the write returns: Kafka halts the process
	// when its metadata log directory fails, and so should its caller.
	OnStoreFailure func(dir string, err error)
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
	// ElectionTimeout is how long a candidate waits for votes before it
	// stands again (controller.quorum.election.timeout.ms), at least
	// FetchTimeout: Raft refuses a shorter one. One voter needs no wait,
	// so it is shortened automatically.
	ElectionTimeout time.Duration
	// FetchTimeout is controller.quorum.fetch.timeout.ms: a follower
	// that hears nothing from the leader for this long stands for
	// election, and a leader that hears from no majority for this long
	// steps down (Kafka's leader resigns after 1.5 times it; Raft's lease
	// cannot exceed the follower's wait).
	FetchTimeout time.Duration
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

// ControllerSASL is SASL/PLAIN on the controller listener, from its
// listener.name.<controller>.plain.sasl.jaas.config line. Kafka offers no
// SCRAM there: SCRAM credentials live in the metadata the controllers
// serve, which a node must reach before it could read them.
type ControllerSASL struct {
	// Users are who may connect: user name → password, the line's
	// user_<name> options.
	Users map[string]string
	// Username and Password are what this node presents when it dials a
	// peer's controller listener: the line's username and password.
	Username, Password string
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
		FetchTimeout:             2 * time.Second,
		DefaultReplicationFactor: 1,
		NumPartitions:            1,

		AutoLeaderRebalance:          true,
		LeaderImbalanceCheckInterval: 300 * time.Second,
		LeaderImbalancePerBrokerPct:  10,
	}
}

// minRaftTimeout is the shortest election or fetch timeout Raft accepts.
const minRaftTimeout = 5 * time.Millisecond

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
	case c.ElectionTimeout < minRaftTimeout:
		return fmt.Errorf("controller.quorum.election.timeout.ms %d: must be at least %d", c.ElectionTimeout.Milliseconds(), minRaftTimeout.Milliseconds())
	case c.FetchTimeout < minRaftTimeout:
		return fmt.Errorf("controller.quorum.fetch.timeout.ms %d: must be at least %d", c.FetchTimeout.Milliseconds(), minRaftTimeout.Milliseconds())
	case c.ProducerIDBlockSize < 1:
		return fmt.Errorf("producer id block size %d: must be positive", c.ProducerIDBlockSize)
	}
	if err := c.validateSASL(); err != nil {
		return err
	}
	return c.validateTLS()
}

// validateSASL refuses a SASL controller listener that no peer could get
// into, or that this node could not get into its peers with.
func (c Config) validateSASL() error {
	switch s := c.SASL; {
	case s == nil:
		return nil
	case len(s.Users) == 0:
		return errors.New("controller listener SASL/PLAIN: no user_<name> may connect")
	case s.Username == "" || s.Password == "":
		return errors.New("controller listener SASL/PLAIN: no username and password to present to peers")
	}
	return nil
}

// validateTLS refuses a controller listener that would let a peer in
// without a verified certificate (unless SASL authenticates it), and
// half-sealed settings that could never reach a peer.
func (c Config) validateTLS() error {
	s, cl := c.ServerTLS, c.ClientTLS
	switch {
	case s == nil && cl == nil:
		return nil
	case s == nil || cl == nil:
		return errors.New("controller listener TLS: the listener (ServerTLS) and the dialing side (ClientTLS) must be set together")
	case len(s.Certificates) == 0 && s.GetCertificate == nil && s.GetConfigForClient == nil:
		return errors.New("controller listener TLS: no keystore certificate to present")
	case c.SASL != nil:
		return nil // SASL_SSL: peers authenticate with SASL, certificates optional
	case s.ClientAuth != tls.RequireAndVerifyClientCert:
		return fmt.Errorf("controller listener TLS: ssl.client.auth must be required (client auth is %v): "+
			"a peer without a verified certificate could register, join or vote", s.ClientAuth)
	case s.ClientCAs == nil && s.GetConfigForClient == nil:
		return errors.New("controller listener TLS: no truststore to verify peers' certificates against")
	case len(cl.Certificates) == 0 && cl.GetClientCertificate == nil:
		return errors.New("controller listener TLS: no client certificate to present to peers, which require one")
	}
	return nil
}
