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
	"syscall"
	"time"
)

// ErrTopicIDMismatch means a partition directory on disk belongs to another
// incarnation of a topic with the same name.
var ErrTopicIDMismatch = errors.New("partition directory holds a different topic ID")

// Manager owns every partition log of one broker across log.dirs: recovery
// at start, placement of new partitions, and the background retention,
// flush and checkpoint work.
type Manager struct {
	cfg    ManagerConfig
	logger *slog.Logger
	locks  []*os.File

	mu   sync.RWMutex
	logs map[TopicPartition]*Log

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
	m := &Manager{cfg: cfg, logger: logger, logs: map[TopicPartition]*Log{}, stop: make(chan struct{})}
	start := time.Now()
	for _, dir := range cfg.Dirs {
		if err := m.openDir(dir); err != nil {
			m.closeLogs()
			m.unlock()
			return nil, err
		}
	}
	logger.Info("logs loaded", "partitions", len(m.logs), "dirs", len(cfg.Dirs), "took", time.Since(start).Round(time.Millisecond))
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
	recovery, err1 := readOffsets(filepath.Join(dir, recoveryPointFile))
	starts, err2 := readOffsets(filepath.Join(dir, logStartOffsetFile))
	if err := errors.Join(err1, err2); err != nil {
		m.logger.Warn("unreadable checkpoint, recovering every partition in full", "dir", dir, "err", err)
	}
	clean := os.Remove(filepath.Join(dir, cleanShutdownFile)) == nil && err1 == nil
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("log.dirs %s: %w", dir, err)
	}
	var jobs []TopicPartition
	for _, e := range entries {
		name := e.Name()
		switch tp, ok := parseDirName(name); {
		case !e.IsDir() || name == metadataPartitionDir:
		case strings.HasSuffix(name, deleteDirSuffix):
			os.RemoveAll(filepath.Join(dir, name)) // a deletion interrupted by a crash
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

// recoverAll opens the partitions of one directory with a bounded pool.
func (m *Manager) recoverAll(dir string, jobs []TopicPartition, state func(TopicPartition) openState) error {
	sem := make(chan struct{}, m.cfg.RecoveryThreadsPerDir)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, tp := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			l, err := m.openExisting(dir, tp, state(tp))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				if _, dup := m.logs[tp]; dup {
					l.Close()
					err = fmt.Errorf("partition %s found in two log directories", tp)
				} else {
					m.logs[tp] = l
				}
			}
			errs = append(errs, err)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (m *Manager) openExisting(dir string, tp TopicPartition, st openState) (*Log, error) {
	pdir := filepath.Join(dir, tp.dirName())
	id, err := readPartitionMeta(filepath.Join(pdir, partitionMetaFile))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return openLog(pdir, tp, id, m.cfg.Defaults, st, m.logger)
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

// GetOrCreate returns the log of tp, creating it in the log directory that
// holds the fewest partitions. An existing log of another topic ID gives
// ErrTopicIDMismatch; the caller deletes it and tries again.
func (m *Manager) GetOrCreate(tp TopicPartition, topicID [16]byte, cfg Config) (*Log, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.logs[tp]; l != nil {
		switch {
		case l.topicID == topicID:
			return l, nil
		case l.topicID == [16]byte{}:
			l.topicID = topicID
			return l, writePartitionMeta(filepath.Join(l.dir, partitionMetaFile), topicID)
		}
		return nil, fmt.Errorf("%s: %w", tp, ErrTopicIDMismatch)
	}
	pdir := filepath.Join(m.leastLoadedDir(), tp.dirName())
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return nil, err
	}
	if err := writePartitionMeta(filepath.Join(pdir, partitionMetaFile), topicID); err != nil {
		return nil, err
	}
	l, err := openLog(pdir, tp, topicID, cfg, openState{clean: true}, m.logger)
	if err != nil {
		return nil, err
	}
	m.logs[tp] = l
	return l, nil
}

func (m *Manager) leastLoadedDir() string {
	count := map[string]int{}
	for _, l := range m.logs {
		count[filepath.Dir(l.dir)]++
	}
	best := m.cfg.Dirs[0]
	for _, d := range m.cfg.Dirs[1:] {
		if count[filepath.Clean(d)] < count[filepath.Clean(best)] {
			best = d
		}
	}
	return best
}

// Delete closes the log of tp and removes its directory. The directory is
// renamed first, so a crash mid-way leaves something recovery deletes
// rather than a half-removed partition.
func (m *Manager) Delete(tp TopicPartition) error {
	m.mu.Lock()
	l := m.logs[tp]
	delete(m.logs, tp)
	m.mu.Unlock()
	if l == nil {
		return nil
	}
	l.Close()
	var suffix [8]byte
	rand.Read(suffix[:])
	gone := l.dir + "." + hex.EncodeToString(suffix[:]) + deleteDirSuffix
	if err := os.Rename(l.dir, gone); err != nil {
		return err
	}
	return os.RemoveAll(gone)
}
