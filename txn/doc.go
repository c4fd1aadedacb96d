// Package txn is the transaction coordinator: Kafka's TransactionCoordinator,
// TransactionStateManager and TransactionMarkerChannelManager in one small
// package that knows nothing of the network.
//
// A transactional id belongs to one partition of __transaction_state
// (Kafka's hash of the id, as groups use for __consumer_offsets), and the
// leader of that partition coordinates it. Every state change is written to
// that partition with acks=all, through PartitionWriter, before the client
// hears of it; a broker that becomes leader of a partition replays it
// (Load) and answers COORDINATOR_LOAD_IN_PROGRESS until done, and every
// other broker answers NOT_COORDINATOR.
//
// # States
//
// Kafka's state machine, with its numbering on disk:
//
//	Empty(0) ──AddPartitions──▶ Ongoing(1) ──EndTxn──▶ PrepareCommit(2) ──markers──▶ CompleteCommit(4)
//	                                        └─EndTxn/timeout/fence──▶ PrepareAbort(3) ──markers──▶ CompleteAbort(5)
//	Empty, CompleteCommit, CompleteAbort ──AddPartitions──▶ Ongoing
//	Empty, CompleteCommit, CompleteAbort ──expiration──▶ Dead(6) (a tombstone; forgotten)
//
// PrepareEpochFence(7) is never written: as in Kafka it is the pending
// state of a fenced Ongoing transaction, which is written as PrepareAbort
// with the bumped epoch.
//
// # Invariants
//
//   - At most one write per transactional id is in flight (Metadata.pending);
//     a request meeting one gets CONCURRENT_TRANSACTIONS. Memory changes only
//     after the write is acknowledged, so what is answered is on disk.
//   - A transaction in PrepareCommit or PrepareAbort has its markers sent
//     until every partition's leader has written them (or the partition is
//     gone), and only then is CompleteCommit or CompleteAbort written.
//   - The coordinator's one lock is never held across a write, a marker
//     round trip or a producer id allocation.
//   - Markers carry the coordinator epoch: the leader epoch of the
//     __transaction_state partition the coordinator loaded, so that a
//     partition's leader can tell a deposed coordinator's markers apart.
//
// # Records
//
// Keys and values are Kafka's TransactionLogKey and TransactionLogValue,
// read and written with kmsg's TxnMetadataKey and TxnMetadataValue; all
// integers big-endian:
//
//	key:      int16 version (0) | string transactional id (int16 length, bytes)
//	value v0: int16 version | int64 producer id | int16 producer epoch |
//	          int32 timeout ms | int8 state |
//	          [int32 count] (string topic, [int32 count] int32 partition) |
//	          int64 last update ms | int64 start ms (-1: no transaction)
//	value v1: the same fields with compact (uvarint length+1) strings and
//	          arrays and a tagged-field section after each topic and at the
//	          end; tags 0 previous producer id, 1 next producer id, 2 client
//	          transaction version, 3 next producer epoch (KIP-890, KIP-939)
//
// Version 1 is written; both are read (record_test.go has the golden
// bytes). A nil value is a tombstone: the id expired. Records come from
// disk and are not trusted; DecodeRecord rejects what does not parse or
// holds values no coordinator writes, and never panics.
package txn
