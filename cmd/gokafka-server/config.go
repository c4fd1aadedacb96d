package main

import (
	_ "embed"
	"errors"
	"fmt"
	"github.com/gokafka/gokafka/auth"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/config"
	"github.com/gokafka/gokafka/console"
	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/properties"
)

// defaultProperties is the single-node configuration used without --config.
//
//go:embed default.properties
var defaultProperties string

// serverConfig is everything server.properties configures, one Config per
// package that consumes it.
type serverConfig struct {
	Roles        []string // process.roles: broker, controller or both
	Broker       broker.Config
	Log          klog.ManagerConfig
	Coordinator  coordinator.Config
	HTTPListener string // http.listener: serves /metrics, /healthz and /readyz
	// MetricsPerPartition is metrics.per.partition.enable: false drops the
	// per-partition series (log offsets and sizes, per-partition lag) to
	// bound cardinality on brokers with many partitions.
	MetricsPerPartition bool
	PprofEnable         bool // http.pprof.enable: serve /debug/pprof
	// Console is the web console on http.listener (http.console.*); its
	// listener fields are filled in when the broker starts (console.go).
	Console console.Config
	// Keystores are the TLS sides of the listeners, which reload their
	// keystore files when they change on disk.
	Keystores []keystore
	// ControllerPrincipals are the controller listener's
	// ssl.principal.mapping.rules, naming the peers it admits.
	ControllerPrincipals auth.PrincipalRules
}

// keystore is one listener's TLS side, named for the log.
type keystore struct {
	What string // "listener SSL", "controller listener CONTROLLER", ...
	TLS  *auth.TLS
}

// hasRole reports whether process.roles includes role.
func (c *serverConfig) hasRole(role string) bool { return slices.Contains(c.Roles, role) }

// loadConfig reads path ("" = the embedded default.properties) and returns
// the config and the warnings, or every problem of the file (see
// parseConfig).
func loadConfig(path string) (*serverConfig, []string, error) {
	var p *properties.Properties
	var err error
	if path == "" {
		path = "default.properties (embedded)"
		p, err = properties.Parse(strings.NewReader(defaultProperties))
	} else {
		p, err = properties.Load(path)
	}
	if err != nil {
		return nil, nil, err // names the file (and line) already
	}
	return parseConfig(path, p)
}

// parseConfig maps p, read from file, onto the package configs: each
// package's DefaultConfig, then every key of settings, then what depends on
// several keys, then each package's Validate. It reports every problem at
// once, one line each naming file, line, key and value, and where it can
// the line to write instead: an operator porting a Kafka file fixes it in
// one pass, not one start per problem. The warnings come back either way.
func parseConfig(file string, p *properties.Properties) (*serverConfig, []string, error) {
	b := &build{
		file:   file,
		props:  p,
		source: map[string]properties.Entry{},
		failed: map[string]bool{},
		cfg: serverConfig{
			Broker:      broker.DefaultConfig(),
			Log:         klog.DefaultManagerConfig(),
			Coordinator: coordinator.DefaultConfig(),
			Console:     console.DefaultConfig(),
		},
	}
	b.warnDuplicatesAndUnknown()
	b.fail(b.checkZooKeeper())
	for _, s := range settings {
		if err := b.apply(s); err != nil {
			b.fail(err)
			b.failed[s.key] = true
		}
	}
	b.applyCatalogueOnly()
	// What resolve derives from a key that failed would only repeat that
	// key's problem in other words.
	if !slices.ContainsFunc(resolveReads, func(k string) bool { return b.failed[k] }) {
		b.resolve()
	}
	if len(b.problems) == 0 {
		if err := b.cfg.validate(); err != nil {
			b.fail(fmt.Errorf("%s: %w", b.file, err))
		}
	}
	if len(b.problems) > 0 {
		return nil, b.warningList(), errors.Join(b.problems...)
	}
	return &b.cfg, b.warningList(), nil
}

// resolveReads are the keys resolve combines.
var resolveReads = []string{"node.id", "process.roles", "listeners", "advertised.listeners", "listener.security.protocol.map",
	"controller.listener.names", "controller.quorum.voters", "log.dirs", "log.dir", "metadata.log.dir"}

// fail records a problem; nil is none.
func (b *build) fail(err error) {
	if err != nil {
		b.problems = append(b.problems, err)
	}
}

// A setting maps one server.properties key onto the package configs. The
// key's default, when it is absent, is the catalogue's (config.Broker): a
// missing key behaves as if its documented default were written, and a
// key without one keeps its package default or is derived from other keys
// (see resolve).
type setting struct {
	key string
	// alias is another name for the same key (broker.id for node.id); when
	// both are given they must agree.
	alias string
	// overriddenBy lists keys that win over this one when given, as Kafka
	// lets log.retention.ms win over log.retention.hours. Those keys have
	// no def of their own, so an absent one never overrides.
	overriddenBy []string
	// required, when set, makes the key mandatory and says why; add is
	// the line to write when it is missing.
	required, add string
	parse         parser
}

// parser checks one trimmed value and stores it.
type parser func(b *build, v string) error

const (
	maxInt32  = math.MaxInt32
	maxInt64  = math.MaxInt64
	msPerHour = int64(time.Hour / time.Millisecond)
	msPerMin  = int64(time.Minute / time.Millisecond)
)

// settings is every key gokafka reads, with Kafka's name, default and range.
var settings = []setting{
	// Identity and roles.
	{key: "node.id", alias: "broker.id", required: "every node needs its own id (broker.id is accepted too)", add: "node.id=1 (a number of its own on each node)",
		parse: number(0, maxInt32, func(b *build, id int32) { b.cfg.Broker.NodeID, b.cfg.Coordinator.NodeID = id, id })},
	{key: "process.roles", required: "set broker, controller, or broker,controller", add: "process.roles=broker,controller", parse: parseRoles},
	{key: "broker.rack", parse: text(func(b *build, s string) { b.cfg.Broker.Rack = s })},

	// Listeners: the controller listener is the coordinator's, the rest serve clients.
	{key: "listeners", parse: parseBoundListeners},
	{key: "advertised.listeners", parse: func(b *build, v string) (err error) { b.advertised, err = parseListeners(v); return err }},
	{key: "listener.security.protocol.map", parse: parseProtocolMap},
	{key: "controller.listener.names", parse: parseControllerNames},
	{key: "http.listener", parse: parseHTTPListener},
	{key: "http.console.enable", parse: boolean(func(b *build, on bool) { b.cfg.Console.Enable = on })},
	{key: "http.console.changes.enable", parse: boolean(func(b *build, on bool) { b.cfg.Console.ChangesEnable = on })},
	{key: "http.console.max.sessions", parse: number(1, 100000, func(b *build, n int) { b.cfg.Console.MaxSessions = n })},
	{key: "http.console.session.timeout.ms", parse: millis(1000, maxInt32, func(b *build, d time.Duration) { b.cfg.Console.SessionTimeout = d })},
	{key: "http.pprof.enable", parse: boolean(func(b *build, on bool) { b.cfg.PprofEnable = on })},
	{key: "metrics.per.partition.enable", parse: boolean(func(b *build, on bool) { b.cfg.MetricsPerPartition = on })},

	// The metadata quorum.
	{key: "controller.quorum.voters", required: "list the controller nodes as id@host:port,...",
		add: "controller.quorum.voters=1@kafka-01:9093,2@kafka-02:9093,3@kafka-03:9093 (every controller's node.id@host:port of its controller listener)", parse: parseVoters},
	{key: "metadata.log.dir", parse: text(func(b *build, s string) { b.metadataDir = s })},
	{key: "broker.session.timeout.ms", parse: millis(1, maxInt32, func(b *build, d time.Duration) { b.cfg.Coordinator.SessionTimeout = d })},
	{key: "broker.heartbeat.interval.ms", parse: millis(1, maxInt32, func(b *build, d time.Duration) { b.cfg.Coordinator.HeartbeatInterval = d })},
	{key: "controller.quorum.election.timeout.ms", parse: millis(5, maxInt32, func(b *build, d time.Duration) { b.cfg.Coordinator.ElectionTimeout = d })},
	{key: "controller.quorum.fetch.timeout.ms", parse: millis(5, maxInt32, func(b *build, d time.Duration) { b.cfg.Coordinator.FetchTimeout = d })},

	// Log directories.
	{key: "log.dirs", parse: parseLogDirs},
	{key: "log.dir", overriddenBy: []string{"log.dirs"}, parse: parseLogDirs},
	{key: "num.recovery.threads.per.data.dir", parse: number(1, maxInt32, func(b *build, n int) { b.cfg.Log.RecoveryThreadsPerDir = n })},

	// Topic defaults.
	{key: "num.partitions", parse: number(1, maxInt32, func(b *build, n int32) { b.cfg.Broker.NumPartitions, b.cfg.Coordinator.NumPartitions = n, n })},
	{key: "default.replication.factor", parse: number(1, math.MaxInt16, func(b *build, n int16) {
		b.cfg.Broker.DefaultReplicationFactor, b.cfg.Coordinator.DefaultReplicationFactor = n, n
	})},
	{key: "min.insync.replicas", parse: number(1, maxInt32, func(b *build, n int) { b.cfg.Broker.MinInsyncReplicas = n })},
	{key: "auto.create.topics.enable", parse: boolean(func(b *build, on bool) { b.cfg.Broker.AutoCreateTopics = on })},
	{key: "message.max.bytes", parse: number(0, maxInt32, func(b *build, n int32) { b.log().MaxMessageBytes = n })},
	{key: "log.cleanup.policy", parse: parseCleanupPolicy},
	{key: "log.message.timestamp.type", parse: oneOf([]string{"CreateTime", "LogAppendTime"}, func(b *build, s string) {
		b.log().LogAppendTime = s == "LogAppendTime"
	})},

	// Segments and retention. The finer unit wins, as in Kafka; a negative
	// retention keeps logs forever.
	{key: "log.segment.bytes", parse: number(14, maxInt32, func(b *build, n int64) { b.log().SegmentBytes = n })},
	{key: "log.roll.hours", overriddenBy: []string{"log.roll.ms"}, parse: number(1, maxInt32, func(b *build, h int64) { b.log().SegmentMs = h * msPerHour })},
	{key: "log.roll.ms", parse: number(1, maxInt64, func(b *build, ms int64) { b.log().SegmentMs = ms })},
	{key: "log.retention.hours", overriddenBy: []string{"log.retention.minutes", "log.retention.ms"}, parse: number(math.MinInt32, maxInt32, retentionIn(msPerHour))},
	{key: "log.retention.minutes", overriddenBy: []string{"log.retention.ms"}, parse: number(math.MinInt32, maxInt32, retentionIn(msPerMin))},
	{key: "log.retention.ms", parse: number(math.MinInt64, maxInt64, retentionIn(1))},
	{key: "log.retention.bytes", parse: number(math.MinInt64, maxInt64, func(b *build, n int64) { b.log().RetentionBytes = max(n, -1) })},
	{key: "log.retention.check.interval.ms", parse: millis(1, maxInt64, func(b *build, d time.Duration) { b.cfg.Log.RetentionCheckInterval = d })},
	{key: "log.cleaner.enable", parse: boolean(func(b *build, on bool) { b.cfg.Log.CleanerEnable = on })},
	{key: "log.cleaner.backoff.ms", parse: millis(1, maxInt64, func(b *build, d time.Duration) { b.cfg.Log.CleanerBackoff = d })},
	{key: "log.segment.fd.cache.size", parse: number(-1, maxInt32, func(b *build, n int) { b.cfg.Log.SegmentFileCacheSize = n })},
	{key: "log.cleaner.delete.retention.ms", parse: number(0, maxInt64, func(b *build, ms int64) { b.log().DeleteRetentionMs = ms })},
	{key: "log.cleaner.min.cleanable.ratio", parse: parseRatio},
	{key: "log.segment.delete.delay.ms", parse: number(0, maxInt64, func(b *build, ms int64) { b.log().FileDeleteDelayMs = ms })},
	{key: "log.index.interval.bytes", parse: number(0, maxInt32, func(b *build, n int32) { b.log().IndexIntervalBytes = n })},
	{key: "log.index.size.max.bytes", parse: number(8, maxInt32, func(b *build, n int32) { b.log().IndexSizeMaxBytes = n })},

	// Flushing. Kafka leaves fsync to the OS by default and relies on
	// replication; so does gokafka.
	{key: "log.flush.interval.messages", parse: number(1, maxInt64, func(b *build, n int64) { b.log().FlushIntervalMessages = n })},
	{key: "log.flush.interval.ms", parse: number(0, maxInt64, func(b *build, ms int64) { b.log().FlushIntervalMs = ms })},
	{key: "log.flush.before.ack", parse: boolean(func(b *build, on bool) { b.log().FlushBeforeAck = on })},
	{key: "log.flush.scheduler.interval.ms", parse: millis(1, maxInt64, func(b *build, d time.Duration) { b.cfg.Log.FlushSchedulerInterval = d })},
	{key: "log.flush.offset.checkpoint.interval.ms", parse: millis(1, maxInt32, func(b *build, d time.Duration) { b.cfg.Log.FlushCheckpointInterval = d })},
	{key: "log.flush.start.offset.checkpoint.interval.ms", parse: millis(1, maxInt32, func(b *build, d time.Duration) { b.cfg.Log.FlushStartOffsetInterval = d })},

	// Network and threads.
	{key: "socket.send.buffer.bytes", parse: number(-1, maxInt32, func(b *build, n int) { b.cfg.Broker.SocketSendBufferBytes = n })},
	{key: "socket.receive.buffer.bytes", parse: number(-1, maxInt32, func(b *build, n int) { b.cfg.Broker.SocketReceiveBufferBytes = n })},
	{key: "socket.request.max.bytes", parse: number(1, maxInt32, func(b *build, n int32) { b.cfg.Broker.SocketRequestMaxBytes = n })},
	{key: "queued.max.request.bytes", parse: number(math.MinInt64, maxInt64, func(b *build, n int64) { b.cfg.Broker.QueuedMaxRequestBytes = n })},
	{key: "max.connections", parse: number(0, maxInt32, func(b *build, n int) { b.cfg.Broker.MaxConnections = n })},
	{key: "max.connections.per.ip", parse: number(0, maxInt32, func(b *build, n int) { b.cfg.Broker.MaxConnectionsPerIP = n })},
	{key: "max.connections.per.ip.overrides", parse: parseConnectionOverrides},
	{key: "connections.max.idle.ms", parse: number(math.MinInt64, maxInt64, func(b *build, ms int64) {
		idle := time.Duration(min(ms, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
		b.cfg.Broker.ConnectionsMaxIdle, b.cfg.Coordinator.ConnectionsMaxIdle = idle, max(idle, 0)
	})},
	{key: "connections.max.reauth.ms", parse: millis(0, maxInt64, func(b *build, d time.Duration) { b.cfg.Broker.ReauthMax = d })},
	{key: "connection.failed.authentication.delay.ms", parse: millis(0, maxInt32, func(b *build, d time.Duration) { b.cfg.Broker.FailedAuthenticationDelay = d })},
	{key: "fetch.max.bytes", parse: number(0, maxInt32, func(b *build, n int32) { b.cfg.Broker.FetchMaxBytes = n })},
	{key: "max.incremental.fetch.session.cache.slots", parse: number(0, maxInt32, func(b *build, n int) { b.cfg.Broker.FetchSessionCacheSlots = n })},
	{key: "num.network.threads", parse: number(1, maxInt32, func(b *build, n int) { b.cfg.Broker.NumNetworkThreads = n })},
	{key: "num.io.threads", parse: number(1, maxInt32, func(b *build, n int) { b.cfg.Broker.NumIOThreads = n })},

	// Replication.
	{key: "replica.lag.time.max.ms", parse: millis(1, maxInt64, func(b *build, d time.Duration) { b.cfg.Broker.ReplicaLagTimeMax = d })},

	// Kafka keys that later work will use: accepted and checked, not applied
	// yet. Each has no field in the package configs so far.
	{key: "unclean.leader.election.enable", parse: boolean(func(b *build, on bool) {
		b.cfg.Coordinator.UncleanLeaderElection, b.cfg.Broker.UncleanLeaderElection = on, on
	})},
	{key: "auto.leader.rebalance.enable", parse: boolean(func(b *build, on bool) { b.cfg.Coordinator.AutoLeaderRebalance = on })},
	{key: "leader.imbalance.check.interval.seconds", parse: number(1, math.MaxInt32, func(b *build, n int64) {
		b.cfg.Coordinator.LeaderImbalanceCheckInterval = time.Duration(n) * time.Second
	})},
	{key: "leader.imbalance.per.broker.percentage", parse: number(0, 100, func(b *build, n int) { b.cfg.Coordinator.LeaderImbalancePerBrokerPct = n })},
	{key: "offsets.topic.num.partitions", parse: number(1, maxInt32, func(b *build, n int32) { b.cfg.Broker.OffsetsTopicPartitions = n })},
	{key: "offsets.topic.replication.factor", parse: number(1, math.MaxInt16, func(b *build, n int16) { b.cfg.Broker.OffsetsTopicReplicationFactor = n })},
	{key: "offsets.topic.segment.bytes", parse: number(14, maxInt32, func(b *build, n int64) { b.cfg.Broker.OffsetsTopicSegmentBytes = n })},
	{key: "offsets.retention.minutes", parse: number(1, maxInt32, func(b *build, n int64) { b.cfg.Broker.OffsetsRetention = time.Duration(n) * time.Minute })},
	{key: "offsets.retention.check.interval.ms", parse: millis(1, math.MaxInt64, func(b *build, d time.Duration) { b.cfg.Broker.OffsetsRetentionCheckInterval = d })},
	{key: "group.initial.rebalance.delay.ms", parse: millis(0, maxInt32, func(b *build, d time.Duration) { b.cfg.Broker.GroupInitialRebalanceDelay = d })},
	{key: "group.min.session.timeout.ms", parse: millis(0, maxInt32, func(b *build, d time.Duration) { b.cfg.Broker.GroupMinSessionTimeout = d })},
	{key: "group.max.session.timeout.ms", parse: millis(0, maxInt32, func(b *build, d time.Duration) { b.cfg.Broker.GroupMaxSessionTimeout = d })},
	{key: "group.max.size", parse: number(1, maxInt32, func(b *build, n int) { b.cfg.Broker.GroupMaxSize = n })},
	{key: "transaction.state.log.num.partitions", parse: number(1, maxInt32, func(b *build, n int32) { b.cfg.Broker.Txn.Partitions = n })},
	{key: "transaction.state.log.replication.factor", parse: number(1, math.MaxInt16, func(b *build, n int16) { b.cfg.Broker.Txn.ReplicationFactor = n })},
	{key: "transaction.state.log.min.isr", parse: number(1, maxInt32, func(b *build, n int) { b.cfg.Broker.Txn.MinISR = n })},
	{key: "transaction.state.log.segment.bytes", parse: number(14, maxInt32, func(b *build, n int64) { b.cfg.Broker.Txn.SegmentBytes = n })},
	{key: "transaction.max.timeout.ms", parse: millis(1, maxInt32, func(b *build, d time.Duration) { b.cfg.Broker.Txn.MaxTimeout = d })},
	{key: "transactional.id.expiration.ms", parse: millis(1, maxInt32, func(b *build, d time.Duration) { b.cfg.Broker.Txn.IDExpiration = d })},
	{key: "transaction.abort.timed.out.transaction.cleanup.interval.ms", parse: millis(1, maxInt32, func(b *build, d time.Duration) { b.cfg.Broker.Txn.AbortTimedOutInterval = d })},
	{key: "transaction.remove.expired.transaction.cleanup.interval.ms", parse: millis(1, maxInt32, func(b *build, d time.Duration) { b.cfg.Broker.Txn.RemoveExpiredInterval = d })},
	{key: "add.partitions.to.txn.retry.backoff.max.ms", parse: millis(0, maxInt32, func(b *build, d time.Duration) { b.cfg.Broker.Txn.AddPartitionsMaxWait = d })},
}

// zookeeperConnect is recognised only to explain what replaces it.
const zookeeperConnect = "zookeeper.connect"

// build holds the config under construction, the values that other keys
// complete (listeners, advertised listeners, …) and the warnings so far.
type build struct {
	file  string // named in every problem and warning
	props *properties.Properties
	// source is the entry each applied key came from (Line 0 for a def),
	// so that errors found later still show the line and value.
	source   map[string]properties.Entry
	warnings []warning
	problems []error         // everything that stops the node starting
	failed   map[string]bool // keys whose value was refused
	cfg      serverConfig

	listeners       []broker.Listener // listeners, controller listener included
	advertised      []broker.Listener // advertised.listeners as given, nil if absent
	protocols       map[string]string // listener.security.protocol.map
	controllerNames []string          // controller.listener.names
	metadataDir     string            // metadata.log.dir, "" = first of log.dirs
}

type warning struct {
	line int
	msg  string
}

// warn records a warning about the entry e: file:line: key=value: what.
func (b *build) warn(e properties.Entry, format string, args ...any) {
	msg := fmt.Sprintf("%s=%s: %s", e.Key, shownFor(e.Key, e.Value), fmt.Sprintf(format, args...))
	b.warnings = append(b.warnings, warning{e.Line, msg})
}

// warningList returns the warnings in file order, each naming the file
// and line.
func (b *build) warningList() []string {
	sort.SliceStable(b.warnings, func(i, j int) bool { return b.warnings[i].line < b.warnings[j].line })
	out := make([]string, len(b.warnings))
	for i, w := range b.warnings {
		out[i] = fmt.Sprintf("%s:%d: %s", b.file, w.line, w.msg)
	}
	return out
}

func (b *build) log() *klog.Config { return &b.cfg.Log.Defaults }

func (b *build) warnDuplicatesAndUnknown() {
	for _, d := range b.props.Duplicates() {
		e, _ := b.props.Entry(d.Key)
		b.warn(e, "set on lines %s: the last one is used; remove the others", joinLines(d.Lines))
	}
	known := map[string]bool{zookeeperConnect: true}
	for _, k := range config.Broker {
		known[k.Name] = true
	}
	for _, s := range settings {
		if s.alias != "" {
			known[s.alias] = true
		}
	}
	for _, k := range b.props.Keys() {
		if known[k] || knownListenerKey(k) {
			continue
		}
		e, _ := b.props.Entry(k)
		if why, ok := config.Retired(k); ok {
			b.warn(e, "a ZooKeeper-mode Kafka key that gokafka does not use (%s); remove this line", why)
		} else {
			b.warn(e, "unknown key, ignored")
		}
	}
}

// joinLines writes 3, 5 and 7.
func joinLines(lines []int) string {
	s := make([]string, len(lines))
	for i, l := range lines {
		s[i] = strconv.Itoa(l)
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// checkZooKeeper explains that the embedded coordinator replaces ZooKeeper,
// suggesting controller.quorum.voters from the ZooKeeper hosts. Without
// voters the node cannot start, so then it is an error.
func (b *build) checkZooKeeper() error {
	zk, ok := b.props.Entry(zookeeperConnect)
	if !ok {
		return nil
	}
	suggestion := "controller.quorum.voters=" + votersFromZooKeeper(zk.Value)
	if _, ok := b.props.Entry("controller.quorum.voters"); ok {
		b.warn(zk, "not used: gokafka's embedded coordinator replaces ZooKeeper and controller.quorum.voters takes its place; remove this line")
		return nil
	}
	return b.badValue(zk, fmt.Errorf("not used: gokafka's embedded coordinator replaces ZooKeeper; remove this line and add %s, with the ids and hosts of the nodes whose process.roles include controller (gokafka-server migrate-config writes it)", suggestion))
}

// votersFromZooKeeper turns zk1:2181,zk2:2181/kafka into
// 1@zk1:9093,2@zk2:9093.
func votersFromZooKeeper(connect string) string {
	hosts, _, _ := strings.Cut(strings.TrimSpace(connect), "/") // drop the chroot
	var voters []string
	for _, hp := range splitList(hosts) {
		host := hp
		if h, _, err := net.SplitHostPort(hp); err == nil {
			host = h
		}
		voters = append(voters, fmt.Sprintf("%d@%s", len(voters)+1, net.JoinHostPort(host, "9093")))
	}
	if len(voters) == 0 {
		return "1@localhost:9093"
	}
	return strings.Join(voters, ",")
}

// missing explains a required key that is absent, with the line to add.
func (b *build) missing(s setting) error {
	if _, zk := b.props.Entry(zookeeperConnect); zk && s.key == "controller.quorum.voters" {
		return nil // checkZooKeeper has said what to write
	}
	return fmt.Errorf("%s: %s is missing: %s; add: %s", b.file, s.key, s.required, s.add)
}

// assume is the value a missing required key is taken to have while the
// rest of the file is checked.
func (b *build) assume(key string) string {
	switch key {
	case "node.id":
		return "1"
	case "process.roles":
		return "broker,controller"
	}
	return fmt.Sprintf("%d@localhost:9093", b.cfg.Coordinator.NodeID) // controller.quorum.voters
}

// apply finds the value of s (its key, its alias or its def) and parses it.
func (b *build) apply(s setting) error {
	for _, k := range s.overriddenBy {
		if winner, ok := b.props.Entry(k); ok {
			if e, ok := b.props.Entry(s.key); ok {
				b.warn(e, "ignored: %s on line %d takes precedence", k, winner.Line)
			}
			return nil
		}
	}
	e, ok, err := b.entry(s)
	switch {
	case err != nil:
		return err
	case !ok && s.required != "":
		b.fail(b.missing(s))
		e = properties.Entry{Key: s.key, Value: b.assume(s.key)} // to find the problems after this one
	case !ok && config.BrokerKey(s.key).NoDefault:
		return nil
	case !ok:
		e = properties.Entry{Key: s.key, Value: config.BrokerKey(s.key).Default}
	}
	b.source[s.key] = e
	if err := s.parse(b, strings.TrimSpace(e.Value)); err != nil {
		return b.badValue(e, err)
	}
	b.cfg.Broker.ServerConfigs = append(b.cfg.Broker.ServerConfigs,
		broker.ServerConfig{Name: s.key, Value: strings.TrimSpace(e.Value), Default: !ok})
	return nil
}

// applyCatalogueOnly checks the catalogue's broker keys that no setting
// reads (their effect is the broker's, from its ServerConfigs: the
// compression.type default, say, or none, as their documentation says).
func (b *build) applyCatalogueOnly() {
	read := map[string]bool{}
	for _, s := range settings {
		read[s.key] = true
	}
	for i := range config.Broker {
		k := &config.Broker[i]
		e, ok := b.props.Entry(k.Name)
		switch {
		case read[k.Name]:
			continue
		case ok:
			if err := k.Check(e.Value); err != nil {
				b.fail(b.badValue(e, err))
				continue
			}
		case k.NoDefault:
			continue
		default:
			e.Value = k.Default
		}
		b.cfg.Broker.ServerConfigs = append(b.cfg.Broker.ServerConfigs,
			broker.ServerConfig{Name: k.Name, Value: strings.TrimSpace(e.Value), Default: !ok})
	}
}

// entry returns the entry that sets s: its key or else its alias.
func (b *build) entry(s setting) (properties.Entry, bool, error) {
	e, ok := b.props.Entry(s.key)
	if s.alias == "" {
		return e, ok, nil
	}
	a, aliased := b.props.Entry(s.alias)
	switch {
	case aliased && !ok:
		return a, true, nil
	case aliased && strings.TrimSpace(a.Value) != strings.TrimSpace(e.Value):
		return e, ok, b.badValue(e, fmt.Errorf("conflicts with %s=%s on line %d; set only %s", a.Key, shown(a.Value), a.Line, s.key))
	}
	return e, ok, nil
}

// badValue is the one-line error for a bad value:
// server.properties:<line>: <key>=<value>: <what is wrong>.
func (b *build) badValue(e properties.Entry, err error) error {
	if e.Line == 0 {
		return fmt.Errorf("%s: %s=%s: %w", b.file, e.Key, shownFor(e.Key, e.Value), err)
	}
	return fmt.Errorf("%s:%d: %s=%s: %w", b.file, e.Line, e.Key, shownFor(e.Key, e.Value), err)
}

// badKey is badValue for a key already applied (or derived, if absent).
func (b *build) badKey(key string, err error) error {
	e, ok := b.source[key]
	if !ok {
		return fmt.Errorf("%s: %s: %w", b.file, key, err)
	}
	return b.badValue(e, err)
}

// shown quotes a value only where it would not read as one line.
func shown(v string) string {
	v = strings.TrimSpace(v)
	if v == "" || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(v)
	}
	return v
}

// shownFor is shown, but hides the value of a key that may hold a secret:
// a password, a private key or a JAAS line.
func shownFor(key, v string) string {
	if k := config.BrokerKey(key); k != nil && k.Type == config.Password ||
		strings.Contains(key, "password") || strings.HasSuffix(key, "sasl.jaas.config") || strings.HasSuffix(key, ".key") {
		return "(hidden)"
	}
	return shown(v)
}

// integer is the Go types Kafka's SHORT, INT and LONG keys land in.
type integer interface {
	~int | ~int16 | ~int32 | ~int64
}

// number parses a decimal integer within [lo, hi], as Kafka's Integer.parseInt
// and Long.parseLong do, and stores it.
func number[T integer](lo, hi T, set func(*build, T)) parser {
	return func(b *build, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		tooSmall := err != nil && strings.HasPrefix(v, "-") || err == nil && n < int64(lo)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			return errors.New("not a whole number")
		case tooSmall:
			return fmt.Errorf("must be at least %d", lo)
		case err != nil || n > int64(hi):
			return fmt.Errorf("must be at most %d", hi)
		}
		set(b, T(n))
		return nil
	}
}

// millis parses a duration in milliseconds within [lo, hi]. Kafka writes
// "never" as Long.MAX_VALUE, which time.Duration cannot hold: anything
// beyond its range means the longest duration it can.
func millis(lo, hi int64, set func(*build, time.Duration)) parser {
	const maxMillis = math.MaxInt64 / int64(time.Millisecond)
	return number(lo, hi, func(b *build, ms int64) { set(b, time.Duration(min(ms, maxMillis))*time.Millisecond) })
}

// retentionIn sets the retention time from a value in the given unit.
func retentionIn(unitMs int64) func(*build, int64) {
	return func(b *build, n int64) { b.log().RetentionMs = max(n*unitMs, -1) }
}

// boolean parses true or false in any case, as Kafka's BOOLEAN keys do.
func boolean(set func(*build, bool)) parser {
	return func(b *build, v string) error {
		switch strings.ToLower(v) {
		case "true":
			set(b, true)
		case "false":
			set(b, false)
		default:
			return errors.New("must be true or false")
		}
		return nil
	}
}

func text(set func(*build, string)) parser {
	return func(b *build, v string) error { set(b, v); return nil }
}

func oneOf(allowed []string, set func(*build, string)) parser {
	return func(b *build, v string) error {
		if !slices.Contains(allowed, v) {
			return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
		}
		set(b, v)
		return nil
	}
}

// ignore discards a checked value of a key not applied yet.
func ignore[T any](*build, T) {}

// splitList splits a Kafka LIST value at commas, trimming each item and
// skipping empty ones (Java's split drops a trailing empty item too).
func splitList(v string) []string {
	var items []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func parseRoles(b *build, v string) error {
	roles := splitList(v)
	if len(roles) == 0 {
		return errors.New("no role given: use broker, controller or broker,controller")
	}
	for i, r := range roles {
		switch {
		case r != "broker" && r != "controller":
			return fmt.Errorf("unknown role %q: use broker, controller or broker,controller", r)
		case slices.Contains(roles[:i], r):
			return fmt.Errorf("role %s appears twice", r)
		}
	}
	b.cfg.Roles = roles
	return nil
}

func parseLogDirs(b *build, v string) error {
	dirs := splitList(v)
	if len(dirs) == 0 {
		return errors.New("no directory given")
	}
	for i, d := range dirs {
		if slices.Contains(dirs[:i], d) {
			return fmt.Errorf("directory %s appears twice", d)
		}
	}
	b.cfg.Log.Dirs = dirs
	return nil
}

func parseRatio(b *build, v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return errors.New("must be a number from 0 to 1")
	}
	b.log().MinCleanableDirtyRatio = f
	return nil
}

// parseConnectionOverrides reads max.connections.per.ip.overrides,
// "host:count,...": each host (an address, or a name resolved now, as
// Kafka resolves it at startup) gets its own per-IP limit.
func parseConnectionOverrides(b *build, v string) error {
	overrides := map[netip.Addr]int{}
	for _, item := range splitList(v) {
		i := strings.LastIndex(item, ":")
		if i <= 0 {
			return fmt.Errorf("%s is not host:count", item)
		}
		host := strings.Trim(strings.TrimSpace(item[:i]), "[]")
		n, err := strconv.Atoi(strings.TrimSpace(item[i+1:]))
		if err != nil || n < 0 {
			return fmt.Errorf("%s: the count must be a whole number, at least 0", item)
		}
		addrs, err := net.LookupHost(host)
		if err != nil {
			return fmt.Errorf("%s: %w", item, err)
		}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil {
				overrides[ip.Unmap()] = n
			}
		}
	}
	b.cfg.Broker.MaxConnectionsPerIPOverride = overrides
	return nil
}

func parseCleanupPolicy(b *build, v string) error {
	var policy []string
	for _, p := range splitList(v) {
		if p != "delete" && p != "compact" {
			return fmt.Errorf("unknown policy %q: use delete, compact or compact,delete", p)
		}
		if !slices.Contains(policy, p) {
			policy = append(policy, p)
		}
	}
	if len(policy) == 0 {
		return errors.New("no policy given: use delete, compact or compact,delete")
	}
	b.log().CleanupPolicy = strings.Join(policy, ",")
	return nil
}

// parseListeners reads NAME://host:port,... with names in upper case, as
// Kafka normalises them.
func parseListeners(v string) ([]broker.Listener, error) {
	var ls []broker.Listener
	for _, item := range splitList(v) {
		name, hostPort, ok := strings.Cut(item, "://")
		item := shown(item) // for messages: a value may hold any character
		if !ok || name == "" {
			return nil, fmt.Errorf("%s is not NAME://host:port", item)
		}
		name = strings.ToUpper(name)
		host, port, err := splitHostPort(hostPort)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", shown(name), err)
		}
		if slices.ContainsFunc(ls, func(l broker.Listener) bool { return l.Name == name }) {
			return nil, fmt.Errorf("listener name %s appears twice", shown(name))
		}
		ls = append(ls, broker.Listener{Name: name, Host: host, Port: port})
	}
	if len(ls) == 0 {
		return nil, errors.New("no listener given")
	}
	return ls, nil
}

// parseBoundListeners reads listeners, which must not share a port.
func parseBoundListeners(b *build, v string) error {
	ls, err := parseListeners(v)
	if err != nil {
		return err
	}
	for i, l := range ls {
		for _, other := range ls[:i] {
			if other.Port == l.Port {
				return fmt.Errorf("%s and %s both use port %d", other.Name, l.Name, l.Port)
			}
		}
	}
	b.listeners = ls
	return nil
}

// splitHostPort reads host:port or [v6addr]:port; the host may be empty.
func splitHostPort(hostPort string) (string, int, error) {
	if !strings.Contains(hostPort, ":") {
		return "", 0, fmt.Errorf("%q has no port", hostPort)
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("bad port %q: must be from 1 to 65535", port)
	}
	return host, n, nil
}

func parseHTTPListener(b *build, v string) error {
	if _, _, err := splitHostPort(v); err != nil {
		return err
	}
	b.cfg.HTTPListener = v
	return nil
}

// parseProtocolMap reads NAME:PROTOCOL,... as Kafka does; whether each
// listener is served is decided in resolve, once all listeners are known.
func parseProtocolMap(b *build, v string) error {
	m := map[string]string{}
	for _, item := range splitList(v) {
		name, proto, ok := strings.Cut(item, ":")
		name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
		switch {
		case !ok || name == "":
			return fmt.Errorf("%s is not LISTENER_NAME:SECURITY_PROTOCOL", item)
		case !slices.Contains([]string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}, proto):
			return fmt.Errorf("unknown security protocol %q: use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", proto)
		case m[name] != "":
			return fmt.Errorf("listener name %s appears twice", name)
		}
		m[name] = proto
	}
	b.protocols = m
	return nil
}

func parseControllerNames(b *build, v string) error {
	names := splitList(strings.ToUpper(v))
	if len(names) == 0 {
		return errors.New("no listener name given")
	}
	b.controllerNames = names
	return nil
}

// parseVoters reads controller.quorum.voters.
func parseVoters(b *build, v string) (err error) {
	b.cfg.Coordinator.Voters, err = voterList(v)
	return err
}

// voterList reads id@host:port,... .
func voterList(v string) ([]coordinator.Voter, error) {
	var voters []coordinator.Voter
	for _, item := range splitList(v) {
		idText, hostPort, ok := strings.Cut(item, "@")
		item := shown(item) // for messages: a value may hold any character
		if !ok {
			return nil, fmt.Errorf("%s is not id@host:port", item)
		}
		id, err := strconv.ParseInt(idText, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("%s: node id %q must be a number from 0 to %d", item, idText, maxInt32)
		}
		host, port, err := splitHostPort(hostPort)
		if err == nil && host == "" {
			err = errors.New("no host")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", item, err)
		}
		if slices.ContainsFunc(voters, func(o coordinator.Voter) bool { return o.ID == int32(id) }) {
			return nil, fmt.Errorf("node id %d appears twice", id)
		}
		voters = append(voters, coordinator.Voter{ID: int32(id), Addr: net.JoinHostPort(host, strconv.Itoa(port))})
	}
	if len(voters) == 0 {
		return nil, errors.New("no voter given")
	}
	return voters, nil
}

// resolve sets what depends on several keys: which listener is the
// controller's, what each listener advertises, and the coordinator's
// addresses and directory. It records each problem and goes on with what a
// fix would give, so that one run finds them all.
func (b *build) resolve() {
	ctrl := b.controllerListener()
	b.checkProtocols()
	c := &b.cfg
	c.Broker.Listeners = slices.DeleteFunc(slices.Clone(b.listeners), func(l broker.Listener) bool { return l.Name == ctrl.Name })
	for i := range c.Broker.Listeners {
		var err error
		c.Broker.Listeners[i].Security, err = b.listenerSecurity(c.Broker.Listeners[i])
		b.fail(err)
	}
	b.fail(b.interBroker(c.Broker.Listeners))
	b.fail(b.controllerSecurity(ctrl))
	b.fail(b.authorizer())
	switch {
	case c.hasRole("broker") && len(c.Broker.Listeners) == 0:
		b.fail(b.badKey("listeners", errors.New("no client listener, although process.roles includes broker")))
	case !c.hasRole("broker") && len(c.Broker.Listeners) > 0:
		b.fail(b.badKey("listeners", fmt.Errorf("%s serves clients, but process.roles=controller runs no broker; keep only the controller listener", c.Broker.Listeners[0].Name)))
	}
	advertised, err := b.advertise()
	if err != nil {
		b.fail(err)
		return
	}
	var ctrlAdvertised broker.Listener
	c.Broker.AdvertisedListeners = nil
	for _, l := range advertised {
		if l.Name == ctrl.Name {
			ctrlAdvertised = l
		} else {
			c.Broker.AdvertisedListeners = append(c.Broker.AdvertisedListeners, l)
		}
	}
	c.Coordinator.Voter = c.hasRole("controller")
	c.Coordinator.ListenAddr = net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port))
	c.Coordinator.AdvertisedAddr, err = b.controllerAddr(ctrlAdvertised)
	b.fail(err)
	dir := b.metadataDir
	if dir == "" {
		dir = c.Log.Dirs[0]
	}
	c.Coordinator.Dir = filepath.Join(dir, "__cluster_metadata-0")
}

// controllerListener finds the one listener named in
// controller.listener.names. Without one it says which line to write and
// carries on as if it were written.
func (b *build) controllerListener() broker.Listener {
	var found []broker.Listener
	for _, l := range b.listeners {
		if slices.Contains(b.controllerNames, l.Name) {
			found = append(found, l)
		}
	}
	switch len(found) {
	case 0:
		l := broker.Listener{Name: b.controllerNames[0], Port: b.freeListenerPort(9093)}
		value := strings.TrimSpace(b.source["listeners"].Value)
		b.fail(b.badKey("listeners", fmt.Errorf(
			"no controller listener named %s (controller.listener.names): every node needs one, a broker-only node too, since Raft replicates the metadata to it there; write instead: listeners=%s,%s://:%d",
			l.Name, value, l.Name, l.Port)))
		b.listeners = append(b.listeners, l)
		return l
	case 1:
		return found[0]
	}
	b.fail(b.badKey("listeners", fmt.Errorf("%s and %s are both controller listeners; gokafka serves one", found[0].Name, found[1].Name)))
	return found[0]
}

// freeListenerPort is port, or the next one no listener uses.
func (b *build) freeListenerPort(port int) int {
	for slices.ContainsFunc(b.listeners, func(l broker.Listener) bool { return l.Port == port }) {
		port++
	}
	return port
}

// checkProtocols finds every listener's security protocol. While the map
// is left at its default, Kafka maps controller listeners to PLAINTEXT; so
// do we.
//
// A listener left out of the map is an error naming the line to write, as
// Kafka's stock map, uncommented, lacks the controller listener; the check
// goes on as if it were PLAINTEXT.
func (b *build) checkProtocols() {
	_, explicit := b.props.Entry("listener.security.protocol.map")
	var missing []string
	for _, l := range b.listeners {
		_, ok := b.protocols[l.Name]
		switch {
		case !ok && !explicit && slices.Contains(b.controllerNames, l.Name):
			b.protocols[l.Name] = "PLAINTEXT"
		case !ok:
			missing = append(missing, l.Name)
			b.protocols[l.Name] = "PLAINTEXT"
		}
	}
	if len(missing) == 0 {
		return
	}
	line := strings.TrimSpace(b.source["listener.security.protocol.map"].Value)
	for _, name := range missing {
		line += "," + name + ":PLAINTEXT"
	}
	b.fail(b.badKey("listener.security.protocol.map", fmt.Errorf("listener %s has no security protocol; write instead: listener.security.protocol.map=%s (or the protocol it needs)",
		strings.Join(missing, " and "), strings.TrimPrefix(line, ","))))
}

// advertise returns the address advertised for each listener, in the order
// of listeners: the advertised.listeners entry of the same name, or else the
// listener itself; an empty or wildcard host becomes this machine's name.
func (b *build) advertise() ([]broker.Listener, error) {
	for _, a := range b.advertised {
		switch {
		case !slices.ContainsFunc(b.listeners, func(l broker.Listener) bool { return l.Name == a.Name }):
			return nil, b.badKey("advertised.listeners", fmt.Errorf("listener name %s is not in listeners", a.Name))
		case wildcard(a.Host):
			return nil, b.badKey("advertised.listeners", fmt.Errorf("%s advertises the wildcard address %s; clients need a hostname or routable IP", a.Name, a.Host))
		}
	}
	out := make([]broker.Listener, 0, len(b.listeners))
	for _, l := range b.listeners {
		if i := slices.IndexFunc(b.advertised, func(a broker.Listener) bool { return a.Name == l.Name }); i >= 0 {
			l = b.advertised[i]
		}
		if l.Host == "" || wildcard(l.Host) {
			host, err := os.Hostname()
			if err != nil {
				return nil, b.badKey("advertised.listeners", fmt.Errorf("listener %s: no host to advertise: %w", l.Name, err))
			}
			l.Host = host
		}
		out = append(out, l)
	}
	return out, nil
}

// wildcard reports whether host binds every interface, which a client
// cannot connect to.
func wildcard(host string) bool { return host == "0.0.0.0" || host == "::" }

// controllerAddr is how other nodes reach this node's controller listener:
// its own controller.quorum.voters entry for a voter, the advertised
// controller listener for a broker-only node (a Raft non-voter).
func (b *build) controllerAddr(advertised broker.Listener) (string, error) {
	c := &b.cfg.Coordinator
	i := slices.IndexFunc(c.Voters, func(v coordinator.Voter) bool { return v.ID == c.NodeID })
	switch {
	case c.Voter && i < 0:
		return "", b.badKey("controller.quorum.voters", fmt.Errorf("node.id %d is not listed, although process.roles includes controller", c.NodeID))
	case !c.Voter && i >= 0:
		return "", b.badKey("controller.quorum.voters", fmt.Errorf("node.id %d is listed, but process.roles lacks controller; a broker-only node joins as a non-voter", c.NodeID))
	case c.Voter:
		return c.Voters[i].Addr, nil
	}
	return net.JoinHostPort(advertised.Host, strconv.Itoa(advertised.Port)), nil
}

// validate runs each package's own checks on what this node runs.
func (c *serverConfig) validate() error {
	if c.hasRole("broker") {
		if err := c.Broker.Validate(); err != nil {
			return err
		}
		if err := c.Log.Validate(); err != nil {
			return fmt.Errorf("log defaults: %w", err)
		}
	}
	return c.Coordinator.Validate()
}
