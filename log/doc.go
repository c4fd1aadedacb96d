// Package log stores partitions: each one a directory <topic>-<partition>
// of segments, with the sparse indexes, checkpoints and producer state
// beside them, in Kafka's file formats where Kafka has one. It knows
// nothing of the network.
//
// # On-disk layouts (all integers big-endian)
//
// <base>.log, one segment: record batches v2 exactly as appended (see
// protocol/batch.go for the 61-byte header), base offsets dense and
// increasing unless the directory holds offset-gaps (compaction leaves
// gaps). <base> is the segment's base offset, 20 digits.
//
// <base>.index, the sparse offset index, 8 bytes an entry:
//
//	relativeOffset uint32  base offset of a batch minus the segment's base
//	position       uint32  byte position of that batch in the .log
//
// <base>.timeindex, 12 bytes an entry:
//
//	timestamp      int64   a batch's max timestamp, never decreasing
//	relativeOffset uint32  last offset of that batch minus the segment's base
//
// <base>.txnindex, the aborted transactions whose abort markers this
// segment holds, in marker order, 34 bytes an entry (Kafka's AbortedTxn):
//
//	version          int16  0
//	producerId       int64
//	firstOffset      int64  the transaction's first record
//	lastOffset       int64  its abort marker
//	lastStableOffset int64  the last stable offset once the marker was written
//
// The file exists only for a segment with aborts. Both indexes and the
// .txnindex are written whole when a segment is sealed (rolled, or the
// log closed), the indexes only where the files do not hold them yet; a
// segment recovered after a crash gets its indexes from its batches
// (compared with the files before they are written: they often hold
// them) and its .txnindex from the replay of producer state.
//
// producer-state.json, written at a clean close and removed as soon as it
// is read (a crash must never trust it past what the log holds):
//
//	{"version": 1, "offset": O, "last_marker": M, "producers": {"<id>": {
//	    "epoch": E, "coordinator_epoch": C, "current_txn_first_offset": F,
//	    "batches": [{"first_seq", "last_seq", "first_offset", "last_offset",
//	                 "timestamp"}, … at most 5]}}}
//
// It covers the log below O; M is the newest marker (-1 for none); F is
// the first offset of the producer's open transaction (-1 for none).
// Version 0 (no transaction fields) reads as no transaction open.
//
// <base>.producer-state.json, the same layout with O = base, is written
// at every roll, when the segment <base> starts (Kafka's <offset>.snapshot
// serves the same end in its own layout, which cannot hold the last five
// batches). The newest two are kept; a truncation removes those past its
// offset before any batch, retention those below the log start. After a
// crash the newest one that reads and lies within the log starts the
// replay of producer state, and a snapshot at a segment base stands for
// a recovery point there: roll seals the segments below first.
//
// partition.metadata is Kafka's: "version: 0\ntopic_id: <id>\n", the
// topic ID in URL-safe base64 without padding. It is written (temp file,
// fsync, rename) before the log takes its first batch, as Kafka does, not
// when the partition is created: creating costs no fsync. So a log holding
// data has one unless it predates topic IDs. A log found without one
// takes its topic ID from the metadata, as in Kafka; so does an empty log
// whose file does not read (what a disk that kept the rename but not the
// data may leave). A log holding data whose file does not read stays
// offline, since it may be another incarnation of the topic (Kafka fails
// the whole directory).
//
// leader-epoch-checkpoint, recovery-point-offset-checkpoint and
// log-start-offset-checkpoint are Kafka's text checkpoints: a version
// line (0), a count line, one entry a line. offset-gaps is an empty marker
// file; .kafka_cleanshutdown is written at clean shutdown.
//
// # Invariants
//
//   - Offsets are dense and increasing within a segment (but for a
//     compacted log's gaps) and never reused; index entries point at batch
//     starts; nothing past the recovery point is trusted after a crash.
//   - Producer state is a function of the log: the snapshot plus a replay
//     of the batches after it, or a replay from the log start, give the
//     same state, the same open transactions and the same .txnindex
//     entries; except that a snapshot still knows the producers whose
//     batches retention deleted since, as the live log does (Kafka keeps
//     them too), where a replay cannot. Truncation that cuts off a marker
//     replays, since it reopens the transaction the marker closed.
//   - The oldest open transaction's first offset bounds retention (a
//     segment holding it stays) and compaction (only segments wholly
//     below it are cleaned). The last stable offset is bounded by the
//     first unstable offset, which also counts the transactions whose
//     marker the high watermark has not passed yet (held in memory only,
//     as Kafka's unreplicated transactions, and forgotten as the partition
//     reports its high watermark).
//   - Control batches come only from the transaction coordinator through a
//     leader (OriginCoordinator) or from a leader's log (a follower).
//   - Everything below the recovery point is fsynced. With
//     flush.before.ack the group commit (group_commit.go) moves it after
//     each round, and only what lies below it counts toward the high
//     watermark (CommittableEnd) or a follower's fetch offset
//     (WaitDurable).
//
// # Files
//
// Every file operation goes through an FS (ManagerConfig.FS), the OS's by
// default; FaultFS injects errors, latency and power loss for tests. A
// write, truncate, fsync or creation the disk refuses, or a read whose
// error says the device failed (EIO and kin, not EINVAL), fails the log
// directory it lies in (dir_failure.go, Kafka's log directory failure):
// the Manager reports it once to OnDirFailure, and the server halts.
//
// Wall time (record timestamps with LogAppendTime, segment.ms, retention.ms)
// is read through package clock, which a test build can skew.
//
// A segment's .log is opened when used and closed by a cache shared by
// all logs once more than log.segment.fd.cache.size sit idle
// (file_cache.go), never under a reader or writer; a failed open is the
// read's or append's error, KAFKA_STORAGE_ERROR to the client. Index
// files are read whole at open and written whole at roll, so they hold no
// descriptor.
package log
