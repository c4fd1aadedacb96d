package log

import "github.com/gokafka/gokafka/protocol"

// Transactions in a compacted log, as Kafka's cleaner treats them: only
// segments wholly below the first unstable offset are cleaned, so every
// transaction there is decided. The batches of aborted transactions (known
// from the .txnindex files) are removed and supersede nothing. A marker
// stays while any batch of its transaction does, and goes once none is
// left and delete.retention.ms has passed since it was written; an abort
// marker takes its .txnindex entry with it. Kafka times that from a delete
// horizon it stamps into the batch at the first cleaning (KIP-534); this
// cleaner times it from the marker's own timestamp, as Kafka did before.

// cleanableSegments are the inactive segments wholly below the first
// unstable offset. The caller holds mu.
func (l *Log) cleanableSegments() []*segment {
	segs := l.segments[:len(l.segments)-1]
	if fuo, ok := l.producers.firstUnstable(); ok {
		n := 0
		for n < len(segs) && segs[n].nextOffset <= fuo {
			n++
		}
		segs = segs[:n]
	}
	return append([]*segment(nil), segs...)
}

// abortedTxns are the aborted transactions of a log, by producer.
type abortedTxns map[int64][]AbortedTxn

// abortedByProducer gathers every segment's .txnindex. The caller holds mu.
func (l *Log) abortedByProducer() abortedTxns {
	out := abortedTxns{}
	for _, s := range l.segments {
		for _, e := range s.txns {
			out[e.ProducerID] = append(out[e.ProducerID], e)
		}
	}
	return out
}

// holds reports whether the data batch h belongs to an aborted transaction.
func (a abortedTxns) holds(h *protocol.BatchHeader) bool {
	if !h.IsTransactional() || h.IsControl() {
		return false
	}
	for _, e := range a[h.ProducerID] {
		if h.BaseOffset >= e.FirstOffset && h.BaseOffset <= e.LastOffset {
			return true
		}
	}
	return false
}

// txnPass is what one cleaning pass learns of transactions, reading the
// segments in offset order from the log's first one.
type txnPass struct {
	aborted abortedTxns
	// Producers whose transaction had a batch read since its last marker:
	// aborted (and dropped) or committed.
	abortedSeen, committedSeen map[int64]bool
	// droppedMarkers are the offsets of the markers this pass removes.
	droppedMarkers map[int64]bool
}

func newTxnPass(aborted abortedTxns) *txnPass {
	return &txnPass{aborted: aborted, abortedSeen: map[int64]bool{}, committedSeen: map[int64]bool{}, droppedMarkers: map[int64]bool{}}
}

// keep decides whether batch b stays in the cleaned log as far as
// transactions go (the records of a kept data batch are compacted after).
func (tp *txnPass) keep(h *protocol.BatchHeader, b []byte, horizon int64) bool {
	switch {
	case !h.IsTransactional() || !h.HasProducerID():
		return true
	case !h.IsControl():
		if tp.aborted.holds(h) {
			tp.abortedSeen[h.ProducerID] = true
			return false
		}
		tp.committedSeen[h.ProducerID] = true
		return true
	}
	commit, _, err := protocol.ParseEndTxnMarker(b)
	if err != nil {
		return true // not a marker: kept as it is
	}
	seen := tp.committedSeen
	if !commit {
		seen = tp.abortedSeen
	}
	dataLeft := seen[h.ProducerID]
	delete(seen, h.ProducerID)
	if dataLeft || h.MaxTimestamp >= horizon {
		return true
	}
	tp.droppedMarkers[h.BaseOffset] = true
	return false
}
