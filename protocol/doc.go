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
//   - Record batches are never decoded here beyond their fixed 61-byte
//     header; records are opaque bytes except where a caller explicitly asks
//     to iterate them (timestamp lookups).
package protocol
