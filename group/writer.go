package group

import (
	"errors"
	"log/slog"

	"github.com/gokafka/gokafka/protocol"
)

// PartitionWriter is how the coordinator reaches its partitions of
// __consumer_offsets (Kafka's PartitionWriter): the broker implements it
// over its replicas, and tests over memory.
type PartitionWriter interface {
	// Append writes batch to partition as its leader, with acks=all. The
	// offset of its first record, or a Kafka error (protocol.Errorf), comes
	// back at once; acked is called later, from another goroutine, once
	// the batch is committed (nil) or cannot be. A transactional batch
	// whose transaction was verified with its coordinator (KIP-890) carries
	// the guard the partition gave for it; 0 otherwise.
	Append(partition int32, batch []byte, guard uint64, acked func(error)) (first int64, err error)
	// VerifyTxn is KIP-890 for a transactional batch about to be appended
	// to partition: unless the producer's transaction is open there
	// already (guard 0), its coordinator must confirm that the transaction
	// is ongoing with the partition in it (part 1: AddOffsetsToTxn added
	// it), or with add must add it (part 2: TxnOffsetCommit v5+), so that
	// a late commit opens no transaction that no marker ends. The guard
	// goes with the Append; a marker written meanwhile voids it.
	VerifyTxn(partition int32, transactionalID string, producerID int64, epoch int16, add bool) (guard uint64, err error)
	// Leading reports whether this broker leads partition, and in which
	// leader epoch.
	Leading(partition int32) (epoch int32, ok bool)
	// Bounds returns the partition's log start offset and its high
	// watermark. A load reads no further: what lies above is not committed
	// and may yet be truncated away, and a coordinator's state may hold
	// only what every later coordinator of the partition will hold too.
	Bounds(partition int32) (start, hw int64, err error)
	// AwaitCommitted returns once this broker leads partition in
	// leaderEpoch with a high watermark that covers every record its log
	// held when that leadership began (the records of older epochs, which a
	// load must see), or with an error once it does not lead the partition
	// in that epoch, or the broker stops.
	AwaitCommitted(partition, leaderEpoch int32) error
	// Read returns whole stored batches of partition from offset on, below
	// end; at least one batch when there is one.
	Read(partition int32, offset, end int64) ([]byte, error)
}

// Load reads partition from offset (its log start, if later) up to its
// high watermark, handing each batch to apply, and returns where it
// stopped. Batches come from disk and are not trusted: a corrupt header,
// past which no batch boundary can be found, ends the load with an ERROR
// line and what it has, so that bad bytes never keep a coordinator
// loading forever.
func Load(w PartitionWriter, partition int32, offset int64, apply func(batch []byte, h *protocol.BatchHeader), logger *slog.Logger) (int64, error) {
	start, end, err := w.Bounds(partition)
	if err != nil {
		return offset, err
	}
	read := func(from int64) ([]byte, error) { return w.Read(partition, from, end) }
	next, err := protocol.ReadBatches(read, max(offset, start), end, func(h *protocol.BatchHeader, b []byte) { apply(b, h) })
	var bad *protocol.StoredBatchError
	if errors.As(err, &bad) {
		logger.Error("load stops at a corrupt batch", "partition", partition, "offset", bad.Offset, "err", bad.Err)
		return end, nil
	}
	if err != nil {
		return next, err
	}
	return max(next, end), nil
}
