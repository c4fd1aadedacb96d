package log

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrTopicIDMismatch means a partition directory on disk belongs to another
// incarnation of a topic with the same name.
var ErrTopicIDMismatch = errors.New("partition directory holds a different topic ID")

// ErrLogOffline means the partition's directory is on disk but its log
// could not be opened; clients get KAFKA_STORAGE_ERROR for it, and nothing
// creates a fresh log over it.
var ErrLogOffline = errors.New("partition log offline")

// Manager owns every partition log of one broker across log.dirs: recovery
// at start, placement of new partitions, and the background retention,
// flush and checkpoint work.
type Manager struct {
	cfg    ManagerConfig
	logger *slog.Logger
	fs     FS
	files  *fileCache
	locks  []*os.File
	gc     *groupCommit

	mu      sync.RWMutex
	logs    map[TopicPartition]*Log
	offline map[TopicPartition]error // found on disk, failed to open
	// creating holds the partitions GetOrCreate is creating, outside mu:
	// their directory and first segment are file I/O, which must hold up
	// neither other partitions nor their creation.
	creating map[TopicPartition]*creation
	// placed counts the partitions of each log dir (cleaned path), open
	// or being created, for placing new ones.
	placed map[string]int

	deletions        deletions    // directories renamed -delete, removed after a delay
	checkpointErrors atomic.Int64 // failed checkpoint writes, for a metric
	readBytes        atomic.Int64 // bytes Log.Read took from segment files, for a metric
	backoff          atomic.Int64 // log.cleaner.backoff.ms set at run time, 0 = as configured

	dirFailures struct { // see dir_failure.go
		sync.Mutex
		fn     func(dir string, err error)
		failed map[string]error
	}

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// OpenManager locks every log directory and opens the partitions found
// there, recovering them in parallel (num.recovery.threads.per.data.dir
// per directory).
func OpenManager(cfg ManagerConfig, logger *slog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.FS == nil {
		cfg.FS = osFS{}
	}
	m := &Manager{cfg: cfg, files: newFileCache(cfg.SegmentFileCacheSize), gc: newGroupCommit(), logger: logger, logs: map[TopicPartition]*Log{}, offline: map[TopicPartition]error{},
		creating: map[TopicPartition]*creation{}, placed: map[string]int{}, stop: make(chan struct{})}
	m.fs = watchFS{FS: cfg.FS, m: m}
	start := time.Now()
	for _, dir := range cfg.Dirs {
		if err := m.openDir(dir); err != nil {
			m.closeLogs()
			m.unlock()
			return nil, err
		}
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.gc.run(m.stop)
	}()
	logger.Info("logs loaded", "partitions", len(m.logs), "offline", len(m.offline), "dirs", len(cfg.Dirs), "segment_file_cache", m.files.limit, "took", time.Since(start).Round(time.Millisecond))
	return m, nil
}

// lockDir takes Kafka's .lock so that two processes never share a
// directory, the classic result of a copied config.
func (m *Manager) lockDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("log.dirs %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("log.dirs %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("log.dirs %s: in use by another process (%v)", dir, err)
	}
	m.locks = append(m.locks, f)
	return nil
}

func (m *Manager) openDir(dir string) error {
	if err := m.lockDir(dir); err != nil {
		return err
	}
	recovery, err1 := readOffsets(m.fs, filepath.Join(dir, recoveryPointFile))
	starts, err2 := readOffsets(m.fs, filepath.Join(dir, logStartOffsetFile))
	if err := errors.Join(err1, err2); err != nil {
		m.logger.Warn("unreadable checkpoint, recovering every partition in full", "dir", dir, "err", err)
	}
	clean := m.fs.Remove(filepath.Join(dir, cleanShutdownFile)) == nil && err1 == nil
	entries, err := m.fs.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("log.dirs %s: %w", dir, err)
	}
	var jobs []TopicPartition
	for _, e := range entries {
		name := e.Name()
		switch tp, ok := parseDirName(name); {
		case !e.IsDir() || name == metadataPartitionDir:
		case strings.HasSuffix(name, deleteDirSuffix) || strings.HasSuffix(name, legacyDeleteDirSuffix):
			m.deleteLater(filepath.Join(dir, name)) // a deletion a restart interrupted
		case !ok:
			m.logger.Warn("ignoring a directory that is not a partition", "dir", filepath.Join(dir, name))
		default:
			jobs = append(jobs, tp)
		}
	}
	if !clean && len(jobs) > 0 {
		m.logger.Info("recovering logs after an unclean shutdown", "dir", dir, "partitions", len(jobs))
	}
	return m.recoverAll(dir, jobs, func(tp TopicPartition) openState {
		rp, ok := recovery[tp]
		return openState{recoveryPoint: rp, logStartOffset: starts[tp], clean: clean && ok}
	})
}

// recoverAll opens the partitions of one directory with a bounded pool. A
// partition that cannot be opened is marked offline rather than failing the
// node: the others serve, and that one answers KAFKA_STORAGE_ERROR.
func (m *Manager) recoverAll(dir string, jobs []TopicPartition, state func(TopicPartition) openState) error {
	inParallel(len(jobs), m.cfg.RecoveryThreadsPerDir, func(i int) {
		tp := jobs[i]
		l, err := m.openExisting(dir, tp, state(tp))
		m.mu.Lock()
		defer m.mu.Unlock()
		if err == nil {
			if _, dup := m.logs[tp]; dup {
				l.Close()
				err = fmt.Errorf("partition %s found in two log directories", tp)
			} else {
				m.logs[tp] = l
				m.placed[filepath.Clean(dir)]++
				return
			}
		}
		m.offline[tp] = err
		m.logger.Error("partition offline: cannot open its log", "dir", filepath.Join(dir, tp.dirName()), "err", err)
	})
	return nil
}

// Offline returns why the log of tp is offline, or nil.
func (m *Manager) Offline(tp TopicPartition) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.offline[tp]; err != nil {
		return fmt.Errorf("%s: %w: %v", tp, ErrLogOffline, err)
	}
	return nil
}

// OfflineCount is how many partitions found on disk could not be opened.
func (m *Manager) OfflineCount() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.offline)
}

// SegmentFiles says what the cache of segment files did since start:
// files open, opened on demand, failed to open, closed as idle.
func (m *Manager) SegmentFiles() FileCacheStats { return m.files.stats() }

// CheckpointErrors counts checkpoint writes that failed since start.
func (m *Manager) CheckpointErrors() int64 { return m.checkpointErrors.Load() }

// ReadBytes is what reads of record batches (Log.Read: fetches, the
// coordinators' loads) took from segment files, headers included: against
// the bytes fetches deliver it shows what purgatory and the read path
// cost the disk.
func (m *Manager) ReadBytes() int64 { return m.readBytes.Load() }

func (m *Manager) openExisting(dir string, tp TopicPartition, st openState) (*Log, error) {
	pdir := filepath.Join(dir, tp.dirName())
	id, metaErr := readPartitionMeta(m.fs, filepath.Join(pdir, partitionMetaFile))
	if metaErr != nil && !os.IsNotExist(metaErr) && !errors.Is(metaErr, errBadPartitionMeta) {
		return nil, metaErr
	}
	l, err := openLog(m.fs, m.files, pdir, tp, id, m.cfg.Defaults, st, m.logger)
	if err != nil {
		return nil, err
	}
	if errors.Is(metaErr, errBadPartitionMeta) {
		// Kafka fails the whole directory here. A crash while the
		// partition was created leaves at worst an empty log beside
		// an unfinished partition.metadata: that log takes its topic
		// ID from the metadata, as one without the file does. A log
		// that holds data could be another incarnation of the topic,
		// so it stays offline for the operator to look at.
		if l.LogEndOffset() > 0 {
			l.Close()
			return nil, fmt.Errorf("%w; the log holds data, so its topic is not guessed", metaErr)
		}
		m.logger.Warn("empty partition with an unreadable partition.metadata: its topic ID comes from the metadata",
			"partition", tp.String(), "err", metaErr)
	}
	l.gc, l.readBytes = m.gc, &m.readBytes
	return l, nil
}

// PartitionData lists what in dir is partition data of some cluster: the
// <topic>-<partition> directories and those renamed -delete or -stray. The
// metadata partition is not counted. A missing dir holds nothing.
func PartitionData(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("log.dirs %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		_, ok := parseDirName(name)
		for _, suffix := range []string{deleteDirSuffix, legacyDeleteDirSuffix, strayDirSuffix} {
			ok = ok || strings.HasSuffix(name, suffix)
		}
		if e.IsDir() && ok && name != metadataPartitionDir {
			out = append(out, name)
		}
	}
	return out, nil
}

// Dirs returns log.dirs, cleaned, in configured order.
func (m *Manager) Dirs() []string {
	out := make([]string, len(m.cfg.Dirs))
	for i, d := range m.cfg.Dirs {
		out[i] = filepath.Clean(d)
	}
	return out
}

// Defaults is the broker-wide log configuration, dynamic broker configs
// included.
func (m *Manager) Defaults() Config {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cfg.Defaults
}

// SetDefaults replaces the broker-wide log configuration (dynamic broker
// configs); the broker then applies it to every log.
func (m *Manager) SetDefaults(c Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg.Defaults = c
}

// Get returns the log of tp, or nil.
func (m *Manager) Get(tp TopicPartition) *Log {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.logs[tp]
}

// All returns every open log.
func (m *Manager) All() []*Log {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		out = append(out, l)
	}
	return out
}

// GetOrCreate returns the log of tp with cfg applied, creating it in the
// log directory that holds the fewest partitions. A log found on disk at
// start runs with the broker defaults until this call gives it its
// topic's configs, which must happen before retention first runs (Start).
// An existing log of another topic ID gives ErrTopicIDMismatch, an offline
// one ErrLogOffline. Creations of different partitions run in parallel:
// the manager's lock is never held across their file I/O.
func (m *Manager) GetOrCreate(tp TopicPartition, topicID [16]byte, cfg Config) (*Log, error) {
	for {
		l, c, err := m.findOrReserve(tp)
		switch {
		case err != nil:
			return nil, err
		case l != nil:
			if err := l.adoptTopicID(topicID); err != nil {
				return nil, err
			}
			if l.Config() != cfg {
				l.SetConfig(cfg)
			}
			return l, nil
		case c.owner:
			return m.create(tp, c, topicID, cfg)
		}
		<-c.done // another caller creates it: then look again
	}
}

// creation is a partition GetOrCreate is creating in dir; done is closed
// when it is in logs or has failed.
type creation struct {
	dir   string
	done  chan struct{}
	owner bool // only in what findOrReserve returns: the caller creates it
}

// findOrReserve returns the log of tp, or the creation under way of it,
// or reserves its creation for the caller in the least loaded log dir.
func (m *Manager) findOrReserve(tp TopicPartition) (*Log, *creation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.offline[tp]; err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %v", tp, ErrLogOffline, err)
	}
	if l := m.logs[tp]; l != nil {
		return l, nil, nil
	}
	if c := m.creating[tp]; c != nil {
		return nil, c, nil
	}
	c := &creation{dir: m.leastLoadedDirLocked(), done: make(chan struct{})}
	m.creating[tp] = c
	m.placed[c.dir]++
	return nil, &creation{dir: c.dir, done: c.done, owner: true}, nil
}

// create makes the directory of tp in c.dir and its first segment, then
// publishes the log. It syncs nothing: partition.metadata is written
// before the first batch (Log.Append), as Kafka does, so that creating
// thousands of partitions costs no fsync each; a crash before then leaves
// an empty log, which takes its topic ID from the metadata again.
func (m *Manager) create(tp TopicPartition, c *creation, topicID [16]byte, cfg Config) (*Log, error) {
	defer close(c.done)
	l, err := openLog(m.fs, m.files, filepath.Join(c.dir, tp.dirName()), tp, topicID, cfg, openState{clean: true}, m.logger)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.creating, tp)
	if err != nil {
		m.placed[c.dir]--
		return nil, err
	}
	l.gc, l.readBytes, l.metaPending = m.gc, &m.readBytes, true
	m.logs[tp] = l
	return l, nil
}

// leastLoadedDirLocked is the log dir with the fewest partitions, the
// first configured among equals. The caller holds mu.
func (m *Manager) leastLoadedDirLocked() string {
	best := filepath.Clean(m.cfg.Dirs[0])
	for _, d := range m.cfg.Dirs[1:] {
		if d = filepath.Clean(d); m.placed[d] < m.placed[best] {
			best = d
		}
	}
	return best
}

// Delete closes the log of tp, whose deletion the caller saw in the
// metadata, and removes its directory as Kafka does: renamed
// <topic>-<partition>.<id>-delete at once, so that a crash leaves nothing
// that looks like a partition, and removed after log.segment.delete.delay.ms.
func (m *Manager) Delete(tp TopicPartition) error {
	gone, err := m.closeAndRename(tp, deleteDirSuffix)
	if err != nil || gone == "" {
		return err
	}
	m.logger.Warn("deleting partition directory", "partition", tp.String(), "dir", gone,
		"delay", m.deleteDelay())
	m.deleteLater(gone)
	return nil
}

// MarkStray closes the log of tp, found on disk at start but named by no
// topic this broker holds (deleted while it was down, or not this
// cluster's at all), and renames its directory <topic>-<partition>.<id>-stray
// as Kafka does since 3.7. Nothing is deleted: the operator decides.
func (m *Manager) MarkStray(tp TopicPartition) error {
	gone, err := m.closeAndRename(tp, strayDirSuffix)
	if err == nil && gone != "" {
		m.logger.Warn("stray partition directory kept, not deleted: the metadata names no such topic ID",
			"partition", tp.String(), "dir", gone)
	}
	return err
}

func (m *Manager) closeAndRename(tp TopicPartition, suffix string) (string, error) {
	m.mu.Lock()
	l := m.logs[tp]
	delete(m.logs, tp)
	if l != nil {
		m.placed[filepath.Dir(l.dir)]--
	}
	m.mu.Unlock()
	if l == nil {
		return "", nil
	}
	l.Close()
	var id [8]byte
	rand.Read(id[:])
	gone := l.dir + "." + hex.EncodeToString(id[:]) + suffix
	if err := m.fs.Rename(l.dir, gone); err != nil {
		return "", fmt.Errorf("%s: renaming %s: %w", tp, l.dir, err)
	}
	return gone, nil
}
