package config

import "math"

const (
	maxInt32 = math.MaxInt32
	maxInt64 = math.MaxInt64
	minInt32 = math.MinInt32
	minInt64 = math.MinInt64
	never    = "9223372036854775807" // Long.MAX_VALUE, Kafka's "never"
)

// Codecs are the values of compression.type.
var Codecs = []string{"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}

func num(name string, s Scope, t Type, def string, min, max float64, doc string) Key {
	return Key{Name: name, Scope: s, Type: t, Default: def, Min: min, Max: max, Doc: doc}
}

func boolean(name string, s Scope, def, doc string) Key {
	return Key{Name: name, Scope: s, Type: Boolean, Default: def, Doc: doc}
}

func text(name string, s Scope, t Type, def string, oneOf []string, doc string) Key {
	return Key{Name: name, Scope: s, Type: t, Default: def, OneOf: oneOf, Doc: doc}
}

// secret is a password-like string: DescribeConfigs never shows it.
func secret(name, doc string) Key {
	return Key{Name: name, Scope: Static, Type: Password, Doc: doc}
}

// none marks a key without a default.
func none(k Key) Key { k.NoDefault = true; return k }

// sets makes a broker key the default of a topic key, scale times its unit.
func sets(topic string, scale int64, k Key) Key { k.Topic, k.Scale = topic, scale; return k }

const noEffect = " gokafka accepts and shows this key but does not act on it."

// Broker is every broker key: server.properties, and the dynamic ones
// AlterConfigs may change. Keys that set the same topic key appear in
// order of precedence.
var Broker = []Key{
	// Identity and roles.
	none(num("node.id", Static, Int, "", 0, maxInt32, "The id of this node, unique in the cluster; broker.id is accepted as another name for it.")),
	none(text("process.roles", Static, List, "", []string{"broker", "controller"}, "The roles this node plays: broker, controller, or both (KRaft combined mode).")),
	none(text("broker.rack", Static, String, "", nil, "The rack (or availability zone) of this broker; replica placement spreads replicas across racks.")),

	// Listeners.
	text("listeners", Static, List, "PLAINTEXT://:9092,CONTROLLER://:9093", nil, "The addresses this node listens on, as NAME://host:port; an empty host binds every interface."),
	none(text("advertised.listeners", Static, List, "", nil, "The addresses clients and other nodes are told to use, per listener name, when they differ from listeners.")),
	text("listener.security.protocol.map", Static, String, "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", nil, "Maps each listener name to its security protocol. gokafka serves PLAINTEXT only."),
	text("controller.listener.names", Static, List, "CONTROLLER", nil, "The listener names the controllers use; the first is the one other nodes reach the controllers on."),
	text("http.listener", Static, String, ":9644", nil, "gokafka's own: the address serving /metrics, /healthz and /readyz."),
	boolean("metrics.per.partition.enable", Static, "true", "gokafka's own: false drops the per-partition metric series to bound their number on brokers with many partitions."),

	boolean("http.console.enable", Static, "true", "gokafka's own: serve the web console at /console/ on http.listener. It connects to this node's own listener as a Kafka client: with SASL it asks for a user's credentials and that user's ACLs apply."),
	boolean("http.console.changes.enable", Static, "false", "gokafka's own: let the web console create, alter and delete topics and reset group offsets. Off by default: the console is read-only."),
	num("http.console.max.sessions", Static, Int, "100", 1, 100000, "gokafka's own: how many browser sessions the web console keeps at once; each logged-in session holds a Kafka client."),
	num("http.console.session.timeout.ms", Static, Long, "1800000", 1000, maxInt32, "gokafka's own: how long a web console session lasts without a request."),
	boolean("http.pprof.enable", Static, "false", "gokafka's own: serve the Go profiler at /debug/pprof on http.listener. Off by default: a profile exposes memory contents and costs CPU."),

	// Security (issue 14): Kafka's keys. Every ssl.* and sasl.* key may
	// also be given per listener as listener.name.<listener>.<key>.
	text("security.inter.broker.protocol", Static, String, "PLAINTEXT", []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}, "The security protocol brokers replicate over; the listener of that name is used. Set this or inter.broker.listener.name, not both."),
	none(text("inter.broker.listener.name", Static, String, "", nil, "The listener brokers replicate over (the peer's advertised address of that name).")),
	text("sasl.enabled.mechanisms", Static, List, "GSSAPI", nil, "The SASL mechanisms SASL listeners accept: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (gokafka serves no GSSAPI or OAUTHBEARER)."),
	text("sasl.mechanism.inter.broker.protocol", Static, String, "GSSAPI", nil, "The SASL mechanism brokers authenticate to each other with; the credentials are username and password of listener.name.<inter-broker listener>.<mechanism>.sasl.jaas.config."),
	text("sasl.mechanism.controller.protocol", Static, String, "GSSAPI", nil, "The SASL mechanism of a SASL controller listener: PLAIN only (Kafka offers no SCRAM there); the credentials are username and password of listener.name.<controller listener>.plain.sasl.jaas.config."),
	none(secret("sasl.jaas.config", "A JAAS login line; brokers take it only with a listener and mechanism prefix, listener.name.<listener>.<mechanism>.sasl.jaas.config.")),
	num("connections.max.reauth.ms", Static, Long, "0", 0, maxInt64, "How long a SASL session lasts before the client must authenticate again (KIP-368); 0 never expires one."),
	num("connection.failed.authentication.delay.ms", Static, Int, "100", 0, maxInt32, "How long the answer to a failed authentication is delayed, which slows a client guessing passwords."),
	text("ssl.keystore.type", Static, String, "JKS", nil, "The keystore's format: PEM or PKCS12 (gokafka reads no JKS; convert with keytool -importkeystore -deststoretype PKCS12)."),
	none(text("ssl.keystore.location", Static, String, "", nil, "The keystore file: PKCS12, or PEM with the private key and the certificate chain.")),
	none(secret("ssl.keystore.password", "The password of the keystore file.")),
	none(secret("ssl.key.password", "The password of the private key in the keystore.")),
	none(secret("ssl.keystore.certificate.chain", "The certificate chain in PEM, given inline (ssl.keystore.type=PEM).")),
	none(secret("ssl.keystore.key", "The private key in PEM, given inline (ssl.keystore.type=PEM).")),
	text("ssl.truststore.type", Static, String, "JKS", nil, "The truststore's format: PEM or PKCS12."),
	none(text("ssl.truststore.location", Static, String, "", nil, "The truststore file: the certificates of the authorities trusted to sign peers' certificates.")),
	none(secret("ssl.truststore.password", "The password of the truststore file.")),
	none(secret("ssl.truststore.certificates", "Trusted certificates in PEM, given inline (ssl.truststore.type=PEM).")),
	text("ssl.client.auth", Static, String, "none", []string{"required", "requested", "none"}, "Whether an SSL listener asks clients for a certificate: required, requested or none."),
	text("ssl.enabled.protocols", Static, List, "TLSv1.2,TLSv1.3", []string{"TLSv1.2", "TLSv1.3"}, "The TLS versions SSL listeners and clients accept."),
	text("ssl.protocol", Static, String, "TLSv1.3", nil, "The TLS protocol a connection starts from; ssl.enabled.protocols decides."),
	none(text("ssl.cipher.suites", Static, List, "", nil, "The TLS 1.2 cipher suites, by their IANA names; empty takes Go's secure defaults. TLS 1.3's suites are not configurable.")),
	text("ssl.endpoint.identification.algorithm", Static, String, "https", nil, "https makes a client (a broker dialing another) check the peer's host name against its certificate; empty does not."),
	text("ssl.principal.mapping.rules", Static, String, "DEFAULT", nil, "Rules mapping a client certificate's distinguished name to a principal name: RULE:pattern/replacement/[LU], ..., DEFAULT."),
	text("authorizer.class.name", Static, String, "", nil, "org.apache.kafka.metadata.authorizer.StandardAuthorizer (or kafka.security.authorizer.AclAuthorizer) turns on ACLs, stored in the metadata quorum; empty allows everything."),
	none(text("super.users", Static, String, "", nil, "Principals allowed everything whatever the ACLs, separated by semicolons: User:admin;User:CN=node1.")),
	boolean("allow.everyone.if.no.acl.found", Static, "false", "Whether a resource with no ACL at all is open to every principal."),

	// The metadata quorum.
	none(text("controller.quorum.voters", Static, List, "", nil, "The voters of the metadata quorum, as id@host:port for each controller.")),
	none(text("metadata.log.dir", Static, String, "", nil, "Where the metadata log lives; when unset, the first of log.dirs.")),
	num("broker.session.timeout.ms", Static, Int, "9000", 1, maxInt32, "How long a broker may go without heartbeating before the controller fences it."),
	num("broker.heartbeat.interval.ms", Static, Int, "2000", 1, maxInt32, "How often a broker heartbeats the controller."),
	num("controller.quorum.election.timeout.ms", Static, Int, "1000", 5, maxInt32, "How long a controller standing for election waits for votes before it stands again."),
	num("controller.quorum.fetch.timeout.ms", Static, Int, "2000", 5, maxInt32, "How long a controller may go without hearing from the quorum's leader before it stands for election; a leader that hears from no majority for this long steps down. At most a quarter of broker.session.timeout.ms is used, so that an election ends inside every broker's lease."),

	// Log directories.
	none(text("log.dirs", Static, List, "", nil, "The directories the partitions' logs are kept in; when unset, log.dir.")),
	text("log.dir", Static, String, "./data", nil, "The directory logs are kept in when log.dirs is unset (Kafka's default is /tmp/kafka-logs)."),
	num("num.recovery.threads.per.data.dir", Dynamic, Int, "2", 1, maxInt32, "Threads per log directory that recover logs at startup and flush them at shutdown. Changing it at run time takes effect at the next start."),

	// Topic defaults.
	num("num.partitions", Static, Int, "1", 1, maxInt32, "The number of partitions of a topic created without one."),
	num("default.replication.factor", Static, Int, "1", 1, math.MaxInt16, "The replication factor of a topic created without one."),
	sets("min.insync.replicas", 1, num("min.insync.replicas", Dynamic, Int, "1", 1, maxInt32, "The default for topics of the number of in-sync replicas an acks=all write needs; with fewer, the producer gets NOT_ENOUGH_REPLICAS.")),
	boolean("auto.create.topics.enable", Static, "true", "Whether a metadata request or a produce for an unknown topic creates it."),
	sets("max.message.bytes", 1, num("message.max.bytes", Dynamic, Int, "1048588", 0, maxInt32, "The default for topics of the largest record batch the broker accepts, after compression.")),
	sets("cleanup.policy", 1, text("log.cleanup.policy", Dynamic, List, "delete", []string{"compact", "delete"}, "The default cleanup policy: delete old segments, compact to the last record per key, or both.")),
	sets("message.timestamp.type", 1, text("log.message.timestamp.type", Dynamic, String, "CreateTime", []string{"CreateTime", "LogAppendTime"}, "The default for topics of which timestamp records carry: the producer's (CreateTime) or the broker's at append (LogAppendTime).")),
	sets("compression.type", 1, text("compression.type", Dynamic, String, "producer", Codecs, "The default codec of topics' stored batches: producer keeps the producer's, any other the broker recompresses each batch into on append.")),
	sets("compression.gzip.level", 1, num("compression.gzip.level", Dynamic, Int, "-1", -1, 9, "The default gzip level when the broker compresses with gzip: 1 to 9, or -1 for the codec's default.")),
	sets("compression.lz4.level", 1, num("compression.lz4.level", Dynamic, Int, "9", 1, 17, "The default lz4 level when the broker compresses with lz4, 1 to 17.")),
	sets("compression.zstd.level", 1, num("compression.zstd.level", Dynamic, Int, "3", -131072, 22, "The default zstd level when the broker compresses with zstd.")),

	// Segments and retention.
	sets("segment.bytes", 1, num("log.segment.bytes", Dynamic, Int, "1073741824", 14, maxInt32, "The default size at which a log segment is rolled.")),
	sets("segment.ms", 1, none(num("log.roll.ms", Dynamic, Long, "", 1, maxInt64, "The default time after which a segment is rolled even if not full; wins over log.roll.hours."))),
	sets("segment.ms", 3600000, num("log.roll.hours", Dynamic, Int, "168", 1, maxInt32, "The default time, in hours, after which a segment is rolled even if not full.")),
	sets("segment.jitter.ms", 1, none(num("log.roll.jitter.ms", Dynamic, Long, "", 0, maxInt64, "The default of the most random time taken off segment rolling, so that segments do not all roll at once; wins over log.roll.jitter.hours."+noEffect))),
	sets("segment.jitter.ms", 3600000, num("log.roll.jitter.hours", Dynamic, Int, "0", 0, maxInt32, "The default of the most random time, in hours, taken off segment rolling."+noEffect)),
	sets("retention.ms", 1, none(num("log.retention.ms", Dynamic, Long, "", minInt64, maxInt64, "The default time a log keeps a segment before deleting it; -1 keeps it forever. Wins over .minutes and .hours."))),
	sets("retention.ms", 60000, none(num("log.retention.minutes", Dynamic, Int, "", minInt32, maxInt32, "The default retention time in minutes; wins over log.retention.hours."))),
	sets("retention.ms", 3600000, num("log.retention.hours", Dynamic, Int, "168", minInt32, maxInt32, "The default retention time in hours.")),
	sets("retention.bytes", 1, num("log.retention.bytes", Dynamic, Long, "-1", minInt64, maxInt64, "The default largest size of a partition before old segments are deleted; -1 for no limit.")),
	num("log.retention.check.interval.ms", Static, Long, "300000", 1, maxInt64, "How often the broker looks for segments that retention may delete."),
	boolean("log.cleaner.enable", Static, "true", "Whether the log cleaner runs, compacting topics with cleanup.policy=compact."),
	num("log.cleaner.backoff.ms", Dynamic, Long, "15000", 1, maxInt64, "How long the cleaner sleeps when there is nothing to clean. A change applies from the cleaner's next sleep."),
	num("log.segment.fd.cache.size", Static, Int, "-1", -1, maxInt32, "gokafka's own: how many segment files stay open while no append or read uses them, across all partitions; beyond it the least recently used are closed, and opened again when next used. Descriptors then grow with the partitions in use, not with partitions or segments; above this many busy partitions files are reopened often, which costs an append several times over. -1 is a quarter of the process's open-files limit (ulimit -n); 0 keeps every file open, as Kafka does."),
	num("log.cleaner.threads", Dynamic, Int, "1", 0, maxInt32, "The number of cleaner threads. gokafka's cleaner runs in one goroutine whatever this says."+noEffect),
	num("log.cleaner.dedupe.buffer.size", Dynamic, Long, "134217728", 0, maxInt64, "The memory all cleaner threads use to deduplicate keys."+noEffect),
	num("log.cleaner.io.buffer.size", Dynamic, Int, "524288", 0, maxInt32, "The memory all cleaner threads use for read and write buffers."+noEffect),
	num("log.cleaner.io.buffer.load.factor", Dynamic, Double, "0.9", 0, math.MaxFloat64, "How full the cleaner's dedupe buffer may get."+noEffect),
	num("log.cleaner.io.max.bytes.per.second", Dynamic, Double, "1.7976931348623157E308", 0, math.MaxFloat64, "Throttles the cleaner's reads and writes to this many bytes per second."+noEffect),
	sets("delete.retention.ms", 1, num("log.cleaner.delete.retention.ms", Dynamic, Long, "86400000", 0, maxInt64, "The default time a compacted topic keeps tombstones, so that consumers see the delete.")),
	sets("min.compaction.lag.ms", 1, num("log.cleaner.min.compaction.lag.ms", Dynamic, Long, "0", 0, maxInt64, "The default least time a record stays uncompacted."+noEffect)),
	sets("max.compaction.lag.ms", 1, num("log.cleaner.max.compaction.lag.ms", Dynamic, Long, never, 1, maxInt64, "The default most time a record may stay uncompacted."+noEffect)),
	sets("min.cleanable.dirty.ratio", 1, num("log.cleaner.min.cleanable.ratio", Dynamic, Double, "0.5", 0, 1, "The default share of a log that must be uncleaned before the cleaner compacts it.")),
	sets("file.delete.delay.ms", 1, num("log.segment.delete.delay.ms", Dynamic, Long, "60000", 0, maxInt64, "How long a deleted segment's files stay on disk before they are removed.")),
	sets("index.interval.bytes", 1, num("log.index.interval.bytes", Dynamic, Int, "4096", 0, maxInt32, "The default number of log bytes between offset index entries.")),
	sets("segment.index.bytes", 1, num("log.index.size.max.bytes", Dynamic, Int, "10485760", 8, maxInt32, "The default largest size of a segment's offset index; a full index rolls the segment.")),
	sets("preallocate", 1, boolean("log.preallocate", Dynamic, "false", "The default of whether segment files are allocated in full when created."+noEffect)),

	// Flushing.
	sets("flush.messages", 1, num("log.flush.interval.messages", Dynamic, Long, never, 1, maxInt64, "The default number of records appended before the log is flushed to disk.")),
	sets("flush.ms", 1, num("log.flush.interval.ms", Dynamic, Long, never, 0, maxInt64, "The default time a record may wait in memory before the log is flushed.")),
	sets("flush.before.ack", 1, boolean("log.flush.before.ack", Dynamic, "false", "gokafka's own, off as in Kafka: true makes a record count toward the high watermark, and so toward acks=all, only once it is fsynced on the leader and each in-sync follower, with fsyncs grouped across partitions. Acknowledged records then survive power lost on every replica at once; writes wait for the disk.")),
	num("log.flush.scheduler.interval.ms", Static, Long, "1000", 1, maxInt64, "How often the flusher checks whether a log is due for a flush (Kafka's default is Long.MAX_VALUE)."),
	num("log.flush.offset.checkpoint.interval.ms", Static, Int, "60000", 1, maxInt32, "How often the recovery point of each log is written to disk."),
	num("log.flush.start.offset.checkpoint.interval.ms", Static, Int, "60000", 1, maxInt32, "How often the log start offset of each log is written to disk."),

	// Network and threads.
	num("socket.send.buffer.bytes", Static, Int, "102400", -1, maxInt32, "The SO_SNDBUF of client sockets; -1 leaves the OS default."),
	num("socket.receive.buffer.bytes", Static, Int, "102400", -1, maxInt32, "The SO_RCVBUF of client sockets; -1 leaves the OS default."),
	num("socket.request.max.bytes", Static, Int, "104857600", 1, maxInt32, "The largest request the broker reads."),
	num("queued.max.request.bytes", Static, Long, "-1", minInt64, maxInt64, "The most bytes of requests read but not yet handled; -1 for no limit."),
	num("max.connections", Dynamic, Int, "2147483647", 0, maxInt32, "The most client connections the broker keeps open; it closes new ones beyond."),
	num("max.connections.per.ip", Dynamic, Int, "2147483647", 0, maxInt32, "The most connections the broker keeps from one IP address. A change applies from the next start."),
	none(text("max.connections.per.ip.overrides", Dynamic, String, "", nil, "Per-host exceptions to max.connections.per.ip, as host:count,... A change applies from the next start.")),
	num("connections.max.idle.ms", Static, Long, "600000", minInt64, maxInt64, "How long a connection may sit idle before the broker closes it; -1 never."),
	num("fetch.max.bytes", Static, Int, "57671680", 0, maxInt32, "The most bytes the broker returns for one fetch request."),
	num("max.incremental.fetch.session.cache.slots", Static, Int, "1000", 0, maxInt32, "The most incremental fetch sessions (KIP-227) the broker keeps."),
	num("num.network.threads", Dynamic, Int, "3", 1, maxInt32, "Threads handling the network; gokafka runs a goroutine per connection instead."+noEffect),
	num("num.io.threads", Dynamic, Int, "8", 1, maxInt32, "Threads handling requests; gokafka handles each connection's requests in its own goroutines."+noEffect),
	num("num.replica.fetchers", Dynamic, Int, "1", 1, maxInt32, "Fetcher threads per source broker; gokafka runs one fetcher per source broker."+noEffect),
	num("leader.replication.throttled.rate", Dynamic, Long, never, 0, maxInt64, "The bytes per second leaders on this broker send to followers of throttled replicas."),
	num("follower.replication.throttled.rate", Dynamic, Long, never, 0, maxInt64, "The bytes per second followers on this broker fetch for throttled replicas."),

	// Replication and the controller.
	num("replica.lag.time.max.ms", Static, Long, "30000", 1, maxInt64, "How long a follower may fall behind before the leader drops it from the ISR."),
	sets("unclean.leader.election.enable", 1, boolean("unclean.leader.election.enable", Dynamic, "false", "The default for topics of whether a replica outside the ISR may become leader when none in it is alive, at the risk of losing data. The controller reads the value of server.properties and of each topic; the dynamic broker value sets only what topics report.")),
	boolean("auto.leader.rebalance.enable", Static, "true", "Whether the controller moves leadership back to preferred replicas."),
	num("leader.imbalance.check.interval.seconds", Static, Long, "300", 1, maxInt32, "How often the controller checks for leader imbalance."),
	num("leader.imbalance.per.broker.percentage", Static, Int, "10", 0, 100, "The share of a broker's partitions led elsewhere that triggers a preferred leader election."),

	// Groups and transactions.
	num("offsets.topic.num.partitions", Static, Int, "50", 1, maxInt32, "The number of partitions of __consumer_offsets; fixed once created."),
	num("offsets.topic.replication.factor", Static, Short, "3", 1, math.MaxInt16, "The replication factor of __consumer_offsets."),
	num("offsets.topic.segment.bytes", Static, Int, "104857600", 14, maxInt32, "The segment size of __consumer_offsets."),
	num("offsets.retention.minutes", Static, Int, "10080", 1, maxInt32, "How long committed offsets of an empty group are kept."),
	num("offsets.retention.check.interval.ms", Static, Long, "600000", 1, maxInt64, "How often expired offsets are looked for."),
	num("group.initial.rebalance.delay.ms", Static, Int, "3000", 0, maxInt32, "How long a new group waits for more members before its first rebalance."),
	num("group.min.session.timeout.ms", Static, Int, "6000", 0, maxInt32, "The shortest session timeout a group member may ask for."),
	num("group.max.session.timeout.ms", Static, Int, "1800000", 0, maxInt32, "The longest session timeout a group member may ask for."),
	num("group.max.size", Static, Int, "2147483647", 1, maxInt32, "The most members a group may have."),
	num("transaction.state.log.num.partitions", Static, Int, "50", 1, maxInt32, "The number of partitions of __transaction_state; fixed once created."),
	num("transaction.state.log.replication.factor", Static, Short, "3", 1, math.MaxInt16, "The replication factor of __transaction_state."),
	num("transaction.state.log.min.isr", Static, Int, "2", 1, maxInt32, "min.insync.replicas of __transaction_state."),
	num("transaction.state.log.segment.bytes", Static, Int, "104857600", 14, maxInt32, "The segment size of __transaction_state."),
	num("transaction.max.timeout.ms", Static, Int, "900000", 1, maxInt32, "The longest transaction.timeout.ms a producer may ask for."),
	num("transactional.id.expiration.ms", Static, Int, "604800000", 1, maxInt32, "How long a transactional id with no transaction running is kept after its last use."),
	num("transaction.abort.timed.out.transaction.cleanup.interval.ms", Static, Int, "10000", 1, maxInt32, "How often transactions past their timeout are looked for and aborted."),
	num("transaction.remove.expired.transaction.cleanup.interval.ms", Static, Int, "3600000", 1, maxInt32, "How often expired transactional ids are looked for and removed."),
	num("add.partitions.to.txn.retry.backoff.max.ms", Static, Int, "100", 0, maxInt32, "How long a partition leader waits for a transaction's other state change to be written before it adds a partition for a transaction version 2 producer."),
}
