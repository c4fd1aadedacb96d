package log

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// A log directory fails, as in Kafka's LogDirFailureChannel, when the disk
// under it refuses a write, truncate, fsync or file creation (EIO, ENOSPC,
// a failed fsync after which Linux may have dropped the pages), or a read
// (EIO on a segment, a checkpoint, an index): nothing written there later
// can be trusted, and a partition led from it could no longer take writes
// or serve its followers and consumers while its other replicas still
// could. Kafka wraps reads and writes alike in maybeHandleIOException and
// takes the directory offline on any IOException. With no directory left
// (every KRaft broker without JBOD) it halts the broker, so that the
// controller fences it and moves its leaderships; OnDirFailure lets the
// process do the same.
//
// A read counts only when its error says the device failed
// (deviceFailed). Kafka's bugs, a negative position say, raise
// IllegalArgumentException, which halts nothing, while Go's os reports a
// bug and a dead disk alike as an error. A read changes nothing on disk,
// so an error of the caller's making (EINVAL, a negative offset, EBADF)
// fails the one request, which answers KAFKA_STORAGE_ERROR, and the node
// goes on.

// OnDirFailure sets fn to be called once for each log directory that
// fails, with the error that failed it, on a goroutine of its own so that
// the operation that failed returns its error (KAFKA_STORAGE_ERROR) first.
// A directory that failed before (while its logs were recovered) is
// reported at once.
func (m *Manager) OnDirFailure(fn func(dir string, err error)) {
	m.dirFailures.Lock()
	defer m.dirFailures.Unlock()
	m.dirFailures.fn = fn
	for dir, err := range m.dirFailures.failed {
		go fn(dir, err)
	}
}

// FailedDirs lists the log directories that have failed since start.
func (m *Manager) FailedDirs() []string {
	m.dirFailures.Lock()
	defer m.dirFailures.Unlock()
	var out []string
	for _, d := range m.cfg.Dirs {
		if m.dirFailures.failed[d] != nil {
			out = append(out, d)
		}
	}
	return out
}

// dirFailed marks the log directory holding path failed by err, the error
// of a write, truncate, fsync, file creation or mkdir: whatever it says,
// the file on disk is no longer known (a write may have gone in in part,
// a failed fsync may have left pages Linux dropped). Only errors that are
// no fault of the disk are spared: a file closed under a racing
// operation, a file or directory already gone or there, or a path of the
// wrong kind (a directory where a snapshot belongs), which its user treats
// as a damaged file.
func (m *Manager) dirFailed(path string, err error) {
	if errors.Is(err, os.ErrClosed) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist) ||
		errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) {
		return
	}
	m.failDir(path, err)
}

// readFailed marks the log directory holding path failed by err, the
// error of a read, when err says the device failed; the reader gets err
// either way.
func (m *Manager) readFailed(path string, err error) {
	if deviceFailed(err) {
		m.failDir(path, err)
	}
}

// deviceFailed reports whether err says the disk or the file system under
// a file failed, rather than its caller: EIO, the disk (or the quota) full
// (ENOSPC, EDQUOT), the file system gone read-only (ext4's
// errors=remount-ro), the device gone (ENXIO, ENODEV), or what the
// platform's storage stack returns besides (platformDeviceErrno).
func deviceFailed(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EIO, syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.ENXIO, syscall.ENODEV:
		return true
	}
	return platformDeviceErrno(errno)
}

// failDir marks the log directory holding path failed by err, once, and
// tells the hook.
func (m *Manager) failDir(path string, err error) {
	dir := m.dirOf(path)
	m.dirFailures.Lock()
	defer m.dirFailures.Unlock()
	if dir == "" || m.dirFailures.failed[dir] != nil {
		return
	}
	if m.dirFailures.failed == nil {
		m.dirFailures.failed = map[string]error{}
	}
	m.dirFailures.failed[dir] = err
	m.logger.Error("log directory failed: the disk refused an operation", "dir", dir, "err", err)
	if fn := m.dirFailures.fn; fn != nil {
		go fn(dir, err)
	}
}

// dirOf is the entry of log.dirs that path lies in, or "".
func (m *Manager) dirOf(path string) string {
	path = filepath.Clean(path)
	for _, d := range m.cfg.Dirs {
		if _, ok := under(path, filepath.Clean(d)); ok {
			return d
		}
	}
	return ""
}

// watchFS is the FS a Manager gives its logs: its configured one, with
// every failed write, truncate, fsync, file creation or mkdir reported to
// dirFailed, and every failed read to readFailed.
type watchFS struct {
	FS
	m *Manager
}

func (w watchFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := w.FS.OpenFile(name, flag, perm)
	if err != nil {
		if flag&os.O_CREATE != 0 {
			w.m.dirFailed(name, err)
		}
		return nil, err
	}
	return watchFile{File: f, m: w.m, name: name}, nil
}

func (w watchFS) MkdirAll(name string, perm os.FileMode) error {
	return w.m.watched(name, w.FS.MkdirAll(name, perm))
}

// watchFile is a file of a watchFS.
type watchFile struct {
	File
	m    *Manager
	name string
}

func (f watchFile) ReadAt(b []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(b, off)
	if err != nil {
		f.m.readFailed(f.name, err)
	}
	return n, err
}

func (f watchFile) WriteAt(b []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(b, off)
	return n, f.m.watched(f.name, err)
}

func (f watchFile) Write(b []byte) (int, error) {
	n, err := f.File.Write(b)
	return n, f.m.watched(f.name, err)
}

// Unwrap is the file underneath, which a fetch sent from the file
// duplicates (ownHandle) rather than opening the file again.
func (f watchFile) Unwrap() File { return f.File }

func (f watchFile) Truncate(size int64) error { return f.m.watched(f.name, f.File.Truncate(size)) }
func (f watchFile) Sync() error               { return f.m.watched(f.name, f.File.Sync()) }

// watched reports a failed operation on path and returns its error.
func (m *Manager) watched(path string, err error) error {
	if err != nil {
		m.dirFailed(path, err)
	}
	return err
}
