package broker

import (
	"fmt"
	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/txn"
	"math"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Listener is one entry of listeners or advertised.listeners.
type Listener struct {
	Name string // PLAINTEXT, or any name mapped in listener.security.protocol.map
	Host string // empty binds every interface
	Port int
	// Security is how the listener authenticates clients; nil is
	// PLAINTEXT.
	Security *Security
}

// Addr is host:port for net.Listen and net.Dial.
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// Config is the broker side of server.properties.
type Config struct {
	NodeID int32  // node.id (broker.id)
	Rack   string // broker.rack
	// Listeners are the client listeners this broker serves (the
	// controller listener belongs to the coordinator).
	Listeners []Listener
	// AdvertisedListeners are what Metadata tells clients, by listener name.
	AdvertisedListeners []Listener

	AutoCreateTopics         bool          // auto.create.topics.enable
	NumPartitions            int32         // num.partitions
	DefaultReplicationFactor int16         // default.replication.factor
	MinInsyncReplicas        int           // min.insync.replicas
	SocketRequestMaxBytes    int32         // socket.request.max.bytes
	SocketSendBufferBytes    int           // socket.send.buffer.bytes; -1 = OS default
	SocketReceiveBufferBytes int           // socket.receive.buffer.bytes; -1 = OS default
	NumNetworkThreads        int           // num.network.threads (accepted; goroutines serve connections)
	NumIOThreads             int           // num.io.threads (accepted; each connection handles its own requests, bounded by queued.max.request.bytes)
	ReplicaLagTimeMax        time.Duration // replica.lag.time.max.ms
	// The internal topic that stores committed offsets:
	// offsets.topic.num.partitions and offsets.topic.replication.factor.
	OffsetsTopicPartitions        int32
	OffsetsTopicReplicationFactor int16
	OffsetsTopicSegmentBytes      int64 // offsets.topic.segment.bytes
	// offsets.retention.minutes: how long an empty group's offsets (or a
	// standalone commit) are kept; offsets.retention.check.interval.ms.
	OffsetsRetention              time.Duration
	OffsetsRetentionCheckInterval time.Duration
	// group.initial.rebalance.delay.ms, group.min.session.timeout.ms,
	// group.max.session.timeout.ms.
	GroupInitialRebalanceDelay time.Duration
	GroupMinSessionTimeout     time.Duration
	GroupMaxSessionTimeout     time.Duration
	GroupMaxSize               int // group.max.size
	// Txn is the transaction coordinator's transaction.* keys.
	Txn txn.Config
	// UncleanLeaderElection is unclean.leader.election.enable, which the
	// coordinator applies; the broker reports it in DescribeConfigs.
	UncleanLeaderElection bool
	// ServerConfigs is every key the server knows, as server.properties set
	// it or by default, for DescribeConfigs on this broker.
	ServerConfigs []ServerConfig
	// Requests, when set, is told about every request served (metrics).
	Requests RequestObserver
	// TxnPhases, when set, is told how long each phase of a transaction
	// took (metrics).
	TxnPhases txn.PhaseObserver
	// MaxInFlightPerConn bounds the responses queued on one connection; a
	// client pipelining beyond it is simply not read until one is written.
	MaxInFlightPerConn int

	// Limits on what clients may hold, with Kafka's keys and defaults.
	// QueuedMaxRequestBytes is queued.max.request.bytes: the bytes of
	// requests read but not yet answered, across all connections; reading
	// waits while they are spent. -1 (or 0) = unbounded.
	QueuedMaxRequestBytes int64
	// MaxConnections is max.connections; MaxConnectionsPerIP is
	// max.connections.per.ip, with max.connections.per.ip.overrides by IP
	// address. A connection beyond them is closed as it is accepted.
	MaxConnections              int
	MaxConnectionsPerIP         int
	MaxConnectionsPerIPOverride map[netip.Addr]int
	// ConnectionsMaxIdle is connections.max.idle.ms: a connection with no
	// request in flight that sends nothing for this long is closed.
	// Zero or negative never closes one.
	ConnectionsMaxIdle time.Duration
	// FetchMaxBytes is fetch.max.bytes: the most record bytes one fetch
	// response carries, whatever the request asks (the first batch of
	// the first partition excepted, so that a consumer always progresses).
	FetchMaxBytes int32
	// FetchSessionCacheSlots is max.incremental.fetch.session.cache.slots:
	// the most fetch sessions (KIP-227) this broker keeps.
	FetchSessionCacheSlots int

	// InterBrokerListener is inter.broker.listener.name: the listener this
	// broker dials on the others to replicate, with Peer's credentials.
	// Empty is the first of Listeners.
	InterBrokerListener string
	Peer                PeerSecurity
	// Authorizer, when set (authorizer.class.name), decides what each
	// principal may do; nil allows everything, as Kafka does without one.
	Authorizer *auth.Authorizer
	// ReauthMax is connections.max.reauth.ms (KIP-368): how long a SASL
	// session lasts before the client must authenticate again; zero never
	// expires one.
	ReauthMax time.Duration
	// FailedAuthenticationDelay is connection.failed.authentication.delay.ms:
	// how long a failed authentication waits before its answer.
	FailedAuthenticationDelay time.Duration
}

// DefaultConfig returns Kafka's defaults for a broker with id 1 listening on
// :9092 and advertising localhost:9092.
func DefaultConfig() Config {
	return Config{
		NodeID:                        1,
		Listeners:                     []Listener{{Name: "PLAINTEXT", Port: 9092}},
		AdvertisedListeners:           []Listener{{Name: "PLAINTEXT", Host: "localhost", Port: 9092}},
		AutoCreateTopics:              true,
		NumPartitions:                 1,
		DefaultReplicationFactor:      1,
		MinInsyncReplicas:             1,
		SocketRequestMaxBytes:         100 << 20,
		SocketSendBufferBytes:         100 << 10,
		SocketReceiveBufferBytes:      100 << 10,
		NumNetworkThreads:             3,
		NumIOThreads:                  8,
		ReplicaLagTimeMax:             30 * time.Second,
		OffsetsTopicPartitions:        50,
		OffsetsTopicReplicationFactor: 3,
		OffsetsTopicSegmentBytes:      100 << 20,
		OffsetsRetention:              7 * 24 * time.Hour,
		OffsetsRetentionCheckInterval: 10 * time.Minute,
		Txn:                           txn.DefaultConfig(),
		GroupInitialRebalanceDelay:    3 * time.Second,
		GroupMinSessionTimeout:        6 * time.Second,
		GroupMaxSessionTimeout:        30 * time.Minute,
		GroupMaxSize:                  math.MaxInt32,
		MaxInFlightPerConn:            64,
		QueuedMaxRequestBytes:         -1,
		MaxConnections:                math.MaxInt32,
		MaxConnectionsPerIP:           math.MaxInt32,
		ConnectionsMaxIdle:            10 * time.Minute,
		FetchMaxBytes:                 55 << 20,
		FetchSessionCacheSlots:        1000,
		FailedAuthenticationDelay:     100 * time.Millisecond,
	}
}

// Validate reports the first setting Kafka would reject, naming its key.
func (c Config) Validate() error {
	switch {
	case c.NodeID < 0:
		return fmt.Errorf("node.id %d: must not be negative", c.NodeID)
	case len(c.Listeners) == 0:
		return fmt.Errorf("listeners: no client listener (only the controller listener is set)")
	case c.NumPartitions < 1:
		return fmt.Errorf("num.partitions %d: must be at least 1", c.NumPartitions)
	case c.DefaultReplicationFactor < 1:
		return fmt.Errorf("default.replication.factor %d: must be at least 1", c.DefaultReplicationFactor)
	case c.MinInsyncReplicas < 1:
		return fmt.Errorf("min.insync.replicas %d: must be at least 1", c.MinInsyncReplicas)
	case c.SocketRequestMaxBytes < 1:
		return fmt.Errorf("socket.request.max.bytes %d: must be positive", c.SocketRequestMaxBytes)
	case c.NumNetworkThreads < 1:
		return fmt.Errorf("num.network.threads %d: must be at least 1", c.NumNetworkThreads)
	case c.NumIOThreads < 1:
		return fmt.Errorf("num.io.threads %d: must be at least 1", c.NumIOThreads)
	case c.MaxInFlightPerConn < 1:
		return fmt.Errorf("max in-flight requests per connection %d: must be at least 1", c.MaxInFlightPerConn)
	case c.MaxConnections < 0:
		return fmt.Errorf("max.connections %d: must not be negative", c.MaxConnections)
	case c.MaxConnectionsPerIP < 0:
		return fmt.Errorf("max.connections.per.ip %d: must not be negative", c.MaxConnectionsPerIP)
	case c.FetchMaxBytes < 0:
		return fmt.Errorf("fetch.max.bytes %d: must not be negative", c.FetchMaxBytes)
	case c.FetchSessionCacheSlots < 0:
		return fmt.Errorf("max.incremental.fetch.session.cache.slots %d: must not be negative", c.FetchSessionCacheSlots)
	}
	if err := c.Group().Validate(); err != nil {
		return err
	}
	if err := c.Txn.Validate(); err != nil {
		return err
	}
	seen := map[int]string{}
	for _, l := range c.Listeners {
		if l.Port <= 0 || l.Port > 65535 {
			return fmt.Errorf("listeners: %s has port %d", l.Name, l.Port)
		}
		if other, ok := seen[l.Port]; ok {
			return fmt.Errorf("listeners: %s and %s both use port %d", other, l.Name, l.Port)
		}
		seen[l.Port] = l.Name
	}
	return nil
}

// ServerConfig is one server.properties key as the server runs with it.
type ServerConfig struct {
	Name, Value string
	Default     bool // not set in the file
}
