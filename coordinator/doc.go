// Package coordinator is the embedded replacement for ZooKeeper: a Raft
// quorum (hashicorp/raft, log and stable store in raft-boltdb/v2 on bbolt)
// that owns all cluster metadata, and the controller logic that runs on the
// Raft leader.
//
// The metadata state machine holds brokers, topics with their IDs,
// partitions with leader, leader epoch, partition epoch and ISR, topic config
// overrides, the producer-ID allocator, the ACLs (an auth.ACLSet) and the
// SCRAM credentials (StoredKey and ServerKey, never a password). Each
// applied command yields a new immutable Metadata image; the broker reads
// the latest image and reconciles its local partitions against it, the way
// a Kafka broker applies metadata deltas in KRaft mode. An image shares
// with the one before it every shard of its topic maps the command left
// alone (TopicMap): applying a command copies what it changes, and two
// images are compared by the shards that differ, which is the delta the
// broker acts on (TopicMap.Changed).
//
// Commands that change partitions (register, fence, unfence, controlled
// shutdown, preferred and unclean elections, reassignments, ISR changes)
// carry their results since version 1 (changes.go): the controller runs
// the election on a copy of its image and proposes each changed
// partition's leader, ISR and epochs, and its replicas when a
// reassignment starts, is cancelled or completes, with the partition
// epoch they were computed against; the state machine installs a change
// only if the partition is still at that epoch and the change brings into
// the ISR no broker fenced since, and otherwise reports it stale for the
// controller to decide again (an ISR change is answered
// INVALID_UPDATE_VERSION instead). Commands of version 0, written before,
// are still applied by electing, so old logs replay as they did.
// Creations of version 1 carry each new partition's ISR and leader in the
// topics they add. A node of an older binary cannot apply version-1 ISR
// changes and reassignments (it skips them): there is no
// metadata.version gate for a rolling upgrade.
//
// Invariants:
//   - Only committed Raft entries change an image; an image never changes
//     after it is published.
//   - Every leader change bumps the partition's LeaderEpoch; every leader or
//     ISR change bumps its PartitionEpoch.
//   - A new leader is chosen only from the ISR (unless unclean election is
//     enabled for the topic).
//   - Replaying the log never runs an election for a command of version 1:
//     a partition changes only to the state its command carries.
//   - Producer-ID blocks never overlap: NextProducerID only grows.
//   - Topic IDs are never reused, even for a re-created name.
//   - Every ACL in an image passes auth.ValidateACL, at most 100,000 of
//     them, none twice; every SCRAM credential has a known mechanism,
//     iterations in 4096..16384 and keys of its hash's size.
//   - Every topic name in an image passes protocol.ValidTopicName, is not
//     __cluster_metadata and collides with no other ('.' read as '_').
//
// # The metadata store
//
// Config.Dir holds raft.db (bbolt: the Raft log, term and vote), checked
// before bbolt maps it (boltcheck.go), and Raft's snapshots. A write
// either refuses (ENOSPC, EIO) fails the store, as Kafka's metadata log
// directory fails (store_failure.go): Config.OnStoreFailure hears of the
// first one before the write returns, and the server halts naming the
// directory and the error, rather than wait unready for entries it
// cannot store.
//
// # The controller listener
//
// One port carries Raft and the controller RPCs; the first byte of each
// connection says which (0x01 Raft, 0x02 controller RPC). Plaintext, anyone
// who reaches the port can register a broker, join, or vote. Sealed
// (Config.ServerTLS, from listener.name.<controller>.ssl.* with
// ssl.client.auth=required), every accepted connection first completes a
// TLS handshake, within 10 s and before any byte of it is read, and must
// present a client certificate that verifies against the truststore;
// Config.AuthorizePeer may refuse a verified peer too (Kafka authorizes
// ClusterAction on its principal). Only then is the first byte read, inside
// TLS. New refuses a ServerTLS that does not require and verify client
// certificates, and one without ClientTLS: every node both listens and
// dials, Raft's stream layer and the forwarder alike presenting ClientTLS's
// certificate and checking the peer's against its RootCAs and the host of
// the address dialled. A refused connection (no certificate, one from
// another CA, plaintext, garbage, an unknown first byte) is closed having
// changed nothing, and logged at most once a minute per source address with
// a count of the refusals in between. At most 128 connections wait for
// admission at once; past that, new ones are closed unread. An admitted
// peer's subject is logged at debug level.
//
// With Config.SASL (SASL_PLAINTEXT, or SASL_SSL inside ServerTLS, whose
// client certificates are then optional), every connection authenticates
// with SASL/PLAIN before its first byte, within the same 10 s: the dialer
// (Raft's stream layer and the forwarder, through auth.Authenticate) sends
// SaslHandshake v1 naming PLAIN and one SaslAuthenticate v1 with
// ControllerSASL's username and password, as Kafka frames (request header
// v1, at most 8 KiB each); the listener answers each with Kafka's error
// code (UNSUPPORTED_SASL_MECHANISM for anything but PLAIN,
// SASL_AUTHENTICATION_FAILED without saying which part was wrong) and
// checks the token against ControllerSASL.Users; Config.AuthorizePrincipal
// may refuse the user too. Any other frame, a larger one, or a failure
// closes the connection as a refusal. SCRAM is not offered: its
// credentials live in the metadata this listener serves.
//
// # Controller RPCs
//
// Controller operations asked of a node that is not the active controller
// are forwarded over the controller listener: a connection whose first
// byte is 0x02 (0x01 is Raft), then Kafka frames in both directions, one
// answer per request, in order. All integers are big-endian. A node keeps
// two such connections: heartbeats travel on their own, so that they never
// wait behind another operation, and the active controller answers a
// heartbeat that changes nothing without waiting for the operation being
// committed (its lock order is in controller.go). When the Raft leader
// changes, both connections to the deposed controller are closed at once.
//
//	request  = size:int32 api_key:int16 api_version:int16 correlation_id:int32
//	           client_id:int16-length string  tagged_fields(=0x00)  body
//	response = size:int32 correlation_id:int32 tagged_fields  [body]
//
// size counts the bytes after itself and is at most 8 MiB (a frame costs
// ~34 times its size once decoded; Kafka's socket.request.max.bytes would
// allow 100 MiB); a larger one, or a header that
// cannot be read, closes the connection. Buffers grow as bytes arrive.
// Bodies are kmsg's encodings of Kafka's messages, at exactly these
// versions (all flexible); any other key or version is answered with
// UNSUPPORTED_VERSION, a body that does not decode with INVALID_REQUEST:
//
//	operation               message (key)                     version
//	register broker         BrokerRegistration (62)           0
//	heartbeat               BrokerHeartbeat (63)              0
//	controlled shutdown     BrokerHeartbeat, WantShutdown     0
//	allocate producer ids   AllocateProducerIds (67)          0
//	alter ISRs              AlterPartition (56), by name      1  up to 10,000 partitions, one Raft entry
//	join as non-voter       ControllerRegistration (70)       0  one listener: the node's controller address
//	create topics           CreateTopics (19)                 7
//	delete topics           DeleteTopics (20), by name        6
//	create partitions       CreatePartitions (37)             3
//	alter topic configs     AlterConfigs (33), TOPIC          2  replaces all overrides, hence not Incremental
//	alter broker configs    AlterConfigs (33), BROKER         2  "" names the cluster default
//	describe quorum         DescribeQuorum (55), __cluster_metadata-0   1
//	barrier                 DescribeQuorum (55), no topics    1
//	elect leaders           ElectLeaders (43)                 2
//	reassign partitions     AlterPartitionReassignments (45)  0
//	create ACLs             CreateAcls (30)                   3  one result per ACL
//	delete ACLs             DeleteAcls (31)                   3  per filter, the ACLs removed
//	alter SCRAM credentials AlterUserScramCredentials (51)    0  results: deletions, then upsertions
//
// The response header's tagged fields carry what KRaft's messages leave to
// the metadata log: tag 0, a uvarint, is the Raft index of the change (the
// forwarding node waits until it has applied it, so its next read sees
// the change); tag 1 is the error of the whole operation, an int16 Kafka
// error code followed by the message's bytes. An answer with tag 1 may
// have no body; otherwise the body carries the per-topic or per-partition
// outcomes. The controller checks every field before use, and names again
// in the state machine (validate in commands_check.go), which skips with
// an ERROR line any command that fails.
package coordinator
