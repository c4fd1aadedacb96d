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
}

// producerState is the per-partition idempotence state: for every producer
// id its epoch and its last few batches. Leaders check appends against it;
// every replica rebuilds it from the log it holds.
type producerState struct {
	producers map[int64]*producerEntry
}

func newProducerState() *producerState { return &producerState{producers: map[int64]*producerEntry{}} }

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
	if n := len(e.Batches); n > 0 && !inSequence(e.Batches[n-1].LastSeq, h.BaseSequence) {
		return nil, protocol.Errorf(protocol.OutOfOrderSequenceNumber,
			"producer %d epoch %d: sequence %d does not follow %d", h.ProducerID, h.ProducerEpoch, h.BaseSequence, e.Batches[n-1].LastSeq)
	}
	return nil, nil
}

func inSequence(last, next int32) bool {
	return next == last+1 || (last == math.MaxInt32 && next == 0)
}

// update records an appended batch.
func (ps *producerState) update(h *protocol.BatchHeader) {
	if !h.HasProducerID() || h.IsControl() {
		return
	}
	e := ps.producers[h.ProducerID]
	if e == nil || h.ProducerEpoch > e.Epoch {
		e = &producerEntry{Epoch: h.ProducerEpoch}
		ps.producers[h.ProducerID] = e
	}
	if len(e.Batches) == maxCachedBatches {
		e.Batches = append(e.Batches[:0], e.Batches[1:]...)
	}
	e.Batches = append(e.Batches, batchMeta{
		FirstSeq: h.BaseSequence, LastSeq: h.LastSequence(),
		FirstOffset: h.BaseOffset, LastOffset: h.LastOffset(), Timestamp: h.MaxTimestamp,
	})
}

// producerSnapshot is written on clean shutdown so that the next start need
// not read the whole log to rebuild the state.
type producerSnapshot struct {
	Offset    int64                    `json:"offset"` // state covers the log below this offset
	Producers map[int64]*producerEntry `json:"producers"`
}

const producerSnapshotFile = "producer-state.json"

func (ps *producerState) save(path string, offset int64) error {
	b, err := json.Marshal(producerSnapshot{Offset: offset, Producers: ps.producers})
	if err != nil {
		return err
	}
	return writeFileSync(path, b)
}

// loadProducerSnapshot returns the saved state and the offset it covers, or
// an empty state at -1 when there is none. The file is trusted no more than
// any other input: whatever cannot be read or breaks the state's rules
// gives an empty state and an error naming the file, and the caller
// rebuilds from the log.
func loadProducerSnapshot(path string) (*producerState, int64, error) {
	b, err := os.ReadFile(path)
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
	if snap.Producers == nil || snap.Offset < 0 {
		return nil, 0, fmt.Errorf("no producers or offset %d", snap.Offset)
	}
	for id, e := range snap.Producers {
		if e == nil || id < 0 || e.Epoch < 0 || len(e.Batches) > maxCachedBatches {
			return nil, 0, fmt.Errorf("producer %d: invalid entry", id)
		}
		for _, bm := range e.Batches {
			if bm.FirstOffset < 0 || bm.LastOffset < bm.FirstOffset || bm.LastOffset >= snap.Offset || bm.FirstSeq < 0 || bm.LastSeq < 0 {
				return nil, 0, fmt.Errorf("producer %d: invalid batch %+v", id, bm)
			}
		}
	}
	return &producerState{producers: snap.Producers}, snap.Offset, nil
}

// truncate forgets batches at or past offset, when a follower cuts its log
// back to its leader's. A producer left without batches is forgotten: its
// next batch is accepted as from an unknown producer, as Kafka does.
func (ps *producerState) truncate(offset int64) {
	for id, e := range ps.producers {
		e.Batches = slices.DeleteFunc(e.Batches, func(b batchMeta) bool { return b.LastOffset >= offset })
		if len(e.Batches) == 0 {
			delete(ps.producers, id)
		}
	}
}

// ProducerInfo is one producer's state as DescribeProducers reports it.
type ProducerInfo struct {
	ID            int64
	Epoch         int16
	LastSequence  int32
	LastTimestamp int64
}

// Producers lists the idempotent producers this log knows, by id.
func (l *Log) Producers() []ProducerInfo {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]ProducerInfo, 0, len(l.producers.producers))
	for id, e := range l.producers.producers {
		info := ProducerInfo{ID: id, Epoch: e.Epoch, LastSequence: -1, LastTimestamp: -1}
		if n := len(e.Batches); n > 0 {
			info.LastSequence, info.LastTimestamp = e.Batches[n-1].LastSeq, e.Batches[n-1].Timestamp
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ProducerInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
