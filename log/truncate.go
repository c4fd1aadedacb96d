package log

import (
	"fmt"
	"path/filepath"
)

// TruncateTo removes every record at or past offset. A follower does this
// where its log diverges from its new leader's (found through
// OffsetForLeaderEpoch), so that both logs agree below the high watermark.
// Truncating below the log start offset empties the log and starts it
// there.
func (l *Log) TruncateTo(offset int64) error {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("%s: log is closed", l.tp)
	}
	if offset >= l.logEndOffset() {
		return nil
	}
	offset = max(offset, l.logStartOffset)
	l.dropRollSnapshotsAfter(offset)
	for len(l.segments) > 1 && l.active().base >= offset {
		if err := l.active().remove(); err != nil {
			return err
		}
		l.segments = l.segments[:len(l.segments)-1]
	}
	if err := l.active().truncateTo(offset, l.cfg.IndexIntervalBytes, l.allowGaps()); err != nil {
		return fmt.Errorf("%s: truncating to %d: %w", l.tp, offset, err)
	}
	l.recoveryPoint = min(l.recoveryPoint, offset)
	l.truncations++
	if err := l.truncateProducers(offset); err != nil {
		return fmt.Errorf("%s: producer state after truncating to %d: %w", l.tp, offset, err)
	}
	if l.epochs.truncateFromEnd(offset) {
		return writeEpochs(l.fs, filepath.Join(l.dir, leaderEpochFile), l.epochs)
	}
	return nil
}

// truncateProducers brings the producer state back to the truncated log.
// Transactions that markers past offset closed are open again below it,
// which only a replay can tell: it runs when such a marker was cut off,
// and the cheaper cut of the state does otherwise.
func (l *Log) truncateProducers(offset int64) error {
	if l.producers.lastMarker < offset {
		l.producers.truncate(offset)
		return nil
	}
	l.producers = newProducerState()
	return l.replayProducers(l.logStartOffset)
}

// TruncateFullyAndStartAt empties the log and starts it at offset: a
// follower does this when its whole log lies below the leader's log start
// (retention deleted what it would fetch next).
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("%s: log is closed", l.tp)
	}
	l.dropRollSnapshotsAfter(-1)
	for _, s := range l.segments {
		if err := s.remove(); err != nil {
			return err
		}
	}
	s, err := createSegment(l.files, l.fs, l.dir, offset)
	if err != nil {
		l.segments = nil
		return err
	}
	l.segments = []*segment{s}
	l.logStartOffset, l.recoveryPoint = offset, offset
	l.truncations++
	l.producers = newProducerState()
	l.epochs.truncateFromEnd(0)
	return writeEpochs(l.fs, filepath.Join(l.dir, leaderEpochFile), l.epochs)
}
