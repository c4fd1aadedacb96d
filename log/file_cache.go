package log

import (
	"container/list"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// fileCache bounds the open .log files across every log of a broker
// (log.segment.fd.cache.size), so that descriptors grow with the
// partitions in use, not with partitions or segments. Kafka keeps every
// segment open; a broker of many partitions then runs out of descriptors.
//
// A segment opens its file on first use and gives it back when done; a
// file nobody uses is idle, and once more than the limit are idle the
// least recently used are closed. The active segments of partitions being
// written or read stay the most recently used, so their files stay open;
// an idle partition's costs no descriptor. A file in use is never closed
// under its user, except when its segment is removed or the log closed,
// which happens under the log's locks that readers hold. Closing a file
// with unsynced writes loses nothing: fsync works on the file, whichever
// descriptor wrote it.
//
// Locks: cache.mu is taken after Log.cleanMu and Log.mu, never the other
// way; nothing blocks on the disk while holding it.
type fileCache struct {
	limit int

	mu      sync.Mutex
	idle    list.List // segments with an open file nobody uses, most recent first
	open    int       // files open through the cache, in use or idle
	opened  sync.Cond // signalled when a file an acquire waited for is opened or not
	opens   atomic.Int64
	failed  atomic.Int64
	evicted atomic.Int64
}

// newFileCache returns a cache keeping at most limit idle files open; 0
// keeps every file open, as Kafka does, and -1 a quarter of the process's
// descriptor limit (ulimit -n), which leaves the rest to connections and
// the files beside the logs: reopening a file on each use costs an append
// several times over, so the cache should hold the partitions in use.
func newFileCache(limit int) *fileCache {
	if limit < 0 {
		limit = 1000
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 {
			limit = int(min(rl.Cur/4, math.MaxInt32))
		}
	}
	c := &fileCache{limit: limit}
	c.opened.L = &c.mu
	return c
}

// segFile is a segment's open .log file for one use, given back with
// release.
type segFile struct {
	File
	s *segment
}

func (f segFile) release() { f.s.cache.release(f.s) }

// file returns the segment's file for one use, opening it if the cache
// closed it. The caller holds the log's lock or cleanMu, so that the
// segment is not removed meanwhile.
func (s *segment) file() (segFile, error) {
	f, err := s.cache.acquire(s)
	if err != nil {
		return segFile{}, err
	}
	return segFile{File: f, s: s}, nil
}

// acquire takes a use of s's file, opening it when it is closed.
func (c *fileCache) acquire(s *segment) (File, error) {
	c.mu.Lock()
	for s.opening {
		c.opened.Wait()
	}
	switch {
	case s.removed:
		c.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", s.logPath(), os.ErrClosed)
	case s.f != nil:
		if s.refs == 0 {
			c.idle.Remove(s.idleAt)
			s.idleAt = nil
		}
		s.refs++
		f := s.f
		c.mu.Unlock()
		return f, nil
	}
	s.opening = true
	c.mu.Unlock()
	f, err := s.fs.OpenFile(s.logPath(), os.O_RDWR, 0o644)
	c.opens.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	s.opening = false
	c.opened.Broadcast()
	if err != nil {
		c.failed.Add(1)
		return nil, fmt.Errorf("opening segment %s: %w", s.logPath(), err)
	}
	if s.removed { // cannot happen while callers hold the log's locks
		f.Close()
		return nil, fmt.Errorf("%s: %w", s.logPath(), os.ErrClosed)
	}
	s.f, s.refs = f, 1
	c.open++
	return f, nil
}

// adopt counts a file the segment opened itself (created, or opened to be
// loaded), in use once: the creator releases it.
func (c *fileCache) adopt(s *segment, f File) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.f, s.refs, s.cache = f, 1, c
	c.open++
}

// release gives back a use of s's file; the last one makes it idle, and
// idle files past the limit are closed.
func (c *fileCache) release(s *segment) {
	c.mu.Lock()
	s.refs--
	if s.refs > 0 || s.f == nil {
		c.mu.Unlock()
		return
	}
	s.idleAt = c.idle.PushFront(s)
	var victims []File
	for c.limit > 0 && c.idle.Len() > c.limit {
		v := c.idle.Remove(c.idle.Back()).(*segment)
		victims = append(victims, v.f)
		v.f, v.idleAt = nil, nil
		c.open--
	}
	c.mu.Unlock()
	for _, f := range victims {
		f.Close()
		c.evicted.Add(1)
	}
}

// retire closes s's file for good: the segment is removed or its log
// closed.
func (c *fileCache) retire(s *segment) error {
	c.mu.Lock()
	f := s.f
	if s.idleAt != nil {
		c.idle.Remove(s.idleAt)
	}
	if f != nil {
		c.open--
	}
	s.f, s.idleAt, s.removed = nil, nil, true
	c.mu.Unlock()
	if f == nil {
		return nil
	}
	return f.Close()
}

// FileCacheStats is what the segment file cache did since start.
type FileCacheStats struct {
	Limit   int   // idle files kept open at most, 0 for no limit
	Open    int   // .log files open, in use or idle
	Opens   int64 // files opened on demand, after the cache closed them
	Failed  int64 // opens that failed: the read answered KAFKA_STORAGE_ERROR
	Evicted int64 // idle files closed to stay within the limit
}

func (c *fileCache) stats() FileCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return FileCacheStats{Limit: c.limit, Open: c.open, Opens: c.opens.Load(), Failed: c.failed.Load(), Evicted: c.evicted.Load()}
}
