package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/config"
	"github.com/gokafka/gokafka/console"
	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/properties"
)

// minimal holds only the keys that have no default.
const minimal = "node.id=1\nprocess.roles=broker,controller\ncontroller.quorum.voters=1@localhost:9093\n"

func parse(t *testing.T, text string) (*serverConfig, []string, error) {
	t.Helper()
	p, err := properties.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatalf("properties.Parse: %v", err)
	}
	return parseConfig("server.properties", p)
}

func mustParse(t *testing.T, text string) (*serverConfig, []string) {
	t.Helper()
	c, warnings, err := parse(t, text)
	if err != nil {
		t.Fatalf("parseConfig(%q): %v", text, err)
	}
	return c, warnings
}

func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Skipf("os.Hostname: %v", err)
	}
	return h
}

// packageDefaults is what every package's DefaultConfig describes: one node
// with id 1 that is both controller and broker.
func packageDefaults() serverConfig {
	coord := coordinator.DefaultConfig()
	coord.Dir = filepath.Join("data", "__cluster_metadata-0")
	return serverConfig{
		Roles:               []string{"broker", "controller"},
		Broker:              broker.DefaultConfig(),
		Log:                 klog.DefaultManagerConfig(),
		Coordinator:         coord,
		HTTPListener:        ":9644",
		MetricsPerPartition: true,
		Console:             console.DefaultConfig(),
	}
}

func TestDefaultPropertiesGivePackageDefaults(t *testing.T) {
	want := packageDefaults()
	want.Broker.OffsetsTopicReplicationFactor = 1 // one node cannot hold three replicas
	want.Broker.Txn.ReplicationFactor, want.Broker.Txn.MinISR = 1, 1
	c, warnings, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	c.Broker.ServerConfigs = nil // TestServerConfigs
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("default.properties gives\n%+v\nwant\n%+v", *c, want)
	}
}

// TestAbsentKeysTakeTheirDefaults keeps each setting's documented def equal
// to the package defaults: only the required keys are given here.
func TestAbsentKeysTakeTheirDefaults(t *testing.T) {
	c, warnings := mustParse(t, minimal)
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	want := packageDefaults()
	want.Broker.AdvertisedListeners = []broker.Listener{{Name: "PLAINTEXT", Host: hostname(t), Port: 9092}}
	c.Broker.ServerConfigs = nil // TestServerConfigs
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", *c, want)
	}
}

func TestLoadConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte(minimal+"num.partitions=3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Broker.NumPartitions != 3 {
		t.Errorf("NumPartitions = %d, want 3", c.Broker.NumPartitions)
	}
	if _, _, err := loadConfig(filepath.Join(t.TempDir(), "missing.properties")); err == nil {
		t.Error("a missing file loads")
	}
	if err := os.WriteFile(path, []byte(minimal+"x=\\u12\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadConfig(path); err == nil || !strings.Contains(err.Error(), path+":4:") {
		t.Errorf("a malformed escape gives %v, want it to name %s:4", err, path)
	}
}

// TestKeys checks that every key lands in its fields.
func TestKeys(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		lines string
		get   func(c *serverConfig) any
		want  any
	}{
		{"node.id=1", func(c *serverConfig) any { return []int32{c.Broker.NodeID, c.Coordinator.NodeID} }, []int32{1, 1}},
		{"process.roles=controller,broker", func(c *serverConfig) any { return c.Roles }, []string{"controller", "broker"}},
		{"broker.rack=eu-west-1a", func(c *serverConfig) any { return c.Broker.Rack }, "eu-west-1a"},
		{"listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://:19093", func(c *serverConfig) any { return []any{c.Broker.Listeners, c.Coordinator.ListenAddr} },
			[]any{[]broker.Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 19092}}, ":19093"}},
		{"listeners=plaintext://[::1]:9092,CONTROLLER://:9093", func(c *serverConfig) any { return c.Broker.Listeners }, []broker.Listener{{Name: "PLAINTEXT", Host: "::1", Port: 9092}}},
		{"advertised.listeners=PLAINTEXT://kafka-01:9092", func(c *serverConfig) any { return c.Broker.AdvertisedListeners },
			[]broker.Listener{{Name: "PLAINTEXT", Host: "kafka-01", Port: 9092}}},
		{"listeners=PLAINTEXT://:9092,CONTROLLER://:9093,INTERNAL://:9094\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT\nadvertised.listeners=INTERNAL://10.0.0.1:9094",
			func(c *serverConfig) any { return c.Broker.AdvertisedListeners },
			[]broker.Listener{{Name: "PLAINTEXT", Host: hostname(t), Port: 9092}, {Name: "INTERNAL", Host: "10.0.0.1", Port: 9094}}},
		{"listeners=PLAINTEXT://:9092,RAFT://:9093\ncontroller.listener.names=RAFT", func(c *serverConfig) any { return c.Coordinator.ListenAddr }, ":9093"},
		{"controller.quorum.voters=1@kafka-01:9093,2@kafka-02:9093", func(c *serverConfig) any {
			return []any{c.Coordinator.Voters, c.Coordinator.AdvertisedAddr, c.Coordinator.Voter}
		},
			[]any{[]coordinator.Voter{{ID: 1, Addr: "kafka-01:9093"}, {ID: 2, Addr: "kafka-02:9093"}}, "kafka-01:9093", true}},
		{"http.listener=127.0.0.1:8080", func(c *serverConfig) any { return c.HTTPListener }, "127.0.0.1:8080"},
		{"metrics.per.partition.enable=false", func(c *serverConfig) any { return c.MetricsPerPartition }, false},
		{"http.pprof.enable=true", func(c *serverConfig) any { return c.PprofEnable }, true},
		{"http.console.enable=false", func(c *serverConfig) any { return c.Console.Enable }, false},
		{"http.console.changes.enable=true", func(c *serverConfig) any { return c.Console.ChangesEnable }, true},
		{"http.console.max.sessions=7", func(c *serverConfig) any { return c.Console.MaxSessions }, 7},
		{"http.console.session.timeout.ms=60000", func(c *serverConfig) any { return c.Console.SessionTimeout }, time.Minute},
		{"connections.max.reauth.ms=60000", func(c *serverConfig) any { return c.Broker.ReauthMax }, time.Minute},
		{"connection.failed.authentication.delay.ms=0", func(c *serverConfig) any { return c.Broker.FailedAuthenticationDelay }, time.Duration(0)},
		{"log.dirs=/a, /b", func(c *serverConfig) any { return []any{c.Log.Dirs, c.Coordinator.Dir} }, []any{[]string{"/a", "/b"}, "/a/__cluster_metadata-0"}},
		{"metadata.log.dir=/meta", func(c *serverConfig) any { return c.Coordinator.Dir }, "/meta/__cluster_metadata-0"},
		{"broker.session.timeout.ms=18000", func(c *serverConfig) any { return c.Coordinator.SessionTimeout }, 18 * time.Second},
		{"broker.heartbeat.interval.ms=500", func(c *serverConfig) any { return c.Coordinator.HeartbeatInterval }, 500 * time.Millisecond},
		{"controller.quorum.election.timeout.ms=300", func(c *serverConfig) any { return c.Coordinator.ElectionTimeout }, 300 * time.Millisecond},
		{"controller.quorum.fetch.timeout.ms=3000", func(c *serverConfig) any { return c.Coordinator.FetchTimeout }, 3 * time.Second},
		{"num.recovery.threads.per.data.dir=4", func(c *serverConfig) any { return c.Log.RecoveryThreadsPerDir }, 4},
		{"num.partitions=6", func(c *serverConfig) any { return []int32{c.Broker.NumPartitions, c.Coordinator.NumPartitions} }, []int32{6, 6}},
		{"default.replication.factor=3", func(c *serverConfig) any {
			return []int16{c.Broker.DefaultReplicationFactor, c.Coordinator.DefaultReplicationFactor}
		}, []int16{3, 3}},
		{"min.insync.replicas=2", func(c *serverConfig) any { return c.Broker.MinInsyncReplicas }, 2},
		{"auto.create.topics.enable=FALSE", func(c *serverConfig) any { return c.Broker.AutoCreateTopics }, false},
		{"message.max.bytes=2000000", func(c *serverConfig) any { return c.Log.Defaults.MaxMessageBytes }, int32(2000000)},
		{"log.cleanup.policy=compact, delete", func(c *serverConfig) any { return c.Log.Defaults.CleanupPolicy }, "compact,delete"},
		{"log.message.timestamp.type=LogAppendTime", func(c *serverConfig) any { return c.Log.Defaults.LogAppendTime }, true},
		{"log.segment.bytes=1048576", func(c *serverConfig) any { return c.Log.Defaults.SegmentBytes }, int64(1 << 20)},
		{"log.roll.hours=1", func(c *serverConfig) any { return c.Log.Defaults.SegmentMs }, int64(3600000)},
		{"log.roll.ms=1000", func(c *serverConfig) any { return c.Log.Defaults.SegmentMs }, int64(1000)},
		{"log.retention.hours=24", func(c *serverConfig) any { return c.Log.Defaults.RetentionMs }, day.Milliseconds()},
		{"log.retention.minutes=10", func(c *serverConfig) any { return c.Log.Defaults.RetentionMs }, int64(600000)},
		{"log.retention.ms=5000", func(c *serverConfig) any { return c.Log.Defaults.RetentionMs }, int64(5000)},
		{"log.retention.hours=-1", func(c *serverConfig) any { return c.Log.Defaults.RetentionMs }, int64(-1)},
		{"log.retention.ms=-7", func(c *serverConfig) any { return c.Log.Defaults.RetentionMs }, int64(-1)},
		{"log.retention.bytes=1073741824", func(c *serverConfig) any { return c.Log.Defaults.RetentionBytes }, int64(1 << 30)},
		{"log.retention.check.interval.ms=1000", func(c *serverConfig) any { return c.Log.RetentionCheckInterval }, time.Second},
		{"log.cleaner.enable=false", func(c *serverConfig) any { return c.Log.CleanerEnable }, false},
		{"log.cleaner.backoff.ms=250", func(c *serverConfig) any { return c.Log.CleanerBackoff }, 250 * time.Millisecond},
		{"log.segment.fd.cache.size=0", func(c *serverConfig) any { return c.Log.SegmentFileCacheSize }, 0},
		{"log.cleaner.delete.retention.ms=1000", func(c *serverConfig) any { return c.Log.Defaults.DeleteRetentionMs }, int64(1000)},
		{"log.cleaner.min.cleanable.ratio=0.25", func(c *serverConfig) any { return c.Log.Defaults.MinCleanableDirtyRatio }, 0.25},
		{"log.segment.delete.delay.ms=0", func(c *serverConfig) any { return c.Log.Defaults.FileDeleteDelayMs }, int64(0)},
		{"log.index.interval.bytes=100", func(c *serverConfig) any { return c.Log.Defaults.IndexIntervalBytes }, int32(100)},
		{"log.index.size.max.bytes=1024", func(c *serverConfig) any { return c.Log.Defaults.IndexSizeMaxBytes }, int32(1024)},
		{"log.flush.interval.messages=1", func(c *serverConfig) any { return c.Log.Defaults.FlushIntervalMessages }, int64(1)},
		{"log.flush.before.ack=true", func(c *serverConfig) any { return c.Log.Defaults.FlushBeforeAck }, true},
		{"log.flush.interval.ms=100", func(c *serverConfig) any { return c.Log.Defaults.FlushIntervalMs }, int64(100)},
		{"log.flush.scheduler.interval.ms=250", func(c *serverConfig) any { return c.Log.FlushSchedulerInterval }, 250 * time.Millisecond},
		{"log.flush.scheduler.interval.ms=9223372036854775807", func(c *serverConfig) any { return c.Log.FlushSchedulerInterval }, time.Duration(9223372036854) * time.Millisecond},
		{"log.flush.offset.checkpoint.interval.ms=5000", func(c *serverConfig) any { return c.Log.FlushCheckpointInterval }, 5 * time.Second},
		{"log.flush.start.offset.checkpoint.interval.ms=5000", func(c *serverConfig) any { return c.Log.FlushStartOffsetInterval }, 5 * time.Second},
		{"socket.send.buffer.bytes=-1", func(c *serverConfig) any { return c.Broker.SocketSendBufferBytes }, -1},
		{"socket.receive.buffer.bytes=65536", func(c *serverConfig) any { return c.Broker.SocketReceiveBufferBytes }, 65536},
		{"socket.request.max.bytes=1000", func(c *serverConfig) any { return c.Broker.SocketRequestMaxBytes }, int32(1000)},
		{"queued.max.request.bytes=500000000", func(c *serverConfig) any { return c.Broker.QueuedMaxRequestBytes }, int64(500000000)},
		{"max.connections=1000", func(c *serverConfig) any { return c.Broker.MaxConnections }, 1000},
		{"max.connections.per.ip=5", func(c *serverConfig) any { return c.Broker.MaxConnectionsPerIP }, 5},
		{"max.connections.per.ip.overrides=127.0.0.1:7, [::1]:8", func(c *serverConfig) any { return c.Broker.MaxConnectionsPerIPOverride },
			map[netip.Addr]int{netip.MustParseAddr("127.0.0.1"): 7, netip.MustParseAddr("::1"): 8}},
		{"connections.max.idle.ms=1500", func(c *serverConfig) any { return c.Broker.ConnectionsMaxIdle }, 1500 * time.Millisecond},
		{"connections.max.idle.ms=-1", func(c *serverConfig) any { return c.Broker.ConnectionsMaxIdle }, -time.Millisecond},
		{"fetch.max.bytes=1048576", func(c *serverConfig) any { return c.Broker.FetchMaxBytes }, int32(1048576)},
		{"max.incremental.fetch.session.cache.slots=10", func(c *serverConfig) any { return c.Broker.FetchSessionCacheSlots }, 10},
		{"num.network.threads=5", func(c *serverConfig) any { return c.Broker.NumNetworkThreads }, 5},
		{"num.io.threads=16", func(c *serverConfig) any { return c.Broker.NumIOThreads }, 16},
		{"replica.lag.time.max.ms=10000", func(c *serverConfig) any { return c.Broker.ReplicaLagTimeMax }, 10 * time.Second},
	}
	// Every key with a field has a case here; log.dir is in TestPrecedence
	// and the keys not applied yet in TestReservedKeysChecked.
	covered := map[string]bool{"log.dir": true}
	for _, k := range strings.Fields(`unclean.leader.election.enable auto.leader.rebalance.enable
		leader.imbalance.check.interval.seconds leader.imbalance.per.broker.percentage offsets.topic.num.partitions
		offsets.topic.replication.factor offsets.topic.segment.bytes offsets.retention.minutes offsets.retention.check.interval.ms group.initial.rebalance.delay.ms
		group.min.session.timeout.ms group.max.session.timeout.ms group.max.size
		transaction.state.log.num.partitions transaction.state.log.replication.factor transaction.state.log.min.isr
		transaction.state.log.segment.bytes transaction.max.timeout.ms transactional.id.expiration.ms
		transaction.abort.timed.out.transaction.cleanup.interval.ms transaction.remove.expired.transaction.cleanup.interval.ms
		add.partitions.to.txn.retry.backoff.max.ms`) {
		covered[k] = true
	}
	for _, tt := range tests {
		for line := range strings.SplitSeq(tt.lines, "\n") {
			key, _, _ := strings.Cut(line, "=")
			covered[key] = true
		}
	}
	for _, s := range settings {
		if !covered[s.key] {
			t.Errorf("no case for %s", s.key)
		}
	}
	for _, tt := range tests {
		t.Run(strings.SplitN(tt.lines, "=", 2)[0], func(t *testing.T) {
			// The case's lines replace the minimal ones of the same key.
			c, warnings := mustParse(t, tt.lines+"\n"+withoutKeysOf(minimal, tt.lines))
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// withoutKeysOf drops from base the lines whose key other sets.
func withoutKeysOf(base, other string) string {
	var out []string
	for line := range strings.SplitSeq(base, "\n") {
		key, _, _ := strings.Cut(line, "=")
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `=`).MatchString(other) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestReservedKeysChecked covers the Kafka keys accepted for later work:
// no warning, but their values are checked.
func TestReservedKeysChecked(t *testing.T) {
	_, warnings := mustParse(t, minimal+"unclean.leader.election.enable=true\noffsets.topic.replication.factor=1\ngroup.initial.rebalance.delay.ms=0\n")
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	for _, bad := range []string{"unclean.leader.election.enable=maybe", "offsets.topic.replication.factor=0", "group.max.size=x", "leader.imbalance.per.broker.percentage=101"} {
		if _, _, err := parse(t, minimal+bad); err == nil || !strings.Contains(err.Error(), bad+": ") {
			t.Errorf("%s gives %v, want an error naming it", bad, err)
		}
	}
}

func TestBadValues(t *testing.T) {
	tests := []struct {
		lines string // appended to minimal, replacing its keys
		bad   string // the key=value the error must name
		what  string // part of the explanation
	}{
		{"node.id=abc", "node.id=abc", "not a whole number"},
		{"node.id=-1", "node.id=-1", "at least 0"},
		{"node.id=99999999999999999999", "node.id=99999999999999999999", "at most 2147483647"},
		{"node.id=1\nbroker.id=2", "node.id=1", "conflicts with broker.id=2 on line 2"},
		{"num.partitions=0", "num.partitions=0", "at least 1"},
		{"num.partitions=", `num.partitions=""`, "not a whole number"},
		{"default.replication.factor=40000", "default.replication.factor=40000", "at most 32767"},
		{"message.max.bytes=-1", "message.max.bytes=-1", "at least 0"},
		{"log.segment.bytes=10", "log.segment.bytes=10", "at least 14"},
		{"log.retention.ms=soon", "log.retention.ms=soon", "not a whole number"},
		{"socket.send.buffer.bytes=-2", "socket.send.buffer.bytes=-2", "at least -1"},
		{"max.connections.per.ip=-1", "max.connections.per.ip=-1", "at least 0"},
		{"max.connections.per.ip.overrides=127.0.0.1", "max.connections.per.ip.overrides=127.0.0.1", "not host:count"},
		{"max.connections.per.ip.overrides=127.0.0.1:-3", "max.connections.per.ip.overrides=127.0.0.1:-3", "at least 0"},
		{"fetch.max.bytes=-1", "fetch.max.bytes=-1", "at least 0"},
		{"max.incremental.fetch.session.cache.slots=-1", "max.incremental.fetch.session.cache.slots=-1", "at least 0"},
		{"auto.create.topics.enable=yes", "auto.create.topics.enable=yes", "true or false"},
		{"log.message.timestamp.type=createtime", "log.message.timestamp.type=createtime", "CreateTime, LogAppendTime"},
		{"log.cleanup.policy=archive", "log.cleanup.policy=archive", `unknown policy "archive"`},
		{"log.cleaner.min.cleanable.ratio=2", "log.cleaner.min.cleanable.ratio=2", "from 0 to 1"},
		{"process.roles=broker,zookeeper", "process.roles=broker,zookeeper", `unknown role "zookeeper"`},
		{"process.roles=", `process.roles=""`, "no role"},
		{"process.roles=broker,broker", "process.roles=broker,broker", "twice"},
		{"listeners=PLAINTEXT://kafka-01,CONTROLLER://:9093", "listeners=PLAINTEXT://kafka-01,CONTROLLER://:9093", "has no port"},
		{"listeners=PLAINTEXT://:99999,CONTROLLER://:9093", "listeners=PLAINTEXT://:99999,CONTROLLER://:9093", "bad port"},
		{"listeners=PLAINTEXT://:x,CONTROLLER://:9093", "listeners=PLAINTEXT://:x,CONTROLLER://:9093", "bad port"},
		{"listeners=PLAINTEXT:9092", "listeners=PLAINTEXT:9092", "not NAME://host:port"},
		{"listeners=PLAINTEXT://:9092,CONTROLLER://:9092", "listeners=PLAINTEXT://:9092,CONTROLLER://:9092", "PLAINTEXT and CONTROLLER both use port 9092"},
		{"listeners=PLAINTEXT://:9092,plaintext://:9094", "listeners=PLAINTEXT://:9092,plaintext://:9094", "appears twice"},
		{"listeners=PLAINTEXT://:9092", "listeners=PLAINTEXT://:9092", "no controller listener"},
		{"listeners=CONTROLLER://:9093", "listeners=CONTROLLER://:9093", "no client listener"},
		{"listeners=", `listeners=""`, "no listener given"},
		{"listeners=PLAINTEXT://:9092,CONTROLLER://:9093,RAFT://:9094\ncontroller.listener.names=CONTROLLER,RAFT",
			"listeners=PLAINTEXT://:9092,CONTROLLER://:9093,RAFT://:9094", "CONTROLLER and RAFT are both controller listeners"},
		{"process.roles=controller", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093", "runs no broker"},
		{"listener.security.protocol.map=PLAINTEXT", "listener.security.protocol.map=PLAINTEXT", "not LISTENER_NAME:SECURITY_PROTOCOL"},
		{"log.cleanup.policy=", `log.cleanup.policy=""`, "no policy"},
		{"controller.quorum.voters=", `controller.quorum.voters=""`, "no voter"},
		{"listeners=SSL://:9094,CONTROLLER://:9093", "", "listener SSL: ssl.keystore.location: a TLS listener needs a keystore"},
		{"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT", "sasl.enabled.mechanisms=GSSAPI", "gokafka serves no GSSAPI"},
		{"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT\nlistener.name.plaintext.sasl.enabled.mechanisms=PLAIN",
			"", "listener.name.plaintext.plain.sasl.jaas.config is missing"},
		{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT", "sasl.mechanism.controller.protocol=GSSAPI", "PLAIN only (gokafka serves no GSSAPI)"},
		{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_SSL\nsasl.mechanism.controller.protocol=SCRAM-SHA-512",
			"sasl.mechanism.controller.protocol=SCRAM-SHA-512", "SCRAM credentials live in the metadata the controllers serve"},
		{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT\nsasl.mechanism.controller.protocol=PLAIN\nlistener.name.controller.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
			"listener.name.controller.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256", "SCRAM is not supported on the controller listener"},
		{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT\nsasl.mechanism.controller.protocol=PLAIN\nsasl.enabled.mechanisms=PLAIN",
			"", "listener.name.controller.plain.sasl.jaas.config is missing"},
		{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT\nsasl.mechanism.controller.protocol=PLAIN\nsasl.enabled.mechanisms=PLAIN\n" + ctrlJAAS(`user_node="s"`),
			"", "listener.name.controller.plain.sasl.jaas.config: needs username and password, which this node presents"},
		{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT\nsasl.mechanism.controller.protocol=PLAIN\nsasl.enabled.mechanisms=PLAIN\n" + ctrlJAAS(`username="node" password="s"`),
			"", "listener.name.controller.plain.sasl.jaas.config: no user_<name>"},
		{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_SSL\nsasl.mechanism.controller.protocol=PLAIN\nsasl.enabled.mechanisms=PLAIN\n" + ctrlJAAS(`username="node" password="s" user_node="s"`),
			"", "controller listener CONTROLLER: ssl.keystore.location: a TLS listener needs a keystore"},
		{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SSL", "ssl.client.auth=none", "must require client certificates"},
		{"authorizer.class.name=com.example.Authorizer", "authorizer.class.name=com.example.Authorizer", "StandardAuthorizer"},
		{"inter.broker.listener.name=INTERNAL", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093", "INTERNAL is not one of"},
		{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT",
			"CONTROLLER has no security protocol; write instead: listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"},
		{"listener.security.protocol.map=PLAINTEXT:TLS", "listener.security.protocol.map=PLAINTEXT:TLS", "unknown security protocol"},
		{"advertised.listeners=EXTERNAL://kafka-01:9092", "advertised.listeners=EXTERNAL://kafka-01:9092", "EXTERNAL is not in listeners"},
		{"advertised.listeners=PLAINTEXT://0.0.0.0:9092", "advertised.listeners=PLAINTEXT://0.0.0.0:9092", "wildcard"},
		{"controller.listener.names=", `controller.listener.names=""`, "no listener name"},
		{"controller.quorum.voters=1@localhost", "controller.quorum.voters=1@localhost", "has no port"},
		{"controller.quorum.voters=1-localhost:9093", "controller.quorum.voters=1-localhost:9093", "not id@host:port"},
		{"controller.quorum.voters=one@localhost:9093", "controller.quorum.voters=one@localhost:9093", "node id"},
		{"controller.quorum.voters=1@:9093", "controller.quorum.voters=1@:9093", "no host"},
		{"controller.quorum.voters=1@a:9093,1@b:9093", "controller.quorum.voters=1@a:9093,1@b:9093", "node id 1 appears twice"},
		{"controller.quorum.voters=2@kafka-02:9093", "controller.quorum.voters=2@kafka-02:9093", "node.id 1 is not listed"},
		{"process.roles=broker", "controller.quorum.voters=1@localhost:9093", "node.id 1 is listed, but process.roles lacks controller"},
		{"log.dirs=/a,/a", "log.dirs=/a,/a", "appears twice"},
		{"log.dirs= ,", "log.dirs=,", "no directory"},
		{"http.listener=metrics", "http.listener=metrics", "has no port"},
		{"broker.session.timeout.ms=1000", "", "broker.session.timeout.ms 1000: must exceed broker.heartbeat.interval.ms 2000"},
		{"node.id=\\u0001", `node.id="\x01"`, "not a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.lines, func(t *testing.T) {
			text := tt.lines + "\n" + withoutKeysOf(minimal, tt.lines)
			_, _, err := parse(t, text)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			want := "server.properties: " + tt.what
			if tt.bad != "" {
				p, _ := properties.Parse(strings.NewReader(text))
				key, _, _ := strings.Cut(tt.bad, "=")
				want = "server.properties: " + tt.bad + ": " // a default, not in the file
				if e, ok := p.Entry(key); ok {
					want = "server.properties:" + strconv.Itoa(e.Line) + ": " + tt.bad + ": "
				}
			}
			if !strings.HasPrefix(msg, want) || !strings.Contains(msg, tt.what) {
				t.Errorf("error %q, want it to start with %q and say %q", msg, want, tt.what)
			}
		})
	}
}

func TestMissingKeys(t *testing.T) {
	for _, key := range []string{"node.id", "process.roles", "controller.quorum.voters"} {
		_, _, err := parse(t, withoutKeysOf(minimal, key+"="))
		if err == nil || !strings.HasPrefix(err.Error(), "server.properties: "+key+" is missing: ") {
			t.Errorf("without %s: error %v", key, err)
		}
	}
}

func TestWarnings(t *testing.T) {
	_, warnings := mustParse(t, minimal+
		"foo.bar=1\n"+ // line 4
		"num.partitions=2\n"+
		"log.retention.hours=24\n"+
		"num.partitions=3\n"+ // line 7
		"log.retention.ms=1000\n"+
		"listener.name.plaintext.ssl.bogus=/x\n"+
		"num.partitions=4\n")
	want := []string{
		"server.properties:4: foo.bar=1: unknown key, ignored",
		"server.properties:6: log.retention.hours=24: ignored: log.retention.ms on line 8 takes precedence",
		"server.properties:9: listener.name.plaintext.ssl.bogus=/x: unknown key, ignored",
		"server.properties:10: num.partitions=4: set on lines 5, 7 and 10: the last one is used; remove the others",
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings\n%q\nwant\n%q", warnings, want)
	}
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		lines    string
		get      func(c *serverConfig) any
		want     any
		warnings int
	}{
		{"log.retention.hours=1\nlog.retention.minutes=2", func(c *serverConfig) any { return c.Log.Defaults.RetentionMs }, int64(120000), 1},
		{"log.retention.hours=1\nlog.retention.minutes=2\nlog.retention.ms=3", func(c *serverConfig) any { return c.Log.Defaults.RetentionMs }, int64(3), 2},
		{"log.retention.ms=3\nlog.retention.hours=1", func(c *serverConfig) any { return c.Log.Defaults.RetentionMs }, int64(3), 1},
		{"log.retention.minutes=-1\nlog.retention.hours=1", func(c *serverConfig) any { return c.Log.Defaults.RetentionMs }, int64(-1), 1},
		{"log.roll.ms=500\nlog.roll.hours=2", func(c *serverConfig) any { return c.Log.Defaults.SegmentMs }, int64(500), 1},
		{"log.dir=/one", func(c *serverConfig) any { return c.Log.Dirs }, []string{"/one"}, 0},
		{"log.dir=/one\nlog.dirs=/two,/three", func(c *serverConfig) any { return c.Log.Dirs }, []string{"/two", "/three"}, 1},
		// An overridden key is not parsed, as it is not used.
		{"log.roll.hours=x\nlog.roll.ms=500", func(c *serverConfig) any { return c.Log.Defaults.SegmentMs }, int64(500), 1},
	}
	for _, tt := range tests {
		t.Run(tt.lines, func(t *testing.T) {
			c, warnings := mustParse(t, minimal+tt.lines)
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if len(warnings) != tt.warnings {
				t.Errorf("warnings %q, want %d", warnings, tt.warnings)
			}
		})
	}
}

func TestAliases(t *testing.T) {
	for _, lines := range []string{"broker.id=5", "broker.id=5\nnode.id=5", "node.id=5"} {
		c, warnings := mustParse(t, lines+"\nprocess.roles=broker,controller\ncontroller.quorum.voters=5@localhost:9093")
		if c.Broker.NodeID != 5 || c.Coordinator.NodeID != 5 || len(warnings) > 0 {
			t.Errorf("%q: node ids %d, %d, warnings %q", lines, c.Broker.NodeID, c.Coordinator.NodeID, warnings)
		}
	}
}

func TestZooKeeperConnect(t *testing.T) {
	const zk = "zookeeper.connect=zk1:2181,zk2:2181/kafka\n"
	_, warnings := mustParse(t, zk+minimal)
	want := `server.properties:1: zookeeper.connect=zk1:2181,zk2:2181/kafka: not used: gokafka's embedded coordinator replaces ZooKeeper and controller.quorum.voters takes its place; remove this line`
	if len(warnings) != 1 || warnings[0] != want {
		t.Errorf("warnings %q, want [%q]", warnings, want)
	}
	_, _, err := parse(t, zk+withoutKeysOf(minimal, "controller.quorum.voters="))
	wantErr := "server.properties:1: zookeeper.connect=zk1:2181,zk2:2181/kafka: not used: gokafka's embedded coordinator replaces ZooKeeper; remove this line and add controller.quorum.voters=1@zk1:9093,2@zk2:9093,"
	if err == nil || !strings.HasPrefix(err.Error(), wantErr) {
		t.Errorf("error %v, want it to start with %q", err, wantErr)
	}
}

func TestVotersFromZooKeeper(t *testing.T) {
	for in, want := range map[string]string{
		"zk1:2181,zk2:2181/kafka":   "1@zk1:9093,2@zk2:9093",
		"zk1":                       "1@zk1:9093",
		" zk1:2181 , [::1]:2181/ ":  "1@zk1:9093,2@[::1]:9093",
		"":                          "1@localhost:9093",
		"10.0.0.1:2181,10.0.0.2:21": "1@10.0.0.1:9093,2@10.0.0.2:9093",
	} {
		if got := votersFromZooKeeper(in); got != want {
			t.Errorf("votersFromZooKeeper(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoles(t *testing.T) {
	const three = "controller.quorum.voters=1@kafka-01:9093,2@kafka-02:9093,3@kafka-03:9093\n"
	// A broker-only node is a Raft non-voter reached on its controller listener.
	c, _ := mustParse(t, "node.id=4\nprocess.roles=broker\n"+three+"advertised.listeners=PLAINTEXT://kafka-04:9092,CONTROLLER://kafka-04:9093")
	if c.Coordinator.Voter || c.Coordinator.AdvertisedAddr != "kafka-04:9093" || c.Coordinator.ListenAddr != ":9093" {
		t.Errorf("broker-only node: %+v", c.Coordinator)
	}
	if want := []broker.Listener{{Name: "PLAINTEXT", Host: "kafka-04", Port: 9092}}; !reflect.DeepEqual(c.Broker.AdvertisedListeners, want) {
		t.Errorf("broker-only node advertises %v, want %v", c.Broker.AdvertisedListeners, want)
	}
	c, _ = mustParse(t, "node.id=5\nprocess.roles=broker\n"+three)
	if want := hostname(t) + ":9093"; c.Coordinator.AdvertisedAddr != want {
		t.Errorf("broker-only node without advertised controller: %q, want %q", c.Coordinator.AdvertisedAddr, want)
	}
	// A controller-only node runs no broker, so broker settings are not validated.
	c, _ = mustParse(t, "node.id=2\nprocess.roles=controller\n"+three+"listeners=CONTROLLER://:9093")
	if !c.Coordinator.Voter || c.Coordinator.AdvertisedAddr != "kafka-02:9093" || c.hasRole("broker") {
		t.Errorf("controller-only node: roles %v, %+v", c.Roles, c.Coordinator)
	}
}

// TestExample keeps deploy/server.properties.example valid and complete:
// every key is shown, and a commented-out key shows its default.
func TestExample(t *testing.T) {
	const path = "../../deploy/server.properties.example"
	c, warnings, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if c.Broker.NodeID != 1 || len(c.Coordinator.Voters) != 3 || c.Coordinator.AdvertisedAddr != "kafka-01:9093" {
		t.Errorf("example is not node 1 of 3: %+v", c.Coordinator)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		m := regexp.MustCompile(`(?m)^(#?)` + regexp.QuoteMeta(s.key) + `=(.*)$`).FindStringSubmatch(string(text))
		k := config.BrokerKey(s.key)
		switch {
		case m == nil:
			t.Errorf("%s is not shown", s.key)
		case m[1] == "#" && !k.NoDefault && m[2] != k.Default:
			t.Errorf("#%s=%s, but its default is %s", s.key, m[2], k.Default)
		}
	}
}

// FuzzParseConfig checks that no server.properties panics the process and
// that every problem is one line naming the file.
func FuzzParseConfig(f *testing.F) {
	example, err := os.ReadFile("../../deploy/server.properties.example")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{defaultProperties, minimal, string(example), minimal + "zookeeper.connect=zk:2181/x",
		minimal + "listeners=A://[::1]:1,CONTROLLER://:2\nlistener.security.protocol.map=A:PLAINTEXT",
		"broker.id=2\nprocess.roles=broker\ncontroller.quorum.voters=1@a:1\nlog.retention.minutes=-5"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := properties.Parse(strings.NewReader(text))
		if err != nil {
			return
		}
		c, _, err := parseConfig("server.properties", p)
		switch {
		case err != nil && slices.ContainsFunc(strings.Split(err.Error(), "\n"), func(l string) bool { return !strings.HasPrefix(l, "server.properties") }):
			t.Fatalf("a problem does not name the file: %q", err)
		case err == nil && (len(c.Roles) == 0 || len(c.Coordinator.Voters) == 0 || c.Coordinator.ListenAddr == ""):
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
	})
}

// TestServerConfigs checks what DescribeConfigs on a broker will report:
// each key with its value, marked default unless the file set it.
func TestServerConfigs(t *testing.T) {
	c, _ := mustParse(t, minimal+"num.partitions=3\n")
	got := map[string]broker.ServerConfig{}
	for _, sc := range c.Broker.ServerConfigs {
		got[sc.Name] = sc
	}
	if sc := got["num.partitions"]; sc.Value != "3" || sc.Default {
		t.Errorf("num.partitions: %+v", sc)
	}
	if sc := got["log.retention.hours"]; sc.Value != "168" || !sc.Default {
		t.Errorf("log.retention.hours: %+v", sc)
	}
}

// ctrlJAAS is the controller listener's PLAIN login line with options.
func ctrlJAAS(options string) string {
	return "listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required " + options + ";"
}

// TestControllerSASL: SASL_PLAINTEXT on the controller listener admits the
// users of its PLAIN line, presents the line's username and password,
// and with an authorizer asks it about the SASL principal.
func TestControllerSASL(t *testing.T) {
	c, _ := mustParse(t, minimal+"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT\n"+
		"sasl.mechanism.controller.protocol=PLAIN\nlistener.name.controller.sasl.enabled.mechanisms=PLAIN\n"+
		ctrlJAAS(`username="node" password="n-secret" user_node="n-secret" user_ops="o-secret"`)+"\n"+
		"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\nsuper.users=User:node\n")
	s := c.Coordinator.SASL
	if s == nil || s.Username != "node" || s.Password != "n-secret" || len(s.Users) != 2 || s.Users["ops"] != "o-secret" {
		t.Fatalf("controller SASL: %+v", s)
	}
	if c.Coordinator.ServerTLS != nil {
		t.Fatal("SASL_PLAINTEXT set TLS")
	}
	if err := c.Coordinator.Validate(); err != nil {
		t.Fatal(err)
	}
	authorizePeers(c, func() *auth.ACLSet { return nil })
	may := c.Coordinator.AuthorizePrincipal
	if may == nil || !may(auth.User("node")) || may(auth.User("ops")) {
		t.Fatal("the controller listener does not admit exactly the principals that may ClusterAction")
	}
}
