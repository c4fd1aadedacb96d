package log

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gokafka/gokafka/protocol"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// dirName is the partition's directory name, Kafka's <topic>-<partition>.
func (tp TopicPartition) dirName() string { return tp.String() }

// parseDirName splits <topic>-<partition>; topic names may contain dashes.
func parseDirName(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// Log is one partition's replica on disk: a sequence of segments, the last
// one active. Appends take the write lock; reads share the read lock, so a
// reader always sees whole batches.
type Log struct {
	tp      TopicPartition
	dir     string
	topicID [16]byte // guarded by mu
	// metaPending is set while topicID is not in partition.metadata on
	// disk yet (writeMetaLocked); guarded by mu.
	metaPending bool
	logger      *slog.Logger
	fs          FS
	files       *fileCache // the manager's, shared by its logs

	// cleanMu keeps the cleaner's segments in place while it works:
	// whatever removes or rewrites segments takes it (before mu).
	cleanMu    sync.Mutex
	firstDirty int64 // where the last compaction's inactive segments ended
	gaps       bool  // the log may have offset gaps: gapsMarkerFile exists

	mu             sync.RWMutex
	cfg            Config
	segments       []*segment // sorted by base offset; never empty while open
	logStartOffset int64
	recoveryPoint  int64 // everything below is synced and indexed on disk
	unflushed      int64 // records appended since the last sync
	lastFlush      time.Time
	producers      *producerState
	epochs         *epochCache
	deleted        []pendingDeletion // segment files awaiting file.delete.delay.ms
	closed         bool
	// replayAll is set at open when a segment's transaction index must be
	// rebuilt below where a producer snapshot would start the replay (it
	// was unreadable, or its segment recovered): producer state is rebuilt
	// from the log start.
	replayAll bool
	// recoveredFrom is the base of the first segment recovered at open,
	// -1 when none was.
	recoveredFrom int64
	// snapshots are the offsets of the roll snapshots on disk, sorted
	// (producer_snapshots.go); rollFrom is the newest one at a segment
	// base when the log was opened, -1 for none.
	snapshots []int64
	rollFrom  int64
	// gc is the Manager's group commit (flush.before.ack); truncations
	// counts truncations, which tell it that a sync may not have covered
	// the offsets below the end it started at; syncErr is its first
	// failure, after which appends fail.
	gc          *groupCommit
	truncations uint64
	syncErr     error
	// readBytes counts what Read takes from segment files; the Manager's,
	// nil for a log opened alone.
	readBytes *atomic.Int64
}

// openState is what the manager knows about a log from its directory's
// checkpoint files.
type openState struct {
	recoveryPoint  int64
	logStartOffset int64
	clean          bool // the directory was shut down cleanly
}

// openLog opens (creating if needed) the log in dir, recovering what a
// crash may have left: segments from the recovery point on are read batch
// by batch, and a torn or corrupt tail is cut off with everything after it.
func openLog(fs FS, files *fileCache, dir string, tp TopicPartition, topicID [16]byte, cfg Config, st openState, logger *slog.Logger) (*Log, error) {
	l := &Log{fs: fs, files: files, tp: tp, dir: dir, topicID: topicID, cfg: cfg, logger: logger, lastFlush: time.Now(), epochs: &epochCache{}, recoveredFrom: -1, rollFrom: -1}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := l.loadSegments(st); err != nil {
		l.closeSegments()
		return nil, fmt.Errorf("%s: %w", tp, err)
	}
	l.logStartOffset = max(st.logStartOffset, l.segments[0].base)
	l.recoveryPoint = min(max(st.recoveryPoint, l.rollFrom, l.logStartOffset), l.logEndOffset())
	if err := l.loadEpochs(); err != nil {
		l.closeSegments()
		return nil, err
	}
	if err := l.loadProducers(); err != nil {
		l.closeSegments()
		return nil, err
	}
	l.pruneRollSnapshots()
	return l, nil
}

// loadSegments opens every segment file, trusting the indexes of segments
// below the recovery point, or below the newest roll snapshot at a segment
// base if that is further, and recovering the rest.
func (l *Log) loadSegments(st openState) error {
	bases, snapshots, files, err := l.listSegments()
	if err != nil {
		return err
	}
	l.snapshots, l.rollFrom = snapshots, alignedSnapshot(snapshots, bases)
	st.recoveryPoint = max(st.recoveryPoint, l.rollFrom)
	for i, base := range bases {
		s, err := openSegment(l.files, l.fs, l.dir, base)
		if err != nil {
			return err
		}
		l.segments = append(l.segments, s)
		var cut int64
		if st.clean || (i+1 < len(bases) && bases[i+1] <= st.recoveryPoint) {
			var rebuilt error
			if rebuilt, err = s.load(l.cfg.IndexIntervalBytes, l.allowGaps(), files); rebuilt != nil {
				l.logger.Warn("rebuilt an unreadable index from the log", "partition", l.tp.String(),
					"segment", segmentName(base), "err", rebuilt)
			}
			if terr := s.loadTxnIndex(files); terr != nil {
				// The replay of the whole log puts its entries back.
				l.logger.Warn("rebuilding an unreadable transaction index from the log", "partition", l.tp.String(),
					"segment", segmentName(base), "err", terr)
				l.replayAll = true
			}
		} else {
			cut, err = l.recoverSegment(s, files)
			if l.recoveredFrom < 0 {
				l.recoveredFrom = base
			}
		}
		if err != nil {
			return err
		}
		if i+1 < len(bases) && s.nextOffset > bases[i+1] {
			return fmt.Errorf("segment %d ends at %d, past the next segment's base", base, s.nextOffset)
		}
		if cut > 0 && i+1 < len(bases) {
			// Whatever followed the torn batch is unreachable now.
			if err := l.dropSegments(bases[i+1:]); err != nil {
				return err
			}
			break
		}
	}
	// Loaded, the segments give their files to the cache.
	for _, s := range l.segments {
		s.cache.release(s)
	}
	if len(l.segments) == 0 {
		s, err := createSegment(l.files, l.fs, l.dir, st.logStartOffset)
		if err != nil {
			return err
		}
		l.segments = []*segment{s}
	}
	return nil
}

// recoverSegment recovers s after a crash. files is the directory's
// listing, which says whether the index files may already hold what
// recovery rebuilt: the next close then writes them only if they differ,
// and costs what it costs after a clean open.
func (l *Log) recoverSegment(s *segment, files map[string]bool) (int64, error) {
	cut, err := s.recover(l.cfg.IndexIntervalBytes, l.allowGaps())
	if err != nil {
		return 0, err
	}
	s.noteIndexFiles(files)
	if cut > 0 {
		l.logger.Warn("truncated a torn or corrupt log tail", "partition", l.tp.String(),
			"segment", segmentName(s.base), "bytes", cut, "log_end_offset", s.nextOffset)
	}
	return cut, nil
}

// dropSegments deletes segment files that recovery found unreachable.
func (l *Log) dropSegments(bases []int64) error {
	for _, base := range bases {
		s := &segment{fs: l.fs, cache: l.files, base: base, path: filepath.Join(l.dir, segmentName(base))}
		l.logger.Warn("deleting a segment after a truncated one", "partition", l.tp.String(), "segment", segmentName(base))
		if err := s.remove(); err != nil {
			return err
		}
	}
	return nil
}

// listSegments returns the base offsets of the .log files and the
// offsets of the roll snapshots, both sorted, and the names of the files
// it keeps, removing index files without a log and leftovers of
// interrupted writes. It notes the gaps marker: one listing answers what
// a look-up of each file would cost a system call a partition for.
func (l *Log) listSegments() (bases, snapshots []int64, files map[string]bool, err error) {
	entries, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return nil, nil, nil, err
	}
	logs, files := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		files[e.Name()] = true
		l.gaps = l.gaps || e.Name() == gapsMarkerFile
		if name, ok := strings.CutSuffix(e.Name(), ".log"); ok {
			base, err := strconv.ParseInt(name, 10, 64)
			if err != nil || len(name) != 20 {
				return nil, nil, nil, fmt.Errorf("unexpected file %s in %s", e.Name(), l.dir)
			}
			logs[name] = true
			bases = append(bases, base)
		}
		if off, ok := parseRollSnapshotName(e.Name()); ok {
			snapshots = append(snapshots, off)
		}
	}
	for _, e := range entries {
		name := e.Name()
		stem := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, ".timeindex"), ".index"), ".txnindex")
		// .deleted files were due for removal when the broker stopped.
		if strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, deletedSuffix) || (stem != name && !logs[stem]) {
			l.fs.Remove(filepath.Join(l.dir, name))
			delete(files, name)
		}
	}
	slices.Sort(bases)
	slices.Sort(snapshots)
	return bases, snapshots, files, nil
}

func (l *Log) loadEpochs() error {
	c, err := readEpochs(l.fs, filepath.Join(l.dir, leaderEpochFile))
	if err != nil {
		l.logger.Warn("rebuilding an unreadable leader-epoch checkpoint", "partition", l.tp.String(), "err", err)
		c = &epochCache{}
	}
	l.epochs = c
	if l.epochs.truncateFromEnd(l.logEndOffset()) {
		return writeEpochs(l.fs, filepath.Join(l.dir, leaderEpochFile), l.epochs)
	}
	return nil
}

// loadProducers restores producer and transaction state from the
// clean-shutdown snapshot, else the newest roll snapshot that can be read,
// and the batches
// after it, or from the whole log; the replay puts back the transaction
// index entries of the segments that were recovered.
func (l *Log) loadProducers() error {
	path := filepath.Join(l.dir, producerSnapshotFile)
	ps, from, err := loadProducerSnapshot(l.fs, path)
	if err != nil {
		l.logger.Warn("producer state", "partition", l.tp.String(), "err", err)
	}
	l.fs.Remove(path) // a later crash must not trust it past what the log holds
	for i := len(l.snapshots) - 1; i >= 0 && !l.replayFrom(from); i-- {
		ps, from = l.loadRollSnapshot(l.snapshots[i])
	}
	if !l.replayFrom(from) {
		ps, from = newProducerState(), l.logStartOffset
	}
	l.producers, l.replayAll = ps, false
	return l.replayProducers(from)
}

// replayFrom reports whether a snapshot covering the log below from can
// start the replay: it lies within the log, and no segment below it was
// recovered (the replay from it would miss their aborts) or has lost its
// transaction index.
func (l *Log) replayFrom(from int64) bool {
	return from >= l.logStartOffset && from <= l.logEndOffset() && !l.replayAll &&
		(l.recoveredFrom < 0 || from <= l.recoveredFrom)
}

// replayProducers applies every batch from offset on to the producer
// state. Only markers are read past their header, and the segments are
// read in order through a buffer: one read a header cost a recovery a
// system call per batch.
func (l *Log) replayProducers(offset int64) error {
	for i := l.segmentFor(offset); i < len(l.segments); i++ {
		s := l.segments[i]
		pos, found, err := s.find(offset)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		err = s.walkHeaders(pos, func(h *protocol.BatchHeader, control []byte) {
			l.applyBatch(s, control, h)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *Log) active() *segment { return l.segments[len(l.segments)-1] }

func (l *Log) logEndOffset() int64 { return l.active().nextOffset }

// TopicPartition names the partition this log holds.
func (l *Log) TopicPartition() TopicPartition { return l.tp }

// TopicID is the ID of the topic this log was created for, zero while
// unknown (a log from before topic IDs, or with an unreadable
// partition.metadata).
func (l *Log) TopicID() [16]byte {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.topicID
}

// adoptTopicID checks that the log belongs to the topic with this ID; one
// whose ID is unknown takes it, and writes it before its next batch.
func (l *Log) adoptTopicID(id [16]byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.topicID {
	case id:
		return nil
	case [16]byte{}:
	default:
		return fmt.Errorf("%s: %w", l.tp, ErrTopicIDMismatch)
	}
	l.topicID, l.metaPending = id, true
	return nil
}

// writeMetaLocked writes partition.metadata (synced) if the topic ID is
// not on disk yet. Append calls it before the log takes its first batch,
// as Kafka's PartitionMetadataFile.maybeFlush runs on append, so that a
// log holding data always names its topic after a crash, while a
// partition that is created and never written costs no fsync. The caller
// holds mu.
func (l *Log) writeMetaLocked() error {
	if !l.metaPending {
		return nil
	}
	if err := writePartitionMeta(l.fs, filepath.Join(l.dir, partitionMetaFile), l.topicID); err != nil {
		return err
	}
	l.metaPending = false
	return nil
}

// Config returns the log's current configuration.
func (l *Log) Config() Config {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}

// SetConfig applies a changed topic configuration; it takes effect at the
// next append, roll or retention check.
func (l *Log) SetConfig(cfg Config) {
	l.mu.Lock()
	l.cfg = cfg
	l.mu.Unlock()
}

// LogStartOffset is the first offset still held.
func (l *Log) LogStartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.logStartOffset
}

// LogEndOffset is the offset the next record will get.
func (l *Log) LogEndOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.logEndOffset()
}

// RecoveryPoint is the offset below which the log is synced to disk.
func (l *Log) RecoveryPoint() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.recoveryPoint
}

// Dir is the log directory (one of log.dirs) that holds this partition.
func (l *Log) Dir() string { return filepath.Dir(l.dir) }

// Size is the bytes held in all segments.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.segments {
		n += s.size
	}
	return n
}

// NumSegments is how many segment files the log has.
func (l *Log) NumSegments() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.segments)
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch for this replica.
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.epochs.endOffsetFor(epoch, l.logEndOffset())
}

// LatestEpoch is the leader epoch of the last record written, or -1.
func (l *Log) LatestEpoch() int32 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.epochs.latest()
}

func (l *Log) flushLocked() error {
	if l.closed || l.unflushed == 0 && l.recoveryPoint == l.logEndOffset() {
		return nil
	}
	f, err := l.active().file()
	if err != nil {
		return fmt.Errorf("%s: sync: %w", l.tp, err)
	}
	defer f.release()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", l.tp, err)
	}
	l.recoveryPoint, l.unflushed, l.lastFlush = l.logEndOffset(), 0, time.Now()
	return nil
}

// flushIfDue syncs once flush.ms has passed since the last sync.
func (l *Log) flushIfDue(now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	// In milliseconds: flush.ms defaults to Long.MAX_VALUE ("never"), which
	// as a time.Duration overflows to a negative one and flushed every tick.
	if l.unflushed > 0 && now.Sub(l.lastFlush).Milliseconds() >= l.cfg.FlushIntervalMs {
		return l.flushLocked()
	}
	return nil
}

// Close makes the active segment durable (synced, where writes came since
// the last sync, and its indexes written, where entries came since they
// were) and saves the producer state, so that the next open can skip
// recovery.
func (l *Log) Close() error {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	err := errors.Join(
		l.flushLocked(),
		l.active().saveIndexes(),
		l.saveProducers(),
	)
	l.recoveryPoint = l.logEndOffset()
	l.closeSegments()
	l.closed = true
	return err
}

// saveProducers writes the clean-shutdown producer snapshot, but for an
// empty log that knows no producer: the open after it replays nothing
// either way, and a broker of many idle partitions shuts down without a
// file written and synced for each.
func (l *Log) saveProducers() error {
	if l.logEndOffset() == l.logStartOffset && len(l.producers.producers) == 0 && l.producers.lastMarker < 0 {
		return nil
	}
	return l.producers.save(l.fs, filepath.Join(l.dir, producerSnapshotFile), l.logEndOffset())
}

func (l *Log) closeSegments() {
	for _, s := range l.segments {
		s.close()
	}
}
