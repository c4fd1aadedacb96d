// Package group is the consumer-group coordinator's state, moving here out
// of broker/ piece by piece (../shared/DESIGN.md, "Where the layout is
// going").
//
// It owns the placement of a group (or a transactional id) on a partition
// of its internal topic, Kafka's hash, and the store of committed offsets,
// including the offsets that transactions have written but not yet ended
// (TxnOffsetCommit, KIP-447). It reaches __consumer_offsets only through
// PartitionWriter (append with acks=all, bounds, read for a load), which
// the broker implements over its replicas and tests implement in memory.
//
// Invariants:
//   - A group's committed offset of a partition is the one whose record is
//     latest in __consumer_offsets: a transactional commit that ends after
//     a later plain commit does not replace it (RecordOffset decides).
//   - An offset of a transaction is pending, and invisible to OffsetFetch,
//     from its record until its producer's marker: a commit marker makes
//     it committed, an abort marker drops it. Replaying the partition
//     reproduces exactly the state that the live coordinator had.
//   - A tombstone of a group's partition drops its committed offset and
//     every pending one.
package group
