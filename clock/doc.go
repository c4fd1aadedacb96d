// Package clock is the node's wall clock: the time it stamps on records
// and appended batches, and measures retention, segment age (segment.ms),
// committed offsets' and transactional ids' expiry and transaction
// timeouts by, as Kafka measures them with its wall clock. Timers,
// timeouts and liveness use the time package's monotonic clock directly,
// which a wall-clock jump does not move.
//
// A test build (-tags faultfs) can skew it (SetSkew), so that a chaos test
// jumps one node's wall clock without touching the machine's: a time
// namespace does not cover CLOCK_REALTIME. Without the tag Now is
// time.Now and nothing can change it.
package clock
