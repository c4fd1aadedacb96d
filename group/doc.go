// Package group is the consumer-group coordinator: the classic group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, with static
// membership, KIP-345), committed offsets (OffsetCommit, OffsetFetch,
// OffsetDelete, expiry), transactional offsets (TxnOffsetCommit, KIP-447)
// and the group admin APIs, as Kafka's GroupCoordinator serves them. The
// broker decodes, authorizes and encodes; this package decides.
//
// Groups and offsets live in __consumer_offsets in Kafka's own record
// formats (GroupMetadataKey/Value, OffsetCommitKey/Value). A group belongs
// to one partition of it (PartitionFor, Kafka's hash, which places
// transactional ids on __transaction_state too), and the leader of that
// partition is the group's coordinator: it writes with acks=all and, when
// it becomes leader in a new epoch, loads the partition in the background,
// answering COORDINATOR_LOAD_IN_PROGRESS until done.
//
// Seams: the coordinator reaches its partitions only through
// PartitionWriter (append with acks=all, leadership, KIP-890 verification,
// bounds and reads for a load), as Kafka's coordinators do, and the
// metadata through Cluster; the broker implements both over its replicas
// and tests implement them in memory. Config carries its settings.
//
// Invariants:
//   - Each group's state is under the group's own mutex; the
//     coordinator's mutex guards only the map of groups and the loads, and
//     a third the offsets, in that order (coordinator.go). No lock is held
//     across an append: a group's batches are queued under its lock, in
//     the order its state changed, and each partition's queue is appended
//     in order by one goroutine (appender.go), so that the records are
//     stored in that order; the state changes only once the append is
//     committed.
//   - A load reads only below the high watermark, and starts once that
//     covers the log end at which the leadership began: state never holds
//     a record that a later leader may not have.
//   - A group's committed offset of a partition is the one whose record is
//     latest in __consumer_offsets: a transactional commit that ends after
//     a later plain commit does not replace it (RecordOffset decides).
//   - An offset of a transaction is pending, and invisible to OffsetFetch,
//     from its record until its producer's marker: a commit marker makes
//     it committed, an abort marker drops it. Replaying the partition
//     reproduces exactly the state that the live coordinator had; what was
//     appended during a load is read under the offsets' mutex, so no
//     marker is missed between the load and CompleteTxn.
//   - A tombstone of a group's partition drops its committed offset and
//     every pending one.
//   - Bytes read back from disk are not trusted: a record that cannot be
//     read is skipped with an ERROR line, and a corrupt batch header ends
//     a load with what it has.
package group
