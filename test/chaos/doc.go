// Package chaos runs a three-node cluster on hosts of its own (network
// namespaces, see harness.NewNet) under a seeded schedule of faults:
// SIGKILL of a random node, a partition leader or the Raft leader, SIGSTOP
// pauses, network partitions (a leader, the controller, a minority, one
// way), a slow lossy link on one host (tc tbf and nftables: this kernel has
// no netem), torn segment tails on a stopped replica, and, through the
// server built with -tags faultfs (harness.FaultBinary), a leader's slow
// disk, a node's failing disk (EIO on write and fsync), a leader's disk
// failing reads (EIO), a full disk (each node's data directory is a tmpfs
// of its own) and a node's wall clock jumping an hour either way. A node
// whose disk refuses a write or a read must halt, as Kafka's does, and
// recover when restarted. Each nemesis heals itself before the
// next strikes.
//
// While faults come and go, idempotent acks=all producers write unique
// values (producer id and sequence, see Value) to RF-3 topics and record
// every acknowledgement with its offset; a consumer group records what it
// read and what it committed; a sampler records each partition's high
// watermark as clients see it.
//
// After the schedule the cluster is healed, leadership is rotated so that
// every replica leads each partition once, and each replica's log is read
// from it while it leads. Check (checker.go, pure functions over the
// History and the Final state) then reports acknowledged records lost or
// moved, duplicates, per-producer reordering, divergent replicas, reads of
// records the log no longer holds, committed offsets that went backwards
// or above the high watermark, high watermarks that went backwards, panics
// and races in the servers' logs, and per fault the records acknowledged,
// the longest unavailability of a partition the struck node led and of one
// it followed, and the recovery time.
//
// TestChaos is the runner: -chaos.duration (2m in make test, 10m in make
// chaos), -chaos.seed (the same seed gives the same schedule) and
// -chaos.strict (make chaos), which holds the unavailability and stall
// bounds to issue 17's figures; make test allows them loadSlack more. Every
// other check fails either run.
package chaos
