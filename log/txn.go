package log

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gokafka/gokafka/protocol"
)

// Transactions in the log, as Kafka's ProducerStateManager and
// TransactionIndex keep them. A producer's transactional batch opens its
// transaction (or continues it); a marker (a control batch written by the
// transaction coordinator's WriteTxnMarkers) closes it. The first offset
// of the oldest open transaction bounds the last stable offset, which
// read_committed consumers never pass. An aborted transaction is recorded
// in the .txnindex of the segment that holds its marker, so that a fetch
// can tell read_committed consumers which producers' records to drop.

// AppendOrigin says who writes a batch: only the transaction coordinator's
// markers (and a follower copying its leader) may carry control batches.
type AppendOrigin int8

const (
	OriginClient      AppendOrigin = iota // a producer, or a coordinator writing data
	OriginCoordinator                     // a leader writing a transaction marker
	OriginReplication                     // a follower copying its leader's batches
)

// AbortedTxn is one entry of a .txnindex: an aborted transaction of
// ProducerID spanning [FirstOffset, LastOffset], LastOffset being its
// marker, and the last stable offset once the marker was written.
type AbortedTxn struct {
	ProducerID       int64
	FirstOffset      int64
	LastOffset       int64
	LastStableOffset int64
}

// abortedTxnSize is Kafka's .txnindex entry: version int16 (0), then
// producerId, firstOffset, lastOffset, lastStableOffset, int64 each.
const abortedTxnSize = 34

func (s *segment) txnIndexPath() string { return s.path + ".txnindex" }

// encodeTxnIndex writes entries in the .txnindex layout.
func encodeTxnIndex(entries []AbortedTxn) []byte {
	b := make([]byte, 0, abortedTxnSize*len(entries))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, 0)
		for _, v := range []int64{e.ProducerID, e.FirstOffset, e.LastOffset, e.LastStableOffset} {
			b = binary.BigEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

// parseTxnIndex decodes a segment's .txnindex. The file is trusted no more
// than any other: whole entries of version 0, producer ids and offsets not
// negative, each transaction ending at its marker at or after its start,
// markers in the segment (from base) and in increasing order.
func parseTxnIndex(b []byte, base int64) ([]AbortedTxn, error) {
	if len(b)%abortedTxnSize != 0 {
		return nil, fmt.Errorf("%d bytes are not whole %d-byte entries", len(b), abortedTxnSize)
	}
	out := make([]AbortedTxn, 0, len(b)/abortedTxnSize)
	for i := 0; i < len(b); i += abortedTxnSize {
		if v := int16(binary.BigEndian.Uint16(b[i:])); v != 0 {
			return nil, fmt.Errorf("entry %d: version %d", i/abortedTxnSize, v)
		}
		e := AbortedTxn{
			ProducerID:       int64(binary.BigEndian.Uint64(b[i+2:])),
			FirstOffset:      int64(binary.BigEndian.Uint64(b[i+10:])),
			LastOffset:       int64(binary.BigEndian.Uint64(b[i+18:])),
			LastStableOffset: int64(binary.BigEndian.Uint64(b[i+26:])),
		}
		prev := int64(base - 1)
		if n := len(out); n > 0 {
			prev = out[n-1].LastOffset
		}
		if e.ProducerID < 0 || e.FirstOffset < 0 || e.LastOffset < e.FirstOffset || e.LastOffset <= prev || e.LastStableOffset < 0 {
			return nil, fmt.Errorf("entry %d: %+v is not an aborted transaction of this segment", i/abortedTxnSize, e)
		}
		out = append(out, e)
	}
	return out, nil
}

// loadTxnIndex reads the segment's .txnindex, if files (the directory's
// listing) holds it; a missing file is an empty index (Kafka creates it
// with the first abort).
func (s *segment) loadTxnIndex(files map[string]bool) error {
	if !files[filepath.Base(s.txnIndexPath())] {
		s.txns = nil
		return nil
	}
	b, err := readFile(s.fs, s.txnIndexPath())
	if os.IsNotExist(err) {
		s.txns = nil
		return nil
	}
	if err == nil {
		s.txns, err = parseTxnIndex(b, s.base)
	}
	if err != nil {
		s.txns = nil
		return fmt.Errorf("%s: %w", s.txnIndexPath(), err)
	}
	return nil
}

// writeTxnIndex replaces the .txnindex with the entries in memory; a
// segment without aborts has none.
func (s *segment) writeTxnIndex() error {
	if len(s.txns) == 0 {
		if err := s.fs.Remove(s.txnIndexPath()); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	return writeFileSync(s.fs, s.txnIndexPath(), encodeTxnIndex(s.txns))
}

// addAbortedTxn records an abort whose marker is in s. A replay over a
// segment whose index survived adds nothing twice: markers come in offset
// order.
func (s *segment) addAbortedTxn(e AbortedTxn) {
	if n := len(s.txns); n > 0 && s.txns[n-1].LastOffset >= e.LastOffset {
		return
	}
	s.txns = append(s.txns, e)
}

// checkMarker applies Kafka's rules to a marker a leader is about to
// write: only the transaction coordinator writes them, for a producer
// epoch not older than the partition knows, from a coordinator epoch not
// older than the last marker's.
func (ps *producerState) checkMarker(b []byte, h *protocol.BatchHeader, origin AppendOrigin) error {
	if origin != OriginCoordinator {
		return protocol.Errorf(protocol.InvalidRecord, "clients are not allowed to write control records")
	}
	_, coordEpoch, err := protocol.ParseEndTxnMarker(b)
	if err != nil {
		return protocol.Errorf(protocol.InvalidRecord, "control batch of producer %d: %v", h.ProducerID, err)
	}
	e := ps.producers[h.ProducerID]
	switch {
	case e == nil:
		return nil
	case h.ProducerEpoch < e.Epoch:
		return protocol.Errorf(protocol.InvalidProducerEpoch,
			"marker for producer %d at epoch %d, older than %d", h.ProducerID, h.ProducerEpoch, e.Epoch)
	case coordEpoch < e.CoordinatorEpoch:
		return protocol.Errorf(protocol.TransactionCoordinatorFenced,
			"marker for producer %d from coordinator epoch %d, older than %d", h.ProducerID, coordEpoch, e.CoordinatorEpoch)
	}
	return nil
}

// endTxn applies a marker written at h's offset: the producer's
// transaction closes (an empty one when none was open), its epoch moves to
// the marker's (KIP-890 bumps it with the marker), and an abort returns
// the index entry to record. A control batch that is no transaction
// marker changes nothing.
func (ps *producerState) endTxn(b []byte, h *protocol.BatchHeader) (AbortedTxn, bool, error) {
	commit, coordEpoch, err := protocol.ParseEndTxnMarker(b)
	if err != nil {
		return AbortedTxn{}, false, err
	}
	e := ps.entry(h.ProducerID, h.ProducerEpoch)
	e.bumpEpoch(h.ProducerEpoch)
	first := h.BaseOffset
	if e.TxnFirstOffset >= 0 {
		first = e.TxnFirstOffset
	}
	e.TxnFirstOffset, e.CoordinatorEpoch = -1, coordEpoch
	delete(ps.ongoing, h.ProducerID)
	ps.unreplicated = append(ps.unreplicated, completedTxn{first: first, marker: h.BaseOffset})
	// A KIP-890 part 2 marker carries the epoch its producer's next
	// transaction writes with: a guard of that epoch stands for the next
	// transaction, which the coordinator verifies only once this marker
	// is written, and stays. Any other marker voids the guard.
	if v, ok := ps.guards[h.ProducerID]; !ok || !v.bump || v.epoch != h.ProducerEpoch {
		delete(ps.guards, h.ProducerID)
	}
	ps.lastMarker = max(ps.lastMarker, h.BaseOffset)
	if commit {
		return AbortedTxn{}, false, nil
	}
	lso := h.BaseOffset + 1
	if fuo, ok := ps.firstUnstable(); ok {
		lso = fuo
	}
	return AbortedTxn{ProducerID: h.ProducerID, FirstOffset: first, LastOffset: h.BaseOffset, LastStableOffset: lso}, true, nil
}

// firstUnstable is the first offset of the oldest open transaction.
func (ps *producerState) firstUnstable() (int64, bool) {
	first, ok := int64(0), false
	for _, off := range ps.ongoing {
		if !ok || off < first {
			first, ok = off, true
		}
	}
	return first, ok
}

// applyBatch brings the producer state (and the active segment's
// transaction index) up to date with a batch written to segment s.
func (l *Log) applyBatch(s *segment, b []byte, h *protocol.BatchHeader) {
	if !h.IsControl() {
		l.producers.update(h)
		return
	}
	if !h.HasProducerID() {
		return
	}
	aborted, ok, err := l.producers.endTxn(b, h)
	if err != nil {
		// A follower copies whatever its leader holds; a control batch
		// that is not a transaction marker ends nothing.
		l.logger.Warn("control batch is no transaction marker", "partition", l.tp.String(), "offset", h.BaseOffset, "err", err)
		return
	}
	if ok {
		s.addAbortedTxn(aborted)
	}
}

// StartVerification is called before a leader asks the transaction
// coordinator whether a transactional batch of producerID at epoch belongs
// to its ongoing transaction (KIP-890 part 1). It returns 0 when the
// producer has a transaction of that epoch open here already (nothing to
// verify), else a guard for AppendOptions.VerificationGuard: a marker
// written meanwhile (the coordinator aborting on a timeout) voids it, so
// that the late batch cannot open a transaction no marker will close.
// bump says the producer bumps its epoch with every transaction's end
// (KIP-890 part 2): a transaction open at an older epoch is its previous
// one, whose marker is on its way, and the batch is verified like the
// first of a transaction, as Kafka's hasOngoingTransaction compares the
// epoch.
func (l *Log) StartVerification(producerID int64, epoch int16, bump bool) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := l.producers
	if ps.openAt(producerID, epoch) {
		return 0
	}
	if v, ok := ps.guards[producerID]; ok {
		if epoch > v.epoch {
			v.epoch, v.bump = epoch, bump
			ps.guards[producerID] = v
		}
		return v.guard
	}
	ps.lastGuard++
	ps.guards[producerID] = verification{guard: ps.lastGuard, epoch: epoch, bump: bump}
	return ps.lastGuard
}

// openAt reports whether producerID has a transaction open here at epoch.
func (ps *producerState) openAt(producerID int64, epoch int16) bool {
	e := ps.producers[producerID]
	return e != nil && e.TxnFirstOffset >= 0 && e.Epoch == epoch
}

// checkGuard refuses a transactional batch that would open a transaction
// after the verification its guard stood for was voided by a marker.
func (ps *producerState) checkGuard(h *protocol.BatchHeader, guard uint64) error {
	if guard == 0 || !h.IsTransactional() || ps.openAt(h.ProducerID, h.ProducerEpoch) {
		return nil
	}
	if ps.guards[h.ProducerID].guard != guard {
		return protocol.Errorf(protocol.InvalidTxnState,
			"producer %d: its transaction ended while the batch was being verified", h.ProducerID)
	}
	return nil
}

// FirstUnstableOffset is the first offset of the oldest transaction that
// is still open in this log or whose marker is not below hw, the high
// watermark, yet (Kafka's firstUnstableOffset); false when there is none.
// The last stable offset is the smaller of it and hw: it moves past a
// transaction only once its marker is replicated, so read_committed
// consumers never read what a new leader would show as still open.
func (l *Log) FirstUnstableOffset(hw int64) (int64, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	first, ok := l.producers.firstUnstable()
	for _, t := range l.producers.unreplicated {
		if t.marker >= hw && (!ok || t.first < first) {
			first, ok = t.first, true
		}
	}
	return first, ok
}

// OnHighWatermarkUpdated forgets the transactions whose markers are below
// hw, the partition's new high watermark: they are stable.
func (l *Log) OnHighWatermarkUpdated(hw int64) {
	l.mu.RLock()
	stale := len(l.producers.unreplicated) > 0 && l.producers.unreplicated[0].marker < hw
	l.mu.RUnlock()
	if !stale {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := l.producers
	i := 0
	for i < len(ps.unreplicated) && ps.unreplicated[i].marker < hw {
		i++
	}
	ps.unreplicated = append(ps.unreplicated[:0], ps.unreplicated[i:]...)
}

// AbortedTransactions lists the aborted transactions whose records may lie
// in [from, upper): a read_committed fetch of that range passes them to
// the consumer, which drops those producers' records up to each marker.
// Markers at or after from are in this segment's index or later ones; the
// search stops at the first segment that holds an entry whose last stable
// offset reaches upper, as Kafka's collectAbortedTransactions does.
func (l *Log) AbortedTransactions(from, upper int64) []AbortedTxn {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []AbortedTxn
	for i := l.segmentFor(from); i < len(l.segments); i++ {
		done := false
		for _, e := range l.segments[i].txns {
			if e.LastOffset >= from && e.FirstOffset < upper {
				out = append(out, e)
			}
			done = done || e.LastStableOffset >= upper
		}
		if done {
			break
		}
	}
	return out
}
