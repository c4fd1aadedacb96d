package log

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Producer-state snapshots on roll, as Kafka's ProducerStateManager takes
// them: when the active segment rolls, the state that covers the log below
// the new segment's base is saved as <base>.producer-state.json (the
// layout of producer-state.json), so that the first open after a crash
// replays only the batches past the newest one instead of every batch
// header of the log. The newest few are kept; a truncation below one, or
// retention past it, removes it.
//
// A snapshot named after a segment's base also says that every segment
// below that base was sealed (synced, its indexes written) before the
// snapshot was: roll seals first. So those segments are loaded from their
// indexes at open, whatever the recovery-point checkpoint, written only
// every log.flush.offset.checkpoint.interval.ms, says.

const rollSnapshotSuffix = ".producer-state.json"

// retainedRollSnapshots is how many roll snapshots a log keeps: the newest
// is the one an open uses, the one before it a spare for when the newest
// cannot be read.
const retainedRollSnapshots = 2

func rollSnapshotPath(dir string, offset int64) string {
	return filepath.Join(dir, segmentName(offset)+rollSnapshotSuffix)
}

// parseRollSnapshotName returns the offset a roll snapshot's file name
// carries: 20 digits, as a segment's, and nothing else (no sign), so that
// the name is the one rollSnapshotPath gives.
func parseRollSnapshotName(name string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, rollSnapshotSuffix)
	if !ok || len(digits) != 20 || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	off, err := strconv.ParseInt(digits, 10, 64)
	return off, err == nil
}

// alignedSnapshot returns the newest roll snapshot taken at one of the
// segment bases (sorted), or -1. One that matches no base is left to
// prune: a compaction emptied its segment or a truncation removed it.
func alignedSnapshot(snapshots, bases []int64) int64 {
	for i := len(snapshots) - 1; i >= 0; i-- {
		if _, ok := slices.BinarySearch(bases, snapshots[i]); ok {
			return snapshots[i]
		}
	}
	return -1
}

// loadRollSnapshot reads the roll snapshot at off; one that cannot be read,
// or names another offset than its file, is logged and gives -1.
func (l *Log) loadRollSnapshot(off int64) (*producerState, int64) {
	ps, from, err := loadProducerSnapshot(l.fs, rollSnapshotPath(l.dir, off))
	if err == nil && from >= 0 && from != off {
		err = fmt.Errorf("%s: covers the log below %d, not %d", rollSnapshotPath(l.dir, off), from, off)
	}
	if err != nil {
		l.logger.Warn("producer state", "partition", l.tp.String(), "err", err)
		return ps, -1
	}
	return ps, from
}

// takeRollSnapshot saves the producer state at a roll to base; the caller
// has sealed the segments below base.
func (l *Log) takeRollSnapshot(base int64) error {
	if err := l.producers.save(l.fs, rollSnapshotPath(l.dir, base), base); err != nil {
		return err
	}
	if i, found := slices.BinarySearch(l.snapshots, base); !found {
		l.snapshots = slices.Insert(l.snapshots, i, base)
	}
	l.pruneRollSnapshots()
	return nil
}

// pruneRollSnapshots removes the snapshots no open could use (past the log
// end, or below the log start where the batches after them are gone) and
// all but the newest retainedRollSnapshots of the others.
func (l *Log) pruneRollSnapshots() {
	var keep []int64
	for _, off := range l.snapshots {
		if off > l.logEndOffset() || off < l.logStartOffset {
			l.removeRollSnapshot(off)
			continue
		}
		keep = append(keep, off)
	}
	for len(keep) > retainedRollSnapshots {
		l.removeRollSnapshot(keep[0])
		keep = keep[1:]
	}
	l.snapshots = keep
}

// dropRollSnapshotsAfter removes the snapshots past offset before a
// truncation to offset removes the batches they cover, so that a crash
// in between never leaves one that the log no longer backs.
func (l *Log) dropRollSnapshotsAfter(offset int64) {
	i, _ := slices.BinarySearch(l.snapshots, offset+1)
	for _, off := range l.snapshots[i:] {
		l.removeRollSnapshot(off)
	}
	l.snapshots = l.snapshots[:i]
}

func (l *Log) removeRollSnapshot(off int64) {
	if err := l.fs.Remove(rollSnapshotPath(l.dir, off)); err != nil && !os.IsNotExist(err) {
		l.logger.Warn("removing a producer-state snapshot", "partition", l.tp.String(), "offset", off, "err", err)
	}
}
