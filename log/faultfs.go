package log

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// FaultFS is an FS over another (the OS's by default) that injects the
// disk faults of issue 17 for tests in any package: errors on write,
// fsync or read of chosen files, latency, and power loss.
//
// Power loss is modelled per file as the longest prefix left unchanged
// since its last Sync: a write or truncate at position p shortens it to
// p, a Sync extends it to the whole file. Crash cuts every file to that
// prefix, so a file keeps at most what a disk that lost its page cache
// keeps (a real disk may keep more), and what it keeps was all written.
// Renames and removals count as durable when they return: the log syncs
// a file before renaming it into place. Files this FaultFS never opened
// for writing are untouched.
type FaultFS struct {
	inner FS

	mu      sync.Mutex
	faults  map[FaultOp]fault
	delays  map[FaultOp]time.Duration
	durable map[string]*durability
	down    bool // between Crash and Restart
	boot    int  // counts Restarts: handles of an earlier one are dead
}

// FaultOp names the operations a FaultFS can fail or slow down.
type FaultOp int

const (
	FaultWrite FaultOp = iota // Write, WriteAt, Truncate
	FaultSync                 // Sync
	FaultRead                 // ReadAt
)

// durability is what power loss leaves of one file.
type durability struct {
	n   int64 // bytes unchanged since the last sync
	low int64 // the lowest position changed since a sync began
}

type fault struct {
	match string // a path holding this fails; "" matches every path
	err   error
}

// ErrPowerLost is what a FaultFS answers between Crash and Restart, and
// forever on files opened before the Crash.
var ErrPowerLost = errors.New("faultfs: power lost")

// NewFaultFS returns a FaultFS over inner, the OS's when nil.
func NewFaultFS(inner FS) *FaultFS {
	if inner == nil {
		inner = osFS{}
	}
	return &FaultFS{inner: inner, faults: map[FaultOp]fault{}, delays: map[FaultOp]time.Duration{}, durable: map[string]*durability{}}
}

// Fail makes op fail with err on every path containing match ("" for all)
// until Heal.
func (f *FaultFS) Fail(op FaultOp, match string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = fault{match: match, err: err}
}

// Delay makes every op take at least d longer, until Heal.
func (f *FaultFS) Delay(op FaultOp, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delays[op] = d
}

// Heal removes every fault and delay.
func (f *FaultFS) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults, f.delays = map[FaultOp]fault{}, map[FaultOp]time.Duration{}
}

// Crash loses power: every file written through this FaultFS is cut back
// to what its last sync made durable, and every operation fails with
// ErrPowerLost until Restart, so that nothing the dead process still runs
// (a Close that would sync and mark a clean shutdown) reaches the disk.
func (f *FaultFS) Crash() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	var errs []error
	for path, d := range f.durable {
		errs = append(errs, f.cut(path, d.n))
	}
	f.durable = map[string]*durability{}
	return errors.Join(errs...)
}

// cut truncates path to n bytes if it is longer.
func (f *FaultFS) cut(path string, n int64) error {
	file, err := f.inner.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err == nil && st.Size() > n {
		err = file.Truncate(n)
	}
	return err
}

// Restart powers the disk on again for a new process: files opened before
// the Crash stay dead.
func (f *FaultFS) Restart() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = false
	f.boot++
}

// check applies op's delay, then fails if the power is off, the handle is
// from an earlier boot, or op is set to fail on path.
func (f *FaultFS) check(op FaultOp, path string, boot int) error {
	f.mu.Lock()
	d, ft, down, now := f.delays[op], f.faults[op], f.down, f.boot
	f.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	switch {
	case down || boot != now:
		return &os.PathError{Op: "faultfs", Path: path, Err: ErrPowerLost}
	case ft.err != nil && strings.Contains(path, ft.match):
		return &os.PathError{Op: "faultfs", Path: path, Err: ft.err}
	}
	return nil
}

// alive fails with ErrPowerLost while the power is off.
func (f *FaultFS) alive(path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return &os.PathError{Op: "faultfs", Path: path, Err: ErrPowerLost}
	}
	return nil
}

// changed records that path is no longer durable from byte pos on.
func (f *FaultFS) changed(path string, pos int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.durable[path]; d != nil {
		d.n, d.low = min(d.n, pos), min(d.low, pos)
	}
}

// track starts tracking path, whose size is what it held before this
// FaultFS wrote to it: that counts as durable.
func (f *FaultFS) track(path string, size int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.durable[path] == nil {
		f.durable[path] = &durability{n: size, low: size}
	}
}

// syncing notes that a sync of path begins; synced that it ended with the
// file size seen at its start. Changes made meanwhile below that size stay
// undurable.
func (f *FaultFS) syncing(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.durable[path]; d != nil {
		d.low = math.MaxInt64
	}
}

func (f *FaultFS) synced(path string, size int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.durable[path]; d != nil {
		d.n = max(d.n, min(size, d.low))
	}
}

func (f *FaultFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if err := f.alive(name); err != nil {
		return nil, err
	}
	inner, err := f.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	ff := &faultFile{fs: f, inner: inner, path: name}
	f.mu.Lock()
	ff.boot = f.boot
	f.mu.Unlock()
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return ff, nil
	}
	st, err := inner.Stat()
	if err != nil {
		inner.Close()
		return nil, err
	}
	f.track(name, st.Size())
	if flag&os.O_TRUNC != 0 {
		f.changed(name, 0)
	}
	return ff, nil
}

func (f *FaultFS) Stat(name string) (os.FileInfo, error) {
	if err := f.alive(name); err != nil {
		return nil, err
	}
	return f.inner.Stat(name)
}

func (f *FaultFS) ReadDir(name string) ([]os.DirEntry, error) {
	if err := f.alive(name); err != nil {
		return nil, err
	}
	return f.inner.ReadDir(name)
}

func (f *FaultFS) MkdirAll(name string, perm os.FileMode) error {
	if err := f.alive(name); err != nil {
		return err
	}
	return f.inner.MkdirAll(name, perm)
}

func (f *FaultFS) Rename(oldpath, newpath string) error {
	if err := f.alive(oldpath); err != nil {
		return err
	}
	if err := f.inner.Rename(oldpath, newpath); err != nil {
		return err
	}
	f.forget(newpath) // what the rename replaced
	f.mu.Lock()
	defer f.mu.Unlock()
	for p, d := range f.durable { // a directory's files move with it
		if rel, ok := under(p, oldpath); ok {
			delete(f.durable, p)
			f.durable[newpath+rel] = d
		}
	}
	return nil
}

// under reports whether p is dir or lies under it, and the rest of p.
func under(p, dir string) (string, bool) {
	rel, ok := strings.CutPrefix(p, dir)
	return rel, ok && (rel == "" || rel[0] == filepath.Separator)
}

func (f *FaultFS) Remove(name string) error {
	if err := f.alive(name); err != nil {
		return err
	}
	f.forget(name)
	return f.inner.Remove(name)
}

func (f *FaultFS) RemoveAll(name string) error {
	if err := f.alive(name); err != nil {
		return err
	}
	f.forget(name)
	return f.inner.RemoveAll(name)
}

// forget drops the tracking of path and of everything under it.
func (f *FaultFS) forget(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p := range f.durable {
		if _, ok := under(p, path); ok {
			delete(f.durable, p)
		}
	}
}

// faultFile is a File of a FaultFS.
type faultFile struct {
	fs    *FaultFS
	inner File
	path  string
	boot  int
	pos   int64 // where Write writes next
}

func (ff *faultFile) ReadAt(b []byte, off int64) (int, error) {
	if err := ff.fs.check(FaultRead, ff.path, ff.boot); err != nil {
		return 0, err
	}
	return ff.inner.ReadAt(b, off)
}

func (ff *faultFile) WriteAt(b []byte, off int64) (int, error) {
	if err := ff.fs.check(FaultWrite, ff.path, ff.boot); err != nil {
		return 0, err
	}
	ff.fs.changed(ff.path, off)
	return ff.inner.WriteAt(b, off)
}

func (ff *faultFile) Write(b []byte) (int, error) {
	n, err := ff.WriteAt(b, ff.pos)
	ff.pos += int64(n)
	return n, err
}

func (ff *faultFile) Truncate(size int64) error {
	if err := ff.fs.check(FaultWrite, ff.path, ff.boot); err != nil {
		return err
	}
	ff.fs.changed(ff.path, size)
	return ff.inner.Truncate(size)
}

func (ff *faultFile) Sync() error {
	if err := ff.fs.check(FaultSync, ff.path, ff.boot); err != nil {
		return err
	}
	ff.fs.syncing(ff.path)
	st, err := ff.inner.Stat()
	if err != nil {
		return err
	}
	if err := ff.inner.Sync(); err != nil {
		return err
	}
	ff.fs.synced(ff.path, st.Size())
	return nil
}

func (ff *faultFile) Stat() (os.FileInfo, error) { return ff.inner.Stat() }
func (ff *faultFile) Close() error               { return ff.inner.Close() }
