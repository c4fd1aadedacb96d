package log

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/gokafka/gokafka/protocol"
)

// maxCachedBatches is how many recent batches per producer Kafka remembers
// for deduplication; idempotent producers keep at most five in flight.
const maxCachedBatches = 5

// batchMeta is what deduplication needs to know about one appended batch.
type batchMeta struct {
	FirstSeq    int32 `json:"first_seq"`
	LastSeq     int32 `json:"last_seq"`
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
	Timestamp   int64 `json:"timestamp"`
}

type producerEntry struct {
	Epoch   int16       `json:"epoch"`
	Batches []batchMeta `json:"batches"` // oldest first
	// CoordinatorEpoch is that of the last marker written for the
	// producer; a marker from an older coordinator is fenced.
	CoordinatorEpoch int32 `json:"coordinator_epoch"`
	// TxnFirstOffset is the first offset of the producer's ongoing
	// transaction, -1 when none is open.
	TxnFirstOffset int64 `json:"current_txn_first_offset"`
}

// producerState is the per-partition idempotence and transaction state:
// for every producer id its epoch, its last few batches and its ongoing
// transaction. Leaders check appends against it; every replica rebuilds it
// from the log it holds.
type producerState struct {
	producers map[int64]*producerEntry
	// ongoing maps the producers with an open transaction to its first
	// offset: the few that bound the last stable offset.
	ongoing map[int64]int64
	// unreplicated are the transactions whose marker is written here but
	// may not be replicated yet, oldest marker first (Kafka's
	// unreplicatedTxns). Until the high watermark passes its marker a
	// transaction still bounds the last stable offset: a new leader that
	// lacks the marker would hold it open again.
	unreplicated []completedTxn
	// lastMarker is the offset of the newest marker applied, -1 for none:
	// truncating below it reopens transactions, which needs a replay.
	lastMarker int64
	// guards are the verifications in flight (KIP-890 part 1), by
	// producer; a marker clears its producer's, except the one that ends
	// the previous transaction of a KIP-890 part 2 producer whose next
	// transaction's batch the guard stands for. Memory only, as in Kafka.
	guards    map[int64]verification
	lastGuard uint64
}

// verification is a guard in flight: the batch it stands for is of epoch,
// from a producer that bumps its epoch with every marker (KIP-890 part 2).
type verification struct {
	guard uint64
	epoch int16
	bump  bool
}

// completedTxn is a transaction from its first offset to its marker.
type completedTxn struct {
	first, marker int64
}

func newProducerState() *producerState {
	return &producerState{producers: map[int64]*producerEntry{}, ongoing: map[int64]int64{}, lastMarker: -1, guards: map[int64]verification{}}
}

// entry returns the producer's entry, creating it at epoch.
func (ps *producerState) entry(id int64, epoch int16) *producerEntry {
	e := ps.producers[id]
	if e == nil {
		e = &producerEntry{Epoch: epoch, CoordinatorEpoch: -1, TxnFirstOffset: -1}
		ps.producers[id] = e
	}
	return e
}

// check applies Kafka's idempotence rules to a batch about to be appended
// by a leader. A retried batch returns its earlier metadata instead of an
// error: the caller acknowledges it without appending again.
func (ps *producerState) check(h *protocol.BatchHeader) (*batchMeta, error) {
	if !h.HasProducerID() {
		return nil, nil
	}
	e := ps.producers[h.ProducerID]
	if e == nil {
		// Unknown producer: accept any sequence, as Kafka does once a
		// producer's state has expired with the segments that held it.
		return nil, nil
	}
	if h.ProducerEpoch < e.Epoch {
		return nil, protocol.Errorf(protocol.InvalidProducerEpoch,
			"producer %d epoch %d is older than %d", h.ProducerID, h.ProducerEpoch, e.Epoch)
	}
	if !h.IsTransactional() && e.TxnFirstOffset >= 0 {
		return nil, protocol.Errorf(protocol.InvalidTxnState,
			"producer %d: expected a transactional write, its transaction from offset %d is open", h.ProducerID, e.TxnFirstOffset)
	}
	if h.BaseSequence < 0 {
		// Only a coordinator writes a producer's batch without a sequence
		// (TxnOffsetCommit; protocol.ValidateBatch refuses a client's): as
		// in Kafka, its epoch is checked and nothing else, and it is never
		// a retry of an earlier one.
		return nil, nil
	}
	if h.ProducerEpoch > e.Epoch {
		if h.BaseSequence != 0 {
			return nil, protocol.Errorf(protocol.OutOfOrderSequenceNumber,
				"producer %d: first sequence of new epoch %d is %d, not 0", h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return nil, nil
	}
	last := h.LastSequence()
	for i := range e.Batches {
		if b := &e.Batches[i]; b.FirstSeq == h.BaseSequence && b.LastSeq == last {
			return b, nil
		}
	}
	n := len(e.Batches)
	switch {
	case n > 0 && !inSequence(e.Batches[n-1].LastSeq, h.BaseSequence):
		return nil, protocol.Errorf(protocol.OutOfOrderSequenceNumber,
			"producer %d epoch %d: sequence %d does not follow %d", h.ProducerID, h.ProducerEpoch, h.BaseSequence, e.Batches[n-1].LastSeq)
	case n == 0 && h.BaseSequence != 0:
		// The epoch came with a marker (the coordinator fencing the
		// producer, or KIP-890's bump at every transaction's end): as in
		// Kafka, its first batch starts at sequence 0, or one before it
		// is missing.
		return nil, protocol.Errorf(protocol.OutOfOrderSequenceNumber,
			"producer %d: first sequence of epoch %d is %d, not 0", h.ProducerID, h.ProducerEpoch, h.BaseSequence)
	}
	return nil, nil
}

func inSequence(last, next int32) bool {
	return next == last+1 || (last == math.MaxInt32 && next == 0)
}

// update records an appended data batch; a transactional one opens the
// producer's transaction unless one is open already.
func (ps *producerState) update(h *protocol.BatchHeader) {
	if !h.HasProducerID() || h.IsControl() {
		return
	}
	e := ps.entry(h.ProducerID, h.ProducerEpoch)
	e.bumpEpoch(h.ProducerEpoch)
	if h.IsTransactional() && e.TxnFirstOffset < 0 {
		e.TxnFirstOffset = h.BaseOffset
		ps.ongoing[h.ProducerID] = h.BaseOffset
		delete(ps.guards, h.ProducerID) // verified: the transaction is open
	}
	if h.BaseSequence < 0 {
		return // a coordinator's batch: no sequence to deduplicate by
	}
	if len(e.Batches) == maxCachedBatches {
		e.Batches = append(e.Batches[:0], e.Batches[1:]...)
	}
	e.Batches = append(e.Batches, batchMeta{
		FirstSeq: h.BaseSequence, LastSeq: h.LastSequence(),
		FirstOffset: h.BaseOffset, LastOffset: h.LastOffset(), Timestamp: h.MaxTimestamp,
	})
}

// bumpEpoch moves the entry to a newer epoch: the sequences of the old one
// no longer count. An open transaction stays open, as in Kafka.
func (e *producerEntry) bumpEpoch(epoch int16) {
	if epoch > e.Epoch {
		e.Epoch, e.Batches = epoch, nil
	}
}

// producerSnapshot is written on clean shutdown so that the next start need
// not read the whole log to rebuild the state.
type producerSnapshot struct {
	// Version 1 added the transaction fields; a version 0 snapshot has no
	// open transaction and no coordinator epoch.
	Version    int                      `json:"version"`
	Offset     int64                    `json:"offset"` // state covers the log below this offset
	LastMarker int64                    `json:"last_marker"`
	Producers  map[int64]*producerEntry `json:"producers"`
}

const producerSnapshotVersion = 1

const producerSnapshotFile = "producer-state.json"

func (ps *producerState) save(fs FS, path string, offset int64) error {
	b, err := json.Marshal(producerSnapshot{Version: producerSnapshotVersion, Offset: offset, LastMarker: ps.lastMarker, Producers: ps.producers})
	if err != nil {
		return err
	}
	return writeFileSync(fs, path, b)
}

// loadProducerSnapshot returns the saved state and the offset it covers, or
// an empty state at -1 when there is none. The file is trusted no more than
// any other input: whatever cannot be read or breaks the state's rules
// gives an empty state and an error naming the file, and the caller
// rebuilds from the log.
func loadProducerSnapshot(fs FS, path string) (*producerState, int64, error) {
	b, err := readFile(fs, path)
	if os.IsNotExist(err) {
		return newProducerState(), -1, nil
	}
	var ps *producerState
	var offset int64
	if err == nil {
		ps, offset, err = parseProducerSnapshot(b)
	}
	if err != nil {
		return newProducerState(), -1, fmt.Errorf("%s: unreadable, rebuilding from the log: %w", path, err)
	}
	return ps, offset, nil
}

// parseProducerSnapshot decodes a snapshot and checks what the append path
// relies on: every producer has an entry with at most maxCachedBatches
// batches, each below the offset the snapshot covers.
func parseProducerSnapshot(b []byte) (*producerState, int64, error) {
	var snap producerSnapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, 0, err
	}
	if snap.Producers == nil || snap.Offset < 0 || snap.Version > producerSnapshotVersion {
		return nil, 0, fmt.Errorf("version %d, no producers or offset %d", snap.Version, snap.Offset)
	}
	ps := newProducerState()
	ps.producers = snap.Producers
	if snap.Version > 0 {
		ps.lastMarker = snap.LastMarker
	}
	if ps.lastMarker < -1 || ps.lastMarker >= snap.Offset {
		return nil, 0, fmt.Errorf("last marker %d past offset %d", ps.lastMarker, snap.Offset)
	}
	for id, e := range snap.Producers {
		if e == nil || id < 0 || e.Epoch < 0 || len(e.Batches) > maxCachedBatches {
			return nil, 0, fmt.Errorf("producer %d: invalid entry", id)
		}
		if snap.Version == 0 {
			e.CoordinatorEpoch, e.TxnFirstOffset = -1, -1
		}
		if e.TxnFirstOffset < -1 || e.TxnFirstOffset >= snap.Offset {
			return nil, 0, fmt.Errorf("producer %d: transaction at %d past offset %d", id, e.TxnFirstOffset, snap.Offset)
		}
		if e.TxnFirstOffset >= 0 {
			ps.ongoing[id] = e.TxnFirstOffset
		}
		for _, bm := range e.Batches {
			if bm.FirstOffset < 0 || bm.LastOffset < bm.FirstOffset || bm.LastOffset >= snap.Offset || bm.FirstSeq < 0 || bm.LastSeq < 0 {
				return nil, 0, fmt.Errorf("producer %d: invalid batch %+v", id, bm)
			}
		}
	}
	return ps, snap.Offset, nil
}

// truncate forgets batches at or past offset, when a follower cuts its log
// back to its leader's, and the transactions opened there. A producer left
// without batches or transaction is forgotten: its next batch is accepted
// as from an unknown producer, as Kafka does. It cannot reopen the
// transactions that markers past offset closed: the caller replays the
// log instead when lastMarker >= offset.
func (ps *producerState) truncate(offset int64) {
	for id, e := range ps.producers {
		e.Batches = slices.DeleteFunc(e.Batches, func(b batchMeta) bool { return b.LastOffset >= offset })
		if e.TxnFirstOffset >= offset {
			e.TxnFirstOffset = -1
			delete(ps.ongoing, id)
		}
		if len(e.Batches) == 0 && e.TxnFirstOffset < 0 {
			delete(ps.producers, id)
		}
	}
}

// ProducerInfo is one producer's state as DescribeProducers reports it.
type ProducerInfo struct {
	ID               int64
	Epoch            int16
	LastSequence     int32
	LastTimestamp    int64
	CoordinatorEpoch int32
	// CurrentTxnStartOffset is the first offset of the producer's open
	// transaction, -1 when none is open.
	CurrentTxnStartOffset int64
}

// Producers lists the idempotent and transactional producers this log
// knows, by id.
func (l *Log) Producers() []ProducerInfo {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]ProducerInfo, 0, len(l.producers.producers))
	for id, e := range l.producers.producers {
		info := ProducerInfo{ID: id, Epoch: e.Epoch, LastSequence: -1, LastTimestamp: -1,
			CoordinatorEpoch: e.CoordinatorEpoch, CurrentTxnStartOffset: e.TxnFirstOffset}
		if n := len(e.Batches); n > 0 {
			info.LastSequence, info.LastTimestamp = e.Batches[n-1].LastSeq, e.Batches[n-1].Timestamp
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ProducerInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
