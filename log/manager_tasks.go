package log

import (
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/gokafka/gokafka/clock"
)

// Start runs the background work: retention every
// log.retention.check.interval.ms, flush.ms checks and checkpoints, and the
// cleaner.
func (m *Manager) Start() {
	m.startCleaner()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		retention := time.NewTicker(m.cfg.RetentionCheckInterval)
		flush := time.NewTicker(m.cfg.FlushSchedulerInterval)
		checkpoint := time.NewTicker(m.cfg.FlushCheckpointInterval)
		deletions := time.NewTicker(time.Second) // log.segment.delete.delay.ms is coarse
		defer deletions.Stop()
		defer retention.Stop()
		defer flush.Stop()
		defer checkpoint.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-retention.C:
				m.applyRetention(clock.Now()) // retention.ms is wall time, as in Kafka
			case now := <-flush.C:
				m.flushDue(now)
			case <-checkpoint.C:
				m.writeCheckpoints()
			case now := <-deletions.C:
				m.deleteDue(now)
			}
		}
	}()
}

// startCleaner compacts the logs whose cleanup.policy includes compact,
// every log.cleaner.backoff.ms, in a goroutine of its own: rewriting a
// segment takes a while and must not hold up flushes and retention.
func (m *Manager) startCleaner() {
	if !m.cfg.CleanerEnable {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTimer(m.cleanerBackoff())
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.compactAll(clock.Now())
				t.Reset(m.cleanerBackoff())
			}
		}
	}()
}

// SetCleanerBackoff changes log.cleaner.backoff.ms, a dynamic broker
// config: the cleaner sleeps the new time from its next sleep on; 0 goes
// back to the configured one.
func (m *Manager) SetCleanerBackoff(d time.Duration) { m.backoff.Store(int64(max(d, 0))) }

func (m *Manager) cleanerBackoff() time.Duration {
	if d := m.backoff.Load(); d > 0 {
		return time.Duration(d)
	}
	return m.cfg.CleanerBackoff
}

func (m *Manager) compactAll(now time.Time) {
	for _, l := range m.All() {
		start := time.Now()
		st, err := l.Compact(now)
		if err != nil {
			m.logger.Error("compaction failed", "partition", l.tp.String(), "err", err)
			continue
		}
		if st.Segments > 0 {
			m.logger.Info("compacted log", "partition", l.tp.String(), "segments", st.Segments,
				"bytes_before", st.BytesBefore, "bytes_after", st.BytesAfter,
				"records_before", st.RecordsBefore, "records_after", st.RecordsAfter,
				"took", time.Since(start).Round(time.Millisecond))
		}
	}
}

func (m *Manager) applyRetention(now time.Time) {
	for _, l := range m.All() {
		if _, err := l.DeleteOldSegments(now); err != nil {
			m.logger.Error("retention failed", "partition", l.tp.String(), "err", err)
		}
	}
}

func (m *Manager) flushDue(now time.Time) {
	for _, l := range m.All() {
		if err := l.flushIfDue(now); err != nil {
			m.logger.Error("flush failed", "partition", l.tp.String(), "err", err)
		}
	}
}

// writeCheckpoints records each directory's recovery points and log start
// offsets, which bound the work of the next recovery.
func (m *Manager) writeCheckpoints() error {
	recovery := map[string]map[TopicPartition]int64{}
	starts := map[string]map[TopicPartition]int64{}
	for _, d := range m.cfg.Dirs {
		recovery[filepath.Clean(d)], starts[filepath.Clean(d)] = map[TopicPartition]int64{}, map[TopicPartition]int64{}
	}
	for _, l := range m.All() {
		d := filepath.Dir(l.dir)
		recovery[d][l.tp] = l.RecoveryPoint()
		starts[d][l.tp] = l.LogStartOffset()
	}
	var errs []error
	for d := range recovery {
		errs = append(errs,
			writeOffsets(m.fs, filepath.Join(d, recoveryPointFile), recovery[d]),
			writeOffsets(m.fs, filepath.Join(d, logStartOffsetFile), starts[d]))
	}
	err := errors.Join(errs...)
	if err != nil {
		m.checkpointErrors.Add(1)
		m.logger.Error("writing checkpoints", "err", err)
	}
	return err
}

// deletions are partition directories, already renamed -delete, waiting
// out log.segment.delete.delay.ms so that readers still holding their files
// finish first.
type deletions struct {
	mu      sync.Mutex
	pending []pendingDeletion
}

type pendingDeletion struct {
	path string
	due  time.Time
}

func (m *Manager) deleteDelay() time.Duration {
	return time.Duration(m.Defaults().FileDeleteDelayMs) * time.Millisecond
}

// deleteLater removes path after the delay, at once when it is zero.
func (m *Manager) deleteLater(path string) {
	delay := m.deleteDelay()
	if delay <= 0 {
		m.removeDeleted(path)
		return
	}
	m.deletions.mu.Lock()
	defer m.deletions.mu.Unlock()
	m.deletions.pending = append(m.deletions.pending, pendingDeletion{path: path, due: time.Now().Add(delay)})
}

// deleteDue removes the directories and segment files whose
// log.segment.delete.delay.ms has passed.
func (m *Manager) deleteDue(now time.Time) {
	m.deletions.mu.Lock()
	var due []string
	due, m.deletions.pending = splitDue(m.deletions.pending, now)
	m.deletions.mu.Unlock()
	for _, p := range due {
		m.removeDeleted(p)
	}
	for _, l := range m.All() {
		if err := l.RemoveDeleted(now); err != nil {
			m.logger.Error("removing deleted segment files", "partition", l.tp.String(), "err", err)
		}
	}
}

// splitDue returns the paths due at now and the deletions still waiting.
func splitDue(pending []pendingDeletion, now time.Time) ([]string, []pendingDeletion) {
	var due []string
	kept := pending[:0]
	for _, p := range pending {
		if now.Before(p.due) {
			kept = append(kept, p)
		} else {
			due = append(due, p.path)
		}
	}
	return due, kept
}

func (m *Manager) removeDeleted(path string) {
	if err := m.fs.RemoveAll(path); err != nil {
		m.logger.Error("removing a deleted partition directory", "dir", path, "err", err)
		return
	}
	m.logger.Warn("removed deleted partition directory", "dir", path)
}

// Close stops the background work, closes every log and, when all of that
// succeeded, marks each directory cleanly shut down.
func (m *Manager) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.stop)
		m.wg.Wait()
		err = errors.Join(m.closeLogs(), m.writeCheckpoints())
		if err == nil {
			for _, d := range m.cfg.Dirs {
				err = errors.Join(err, writeFileSync(m.fs, filepath.Join(d, cleanShutdownFile), nil))
			}
		}
		m.unlock()
	})
	return err
}

// closeLogs closes every log, num.recovery.threads.per.data.dir at a
// time in each directory, as Kafka flushes at shutdown: a close syncs
// files, and one after another the syncs of many partitions add up to
// minutes.
func (m *Manager) closeLogs() error {
	byDir := map[string][]*Log{}
	for _, l := range m.All() {
		byDir[l.Dir()] = append(byDir[l.Dir()], l)
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, logs := range byDir {
		wg.Go(func() {
			inParallel(len(logs), m.cfg.RecoveryThreadsPerDir, func(i int) {
				if err := logs[i].Close(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// inParallel calls fn(0) … fn(n-1) on at most threads goroutines at once
// and waits for them all.
func inParallel(n, threads int, fn func(i int)) {
	sem := make(chan struct{}, threads)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

func (m *Manager) unlock() {
	for _, f := range m.locks {
		f.Close()
	}
	m.locks = nil
}
