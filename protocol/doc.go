// Package protocol owns the Kafka wire format below the message bodies:
// framing (a 4-byte big-endian size prefix), request and response headers
// (v0–v2, with KIP-482 tagged fields), the table of API versions this broker
// supports, record-batch v2 header parsing with CRC32C checks, and Kafka's
// error codes. Message bodies themselves are github.com/twmb/franz-go/pkg/kmsg.
//
// Invariants:
//   - Nothing is allocated for a frame before its size has been checked
//     against the configured maximum (socket.request.max.bytes).
//   - Every length and count read from the wire is checked against the bytes
//     that remain before it is used; parsers return errors, never panic.
//   - Record batches are stored as received. ValidateBatch walks a
//     producer's records once (Kafka's LogValidator rules) without
//     decoding them into values; the readers of stored batches (timestamp
//     lookups, Records for the cleaner and group load) walk them the same
//     way, bounded by the bytes present, never by the count a batch claims,
//     and inflate compressed records to at most DefaultMaxDecompressed.
package protocol
