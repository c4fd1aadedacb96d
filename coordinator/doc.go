// Package coordinator is the embedded replacement for ZooKeeper: a Raft
// quorum (hashicorp/raft, log and stable store in raft-boltdb/v2 on bbolt)
// that owns all cluster metadata, and the controller logic that runs on the
// Raft leader.
//
// The metadata state machine holds brokers, topics with their IDs,
// partitions with leader, leader epoch, partition epoch and ISR, topic config
// overrides and the producer-ID allocator. Each applied command yields a new
// immutable Metadata image; the broker reads the latest image and reconciles
// its local partitions against it, the way a Kafka broker applies metadata
// deltas in KRaft mode.
//
// Invariants:
//   - Only committed Raft entries change an image; an image never changes
//     after it is published.
//   - Every leader change bumps the partition's LeaderEpoch; every leader or
//     ISR change bumps its PartitionEpoch.
//   - A new leader is chosen only from the ISR (unless unclean election is
//     enabled for the topic).
//   - Producer-ID blocks never overlap: NextProducerID only grows.
//   - Topic IDs are never reused, even for a re-created name.
package coordinator
