package log

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gokafka/gokafka/clock"
	"github.com/gokafka/gokafka/protocol"
)

// DeleteOldSegments applies retention: segments wholly below the log start
// offset go, then (with cleanup.policy delete) segments older than
// retention.ms by their newest timestamp, then the oldest while the log is
// over retention.bytes. The active segment always stays. It returns how
// many segments were deleted.
func (l *Log) DeleteOldSegments(now time.Time) (int, error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, nil
	}
	var total int64
	for _, s := range l.segments {
		total += s.size
	}
	deleted := 0
	for len(l.segments) > 1 {
		s := l.segments[0]
		reason := l.retentionReason(s, total, now)
		if reason == "" {
			break
		}
		if err := l.removeLater(s); err != nil {
			return deleted, err
		}
		l.segments = l.segments[1:]
		total -= s.size
		deleted++
		l.logStartOffset = max(l.logStartOffset, l.segments[0].base)
		l.logger.Info("deleted log segment", "partition", l.tp.String(), "segment", segmentName(s.base),
			"reason", reason, "log_start_offset", l.logStartOffset)
	}
	if deleted > 0 {
		l.pruneRollSnapshots()
	}
	return deleted, nil
}

// removeLater retires a segment as Kafka does: its files are renamed
// .deleted at once and removed after file.delete.delay.ms (RemoveDeleted).
// The caller holds mu.
func (l *Log) removeLater(s *segment) error {
	if l.cfg.FileDeleteDelayMs <= 0 {
		return s.remove()
	}
	paths, err := s.markDeleted()
	due := time.Now().Add(time.Duration(l.cfg.FileDeleteDelayMs) * time.Millisecond)
	for _, p := range paths {
		l.deleted = append(l.deleted, pendingDeletion{path: p, due: due})
	}
	return err
}

// RemoveDeleted removes the .deleted segment files whose delay has passed.
// The Manager calls it every second for every log; most have nothing
// pending, and those cost a read lock, not a write lock that would stall
// their appends and reads (issue 16: 30,000 logs a node).
func (l *Log) RemoveDeleted(now time.Time) error {
	l.mu.RLock()
	none := len(l.deleted) == 0
	l.mu.RUnlock()
	if none {
		return nil
	}
	l.mu.Lock()
	var due []string
	due, l.deleted = splitDue(l.deleted, now)
	l.mu.Unlock()
	var errs []error
	for _, p := range due {
		if err := l.fs.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (l *Log) retentionReason(s *segment, total int64, now time.Time) string {
	switch {
	case s.nextOffset <= l.logStartOffset:
		return "below the log start offset"
	case l.holdsOpenTxn(s):
		return ""
	case !strings.Contains(l.cfg.CleanupPolicy, "delete"):
		return ""
	case l.cfg.RetentionMs >= 0 && now.UnixMilli()-segmentTime(s) > l.cfg.RetentionMs:
		return "retention.ms"
	case l.cfg.RetentionBytes >= 0 && total-s.size >= l.cfg.RetentionBytes:
		return "retention.bytes"
	}
	return ""
}

// holdsOpenTxn reports whether s holds records at or past the first offset
// of an open transaction: retention stops there, as in Kafka, so the
// transaction's start is never deleted before its marker is written.
func (l *Log) holdsOpenTxn(s *segment) bool {
	fuo, ok := l.producers.firstUnstable()
	return ok && s.nextOffset > fuo
}

// segmentTime is the newest record timestamp in s, or its file's
// modification time when no record carries one, as in Kafka.
func segmentTime(s *segment) int64 {
	if s.maxTs >= 0 {
		return s.maxTs
	}
	if st, err := s.fs.Stat(s.logPath()); err == nil {
		return st.ModTime().UnixMilli()
	}
	return clock.Now().UnixMilli()
}

// IncrementLogStartOffset moves the log start offset up to offset
// (DeleteRecords, or a follower following its leader's): records below it
// are gone for readers at once, and the segments wholly below it go at the
// next retention check. It never moves past the log end, nor back.
func (l *Log) IncrementLogStartOffset(offset int64) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.logStartOffset, fmt.Errorf("%s: log is closed", l.tp)
	}
	if offset > l.logEndOffset() {
		return l.logStartOffset, protocol.Errorf(protocol.OffsetOutOfRange,
			"%s: offset %d is past the log end %d", l.tp, offset, l.logEndOffset())
	}
	if offset > l.logStartOffset {
		l.logStartOffset = offset
		l.logger.Info("log start offset moved", "partition", l.tp.String(), "log_start_offset", offset)
	}
	return l.logStartOffset, nil
}
