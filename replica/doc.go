// Package replica is the replica manager: this broker's replicas of its
// partitions (partition state: leader, leader epoch, ISR, high
// watermark), kept in line with the metadata image; the leader's side of
// replication (follower positions, ISR shrink and expand through
// AlterPartition); the follower's side (one fetcher per leader, truncation
// by OffsetForLeaderEpoch); and the purgatory where acks=all produces and
// fetches wait on partitions. It is Kafka's ReplicaManager, Partition,
// ReplicaFetcherThread, AlterPartitionManager and DelayedOperationPurgatory.
//
// It reaches the rest through small seams (seams.go): the metadata quorum
// as a Controller (image, change kicks, AlterPartition, barrier), the
// broker as a Host (log configs, min.insync.replicas, ISR metrics, the
// group and transaction coordinators that follow leaderships, peer
// connections, the follower throttle), and the log manager of package log.
// It never imports the broker: the broker's handlers call Manager and
// Partition methods.
//
// Files: manager.go reconciles the image into local replicas;
// partition.go holds one replica's state and its appends; replication.go
// is the leader's ISR logic and the follower's append and truncation;
// alter_partition.go batches AlterPartition requests; fetcher.go copies
// from leaders; leaders.go files the replicas by their leader, for the
// ISR loop and the fetchers; purgatory.go parks requests; lease.go is the
// broker's right to lead.
//
// Invariants:
//   - A leader's high watermark never moves backwards: it only advances,
//     by compare-and-swap, to the smallest log end offset of the ISR (the
//     maximal ISR while an expansion is pending, below). A follower takes
//     the leader's high watermark capped at its own log end, and lowers it
//     only when a truncation cuts its log below it.
//   - A new leader's high watermark may trail what its predecessor
//     acknowledged (KIP-207): until it reaches the log end offset at which
//     the leadership began (the epoch start), ListOffsets answers
//     OFFSET_NOT_AVAILABLE and the group and transaction coordinators do
//     not load (Partition.AwaitEpochStart).
//   - ISR: a follower leaves it once it has not caught up with the leader's
//     log end for replica.lag.time.max.ms; it joins once it fetches, in the
//     leader's current epoch, at or past both the high watermark and the
//     epoch start. Only the committed metadata changes the ISR; a leader
//     has at most one AlterPartition of a partition in flight, and from the
//     moment it asks to add a follower until the answer is known the high
//     watermark waits for that follower too (KIP-497's maximal ISR). A
//     refused change backs off before the next.
//   - A follower that the metadata shows fenced or in controlled shutdown
//     is never proposed for the ISR (KIP-841, Kafka's isReplicaIsrEligible).
//   - A replica that becomes a follower truncates to where its log agrees
//     with the new leader (OffsetForLeaderEpoch, KIP-101/279) before it
//     fetches, and drops fetch responses asked of another leader or epoch.
//   - Only the leader appends producer records, in the leader epoch the
//     metadata gave it and while the broker holds its lease; appends and
//     leadership changes exclude each other (Partition.mu).
//   - A replica deleted here (topic deleted, reassigned away) resigns:
//     it acknowledges nothing more.
//   - An image older than one already reconciled is dropped.
//
// Lock order: Manager.reconcileMu, then Manager.mu or Manager.fetchMu,
// then Partition.mu, then a partition's waiters.mu, then the purgatory's
// mu. The purgatory's goroutine holds none of them while it checks a
// request, and no lock is held across a controller call. The leader
// index's mu (leaders.go) is a leaf: nothing is taken under it.
package replica
