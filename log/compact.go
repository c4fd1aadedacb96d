package log

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gokafka/gokafka/protocol"
)

// Compaction (cleanup.policy=compact) is Kafka's log cleaner for one
// partition: it maps every key in the inactive segments to its newest
// offset there and rewrites each segment without the records a newer one
// supersedes; tombstones (nil values) go too once delete.retention.ms has
// passed since they were written. Batches keep their base and last offsets,
// so every record kept keeps its offset and consumers see gaps, as in
// Kafka. The active segment is never touched, and appends go on while the
// cleaner reads and writes: only the final swap of files takes the log's
// lock.
//
// Transactions are cleaned as Kafka's cleaner does (compact_txn.go).

// CompactStats says what one compaction did.
type CompactStats struct {
	Segments      int   // segments rewritten or deleted
	BytesBefore   int64 // of the segments compacted
	BytesAfter    int64
	RecordsBefore int64
	RecordsAfter  int64
}

func (l *Log) compacted() bool { return l.cfg.Compacted() }

// Compacted reports whether cleanup.policy includes compact, where every
// record appended needs a key.
func (c *Config) Compacted() bool { return strings.Contains(c.CleanupPolicy, "compact") }

// gapsMarkerFile in a partition's directory says that its offsets may have
// gaps. Recovery runs before the topic's config is known, and must not
// take a gap left by compaction for the end of what was written.
const gapsMarkerFile = "offset-gaps"

func (l *Log) allowGaps() bool { return l.gaps || l.compacted() }

// markGaps writes gapsMarkerFile before the first gap reaches the disk.
func (l *Log) markGaps() error {
	if l.gaps {
		return nil
	}
	if err := writeFileSync(l.fs, filepath.Join(l.dir, gapsMarkerFile), nil); err != nil {
		return err
	}
	l.gaps = true
	return nil
}

// Compact compacts the log if its policy says so and enough of it is dirty:
// at least min.cleanable.dirty.ratio of the inactive bytes written since
// the last compaction.
func (l *Log) Compact(now time.Time) (CompactStats, error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	l.mu.RLock()
	if l.closed || !l.compacted() || len(l.segments) < 2 {
		l.mu.RUnlock()
		return CompactStats{}, nil
	}
	segs := l.cleanableSegments()
	aborted := l.abortedByProducer()
	cfg := l.cfg
	l.mu.RUnlock()
	if len(segs) == 0 {
		return CompactStats{}, nil
	}
	var total, dirty int64
	for _, s := range segs {
		total += s.size
		if s.base >= l.firstDirty {
			dirty += s.size
		}
	}
	if total == 0 || float64(dirty)/float64(total) < cfg.MinCleanableDirtyRatio {
		return CompactStats{}, nil
	}
	latest, err := l.latestOffsets(segs, aborted)
	if err != nil {
		return CompactStats{}, err
	}
	horizon := now.UnixMilli() - cfg.DeleteRetentionMs
	var st CompactStats
	cleaned := map[*segment]string{}
	pass := newTxnPass(aborted)
	for _, s := range segs {
		path, changed, err := s.writeCleaned(latest, pass, horizon, &st)
		if err != nil {
			return st, fmt.Errorf("%s: compacting %s: %w", l.tp, s.logPath(), err)
		}
		if changed {
			cleaned[s] = path
		}
	}
	if err := l.swapCleaned(cleaned, pass.droppedMarkers); err != nil {
		return st, err
	}
	l.firstDirty = segs[len(segs)-1].nextOffset
	st.Segments = len(cleaned)
	return st, nil
}

// latestOffsets maps every key in segs to the offset of its newest record,
// leaving out aborted transactions. A batch whose records cannot be read
// is left out, with an ERROR line, and writeCleaned keeps it as it is: the
// cleaner never drops what it cannot read, and never stops on it.
func (l *Log) latestOffsets(segs []*segment, aborted abortedTxns) (map[string]int64, error) {
	latest := map[string]int64{}
	for _, s := range segs {
		_, err := s.scan(0, s.size, func(h *protocol.BatchHeader, b []byte, _ int64) error {
			if h.IsControl() || aborted.holds(h) {
				return nil
			}
			err := protocol.EachRecord(b, func(r protocol.RecordView) {
				if r.Key != nil {
					latest[string(r.Key)] = h.BaseOffset + int64(r.OffsetDelta)
				}
			})
			if err != nil {
				l.logUnreadable("log cleaner", h, err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return latest, nil
}

// writeCleaned writes the segment's compacted copy next to it and reports
// whether it differs. Records without a key are kept; transactions' batches
// and markers go as pass decides.
func (s *segment) writeCleaned(latest map[string]int64, pass *txnPass, horizon int64, st *CompactStats) (string, bool, error) {
	path := s.path + ".cleaned.tmp" // removed at startup if a crash leaves it
	f, err := s.fs.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	changed := false
	_, err = s.scan(0, s.size, func(h *protocol.BatchHeader, b []byte, _ int64) error {
		st.BytesBefore += int64(len(b))
		st.RecordsBefore += int64(h.NumRecords) // markers too, as RecordsAfter counts them
		out := b
		if !pass.keep(h, b, horizon) {
			out = nil
		} else if !h.IsControl() {
			var err error
			out, err = protocol.FilterBatch(b, func(r *protocol.RecordView, offset int64) bool {
				switch {
				case r.Key == nil:
					return true
				case latest[string(r.Key)] != offset:
					return false // superseded
				default:
					return r.Value != nil || h.MaxTimestamp >= horizon
				}
			})
			if err != nil {
				out = b // unreadable: latestOffsets logged it
			}
		}
		changed = changed || len(out) != len(b)
		if len(out) > 0 {
			oh, _ := protocol.ParseBatchHeader(out)
			st.BytesAfter += int64(len(out))
			st.RecordsAfter += int64(oh.NumRecords)
		}
		_, err := w.Write(out)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil || !changed {
		s.fs.Remove(path)
		return "", false, err
	}
	return path, true, nil
}

// swapCleaned puts the compacted copies in place under the log's lock. The
// old indexes go first, so that a crash at any point leaves either the old
// file or the new one, and recovery rebuilds the indexes of either.
// Segments left empty are deleted; the aborts whose markers were dropped
// leave the .txnindex.
func (l *Log) swapCleaned(cleaned map[*segment]string, droppedMarkers map[int64]bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(cleaned) == 0 {
		return nil
	}
	if err := l.markGaps(); err != nil {
		return err
	}
	kept := l.segments[:0]
	for _, s := range l.segments {
		path, ok := cleaned[s]
		if !ok {
			kept = append(kept, s)
			continue
		}
		ns, err := l.replaceSegment(s, path, droppedMarkers)
		if err != nil {
			l.segments = append(kept, l.segments[len(kept):]...)
			return fmt.Errorf("%s: swapping compacted %s: %w", l.tp, s.logPath(), err)
		}
		if ns != nil {
			kept = append(kept, ns)
		}
	}
	l.segments = kept
	return nil
}

func (l *Log) replaceSegment(s *segment, cleaned string, droppedMarkers map[int64]bool) (*segment, error) {
	if st, err := l.fs.Stat(cleaned); err == nil && st.Size() == 0 {
		l.fs.Remove(cleaned)
		return nil, s.remove()
	}
	for _, p := range []string{s.indexPath(), s.timeIndexPath()} {
		if err := l.fs.Remove(p); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	s.close()
	if err := l.fs.Rename(cleaned, s.logPath()); err != nil {
		return nil, err
	}
	ns, err := openSegment(l.files, l.fs, l.dir, s.base)
	if err != nil {
		return nil, err
	}
	ns.created = s.created
	for _, e := range s.txns {
		if !droppedMarkers[e.LastOffset] {
			ns.txns = append(ns.txns, e)
		}
	}
	if _, err := ns.recover(l.cfg.IndexIntervalBytes, true); err != nil {
		ns.close()
		return nil, err
	}
	err = ns.seal()
	ns.cache.release(ns) // sealed and inactive: the cache may close it
	return ns, err
}
