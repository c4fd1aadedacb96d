package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Batch validation on append, as Kafka's LogValidator does it: a batch that
// passes holds exactly the records its header claims, each one well formed
// within its own length, so that every consumer and every parser of stored
// records (cleaner, group load, timestamp lookups) can walk it. Nothing is
// allocated for an uncompressed batch; a compressed one is inflated into a
// pooled buffer bounded by ValidateOptions.MaxDecompressed, never by the
// size the compressed data claims.

// ValidateOptions carries the rules of the topic a batch is appended to.
type ValidateOptions struct {
	TopicPartition string // names the partition in error messages
	// Compacted is true for cleanup.policy=compact: every record needs a key.
	Compacted bool
	// LogAppendTime is message.timestamp.type=LogAppendTime.
	LogAppendTime bool
	// TransactionalID is the produce request's, empty for a plain producer.
	TransactionalID string
	// MaxDecompressed bounds what the records of a compressed batch may
	// inflate to; 0 means DefaultMaxDecompressed.
	MaxDecompressed int
}

// DefaultMaxDecompressed is the fixed bound on one batch's inflated
// records: 64 times Kafka's default max.message.bytes, far above what a
// producer builds (producers bound a batch by its uncompressed size).
const DefaultMaxDecompressed = maxDecompressed

// RecordError is one record refused with its batch (KIP-467): Index is the
// record's position in the batch.
type RecordError struct {
	Index   int32
	Message string
}

// RecordErrors refuses a batch for faults in some of its records; the
// produce response lists them in its RecordErrors field.
type RecordErrors struct {
	Err     *Error
	Records []RecordError
}

func (e *RecordErrors) Error() string { return e.Err.Error() }
func (e *RecordErrors) Unwrap() error { return e.Err }

// ValidateBatch checks one whole v2 batch from a producer (b holds exactly
// the batch). It returns an *Error (CORRUPT_MESSAGE, INVALID_RECORD,
// INVALID_TIMESTAMP, or the transactional refusals) or a *RecordErrors, and
// nil when the batch may be stored.
func ValidateBatch(b []byte, opts *ValidateOptions) error {
	h, err := ParseBatchHeader(b)
	if err == nil && h.Size() != len(b) {
		err = fmt.Errorf("%w: batch length %d with %d bytes present", ErrCorruptBatch, h.Length, len(b)-LogOverhead)
	}
	if err == nil {
		err = VerifyCRC(b, &h)
	}
	if errors.Is(err, ErrBadMagic) {
		// Kafka 4 takes only magic 2, and says so with INVALID_RECORD.
		return Errorf(InvalidRecord, "%s: %v", opts.TopicPartition, err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", opts.TopicPartition, err)
	}
	if err := checkBatchHeader(&h, opts); err != nil {
		return err
	}
	body := b[BatchHeaderSize:]
	if h.Compression() != CompressionNone {
		buf := getBuffer()
		defer putBuffer(buf)
		limit := opts.MaxDecompressed
		if limit <= 0 {
			limit = DefaultMaxDecompressed
		}
		if *buf, err = decompress((*buf)[:0], h.Compression(), body, limit); err != nil {
			return Errorf(CorruptMessage, "%s: %v", opts.TopicPartition, err)
		}
		body = *buf
	}
	return checkRecords(body, &h, opts)
}

// checkBatchHeader applies the header rules Kafka applies to a client's
// batch before it looks at the records.
func checkBatchHeader(h *BatchHeader, opts *ValidateOptions) error {
	tp := opts.TopicPartition
	switch {
	case h.NumRecords <= 0:
		return Errorf(InvalidRecord, "%s: invalid reported count for record batch: %d", tp, h.NumRecords)
	case int64(h.LastOffsetDelta)+1 != int64(h.NumRecords):
		return Errorf(InvalidRecord, "%s: inconsistent batch offset range [0, %d] and count of records %d", tp, h.LastOffsetDelta, h.NumRecords)
	case h.Compression() > CompressionZstd:
		return Errorf(CorruptMessage, "%s: unknown compression codec %d", tp, h.Compression())
	case h.IsControl():
		return Errorf(InvalidRecord, "%s: clients are not allowed to write control records", tp)
	case h.IsTransactional() && opts.TransactionalID == "":
		// Kafka refuses transactional records from a request without a
		// transactional id before it looks at any partition.
		return Errorf(TransactionalIDAuthFailed, "%s: transactional batch from producer %d without a transactional id", tp, h.ProducerID)
	case h.HasProducerID() && h.BaseSequence < 0:
		return Errorf(InvalidRecord, "%s: invalid sequence number %d in record batch with producer id %d", tp, h.BaseSequence, h.ProducerID)
	case opts.LogAppendTime && h.Attributes&AttrTimestampType != 0:
		return Errorf(InvalidTimestamp, "%s: producer should not set timestamp type to LogAppendTime", tp)
	}
	return nil
}

// checkRecords walks the records of body and checks that there are exactly
// h.NumRecords of them, with offset deltas 0, 1, 2… and, in a compacted
// topic, a key each.
func checkRecords(body []byte, h *BatchHeader, opts *ValidateOptions) error {
	var keyless []RecordError
	i, delta := int32(0), int32(0)
	err := walkRecords(body, h.NumRecords, func(r RecordView) bool {
		if delta = r.OffsetDelta; delta != i {
			return false
		}
		if opts.Compacted && r.Key == nil {
			keyless = append(keyless, RecordError{Index: i, Message: fmt.Sprintf(
				"Compacted topic cannot accept message without key in topic partition %s", opts.TopicPartition)})
		}
		i++
		return true
	})
	switch {
	case err != nil:
		return Errorf(InvalidRecord, "%s: %v", opts.TopicPartition, err)
	case i < h.NumRecords:
		return Errorf(InvalidRecord, "%s: record %d has offset delta %d", opts.TopicPartition, i, delta)
	case len(keyless) > 0:
		return &RecordErrors{Err: &Error{Code: InvalidRecord, Msg: recordErrorsMessage(keyless)}, Records: keyless}
	}
	return nil
}

// recordErrorsMessage is Kafka's message for a batch refused record by record.
func recordErrorsMessage(errs []RecordError) string {
	shown := make([]string, 0, 3)
	for _, e := range errs[:min(len(errs), 3)] {
		shown = append(shown, fmt.Sprintf("RecordError(batchIndex=%d, message='%s')", e.Index, e.Message))
	}
	return fmt.Sprintf("One or more records have been rejected due to %d record errors in total, and only showing the first three errors at most: [%s]",
		len(errs), strings.Join(shown, ", "))
}

// RecordView is one record seen in place, inside its batch's bytes.
type RecordView struct {
	OffsetDelta    int32
	TimestampDelta int64
	Key, Value     []byte // nil when null
	Raw            []byte // the whole record, its length prefix included
}

// walkRecords parses the records in body, which must hold exactly count of
// them, calling fn for each until it returns false. Every length is checked
// against the bytes of its record before use, so the walk allocates
// nothing and costs at most the bytes present, whatever count claims.
func walkRecords(body []byte, count int32, fn func(r RecordView) bool) error {
	var r RecordView
	for i := int32(0); ; i++ {
		if len(body) == 0 {
			if i != count {
				return fmt.Errorf("batch claims %d records but holds %d", count, i)
			}
			return nil
		}
		if i == count {
			return fmt.Errorf("%d bytes follow the %d records the batch claims", len(body), count)
		}
		length, n := varint32(body)
		if n <= 0 || length < 0 || int64(length) > int64(len(body)-n) {
			return fmt.Errorf("record %d: length %d with %d bytes left", i, length, len(body)-max(n, 0))
		}
		if err := parseRecord(body[n:n+int(length)], &r); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		r.Raw = body[:n+int(length)]
		if !fn(r) {
			return nil
		}
		body = body[n+int(length):]
	}
}

// parseRecord reads the fields of one record body (after its length) and
// checks that they fill it exactly, as Kafka's DefaultRecord.readFrom does.
func parseRecord(b []byte, r *RecordView) error {
	if len(b) < 1 {
		return fmt.Errorf("empty record")
	}
	b = b[1:] // attributes: unused
	ts, n := binary.Varint(b)
	if n <= 0 {
		return fmt.Errorf("bad timestamp delta")
	}
	r.TimestampDelta, b = ts, b[n:]
	if r.OffsetDelta, n = varint32(b); n <= 0 {
		return fmt.Errorf("bad offset delta")
	}
	b = b[n:]
	var err error
	if r.Key, b, err = nullableBytes(b, "key"); err != nil {
		return err
	}
	if r.Value, b, err = nullableBytes(b, "value"); err != nil {
		return err
	}
	headers, n := varint32(b)
	if n <= 0 || headers < 0 || int64(headers) > int64(len(b)-n)/2 {
		return fmt.Errorf("invalid number of record headers %d", headers)
	}
	b = b[n:]
	for j := int32(0); j < headers; j++ {
		key, rest, err := nullableBytes(b, "header key")
		if err == nil && key == nil {
			err = fmt.Errorf("invalid negative header key size")
		}
		if err != nil {
			return err
		}
		if _, b, err = nullableBytes(rest, "header value"); err != nil {
			return err
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%d bytes left after the record's fields", len(b))
	}
	return nil
}

// nullableBytes reads a varint length (-1 for null) and that many bytes.
func nullableBytes(b []byte, what string) (v, rest []byte, err error) {
	l, n := varint32(b)
	switch {
	case n <= 0:
		return nil, b, fmt.Errorf("bad %s length", what)
	case l == -1:
		return nil, b[n:], nil
	case l < -1 || int64(l) > int64(len(b)-n):
		return nil, b, fmt.Errorf("%s length %d with %d bytes left", what, l, len(b)-n)
	}
	return b[n : n+int(l) : n+int(l)], b[n+int(l):], nil
}

// varint32 reads a zigzag varint of at most 5 bytes, as Kafka's int32
// varints are; n <= 0 when b is too short or the value overflows.
func varint32(b []byte) (int32, int) {
	var x uint32
	for i := 0; i < 5 && i < len(b); i++ {
		c := b[i]
		if i == 4 && c > 0x0f {
			return 0, -1
		}
		x |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int32(x>>1) ^ -int32(x&1), i + 1
		}
	}
	return 0, 0
}
