// Package broker serves the Kafka protocol: the TCP listeners and
// connections, and dispatch by API key (one file per API family, table in
// dispatch.go). The replica manager that keeps this broker's partition
// replicas in line with the metadata the coordinator publishes is package
// replica; replicas.go is the broker as it sees it.
//
// Request path: a connection's reader goroutine reads a frame, parses the
// header and body, and runs the handler; the handler completes the
// request's response slot at once or parks it in the purgatory
// (replica.Purgatory: acks=all produce waits for the high watermark, fetch for
// min bytes), where appends and high-watermark moves kick it and one
// goroutine re-checks kicked requests and expires them from one heap of
// deadlines. The writer goroutine sends responses strictly in request
// order, as Kafka clients require.
//
// Lock order: package replica's doc gives it for partitions and the
// purgatory.
//
// Invariants:
//   - Responses on a connection leave in the order their requests arrived.
//   - A consumer never receives records at or above the high watermark
//     (the last stable offset for read_committed).
//   - Only the leader of a partition appends producer records to it, in the
//     leader epoch the metadata gave it; appends and leadership changes
//     exclude each other.
//   - Malformed input closes that connection with one log line; it never
//     stops the process (a recover at the dispatch boundary logs a bug).
package broker
