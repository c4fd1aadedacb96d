package log

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// A write the disk refuses fails the log directory once, and the hook
// hears of it with the directory and the error; reads that reach the end
// of a file, files closed under an operation and missing files do not.
func TestDirFailureReported(t *testing.T) {
	ffs := NewFaultFS(nil)
	dir := t.TempDir()
	m, l := openFaulty(t, dir, ffs, DefaultConfig())
	failed := make(chan string, 4)
	m.OnDirFailure(func(d string, err error) {
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("hook got %v, want ENOSPC", err)
		}
		failed <- d
	})
	mustAppend(t, l, prototest.Plain(0, "a").Encode())

	if _, err := l.Read(0, 1<<20, l.LogEndOffset(), true); err != nil {
		t.Fatal(err)
	}
	f, err := m.fs.OpenFile(l.segments[0].logPath(), os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(make([]byte, 1<<20), 0); err != io.EOF {
		t.Fatalf("read past the end: %v, want io.EOF", err)
	}
	f.Close()
	if _, err := f.ReadAt(make([]byte, 1), 0); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("read of a closed file: %v, want os.ErrClosed", err)
	}
	m.dirFailed(filepath.Join(dir, "y"), &os.PathError{Op: "open", Path: "y", Err: os.ErrNotExist})
	// A directory where a file belongs (a damaged snapshot, say) is read
	// as a bad file, not a bad disk.
	d, err := m.fs.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadAt(make([]byte, 1), 0); !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("read of a directory: %v, want EISDIR", err)
	}
	d.Close()
	if got := m.FailedDirs(); len(got) != 0 {
		t.Fatalf("failed dirs after reads to the end, a closed file, a missing one and a directory: %v", got)
	}

	ffs.Fail(FaultWrite, ".log", syscall.ENOSPC)
	for range 2 {
		if _, err := l.Append(prototest.Plain(0, "b").Encode(), AppendOptions{AssignOffsets: true}); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("append on a full disk: %v, want ENOSPC", err)
		}
	}
	select {
	case d := <-failed:
		if d != dir {
			t.Fatalf("hook named %q, want %q", d, dir)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no dir failure reported for a refused write")
	}
	if got := m.FailedDirs(); len(got) != 1 || got[0] != dir {
		t.Fatalf("failed dirs %v, want [%s]", got, dir)
	}
	select {
	case d := <-failed:
		t.Fatalf("dir %s reported twice", d)
	case <-time.After(100 * time.Millisecond):
	}
}

// A read the disk refuses fails the directory as a write does (Kafka's
// maybeHandleIOException around LocalLog.read): a fetch from a segment,
// and a lookup by timestamp through its batches.
func TestDirFailureOnRead(t *testing.T) {
	for name, read := range map[string]func(*Log) error{
		"fetch": func(l *Log) error {
			_, err := l.Read(0, 1<<20, l.LogEndOffset(), true)
			return err
		},
		"slice": func(l *Log) error {
			s, err := l.ReadSlice(0, 1<<20, l.LogEndOffset(), true)
			if err == nil {
				_, err = s.ReadBytes()
				s.Close()
			}
			return err
		},
		"timestamp": func(l *Log) error {
			_, _, _, err := l.FindOffsetByTimestamp(0)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			ffs := NewFaultFS(nil)
			dir := t.TempDir()
			m, l := openFaulty(t, dir, ffs, DefaultConfig())
			failed := make(chan error, 1)
			m.OnDirFailure(func(_ string, err error) { failed <- err })
			mustAppend(t, l, prototest.Plain(0, "a").Encode())
			ffs.Fail(FaultRead, ".log", syscall.EIO)
			if err := read(l); !errors.Is(err, syscall.EIO) {
				t.Fatalf("read on a failing disk: %v, want EIO", err)
			}
			select {
			case err := <-failed:
				if !errors.Is(err, syscall.EIO) {
					t.Fatalf("hook got %v, want EIO", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no dir failure reported for a refused read")
			}
			if got := m.FailedDirs(); len(got) != 1 || got[0] != dir {
				t.Fatalf("failed dirs %v, want [%s]", got, dir)
			}
		})
	}
}

// A failed fsync fails the directory too.
func TestDirFailureOnFsync(t *testing.T) {
	ffs := NewFaultFS(nil)
	cfg := DefaultConfig()
	cfg.FlushIntervalMessages = 1
	m, l := openFaulty(t, t.TempDir(), ffs, cfg)
	ffs.Fail(FaultSync, "", errDisk)
	if _, err := l.Append(prototest.Plain(0, "a").Encode(), AppendOptions{AssignOffsets: true}); !errors.Is(err, errDisk) {
		t.Fatalf("append whose fsync fails: %v", err)
	}
	if len(m.FailedDirs()) != 1 {
		t.Fatalf("failed dirs %v after a failed fsync", m.FailedDirs())
	}
}

// A directory that failed before the hook was set is reported when it is.
func TestDirFailureBeforeHook(t *testing.T) {
	dir := t.TempDir()
	m, _ := openFaulty(t, dir, NewFaultFS(nil), DefaultConfig())
	m.dirFailed(filepath.Join(dir, "tp-0", "x.log"), syscall.EIO)
	failed := make(chan string, 1)
	m.OnDirFailure(func(d string, _ error) { failed <- d })
	select {
	case d := <-failed:
		if d != dir {
			t.Fatalf("hook named %q, want %q", d, dir)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a directory failed before the hook was set was never reported")
	}
}

// A segment the disk refuses to read while it is recovered after a crash
// fails its directory too, reported once the hook is set, as Kafka's log
// loading takes a directory offline on an IOException.
func TestDirFailureOnRecoveryRead(t *testing.T) {
	ffs := NewFaultFS(nil)
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.FlushIntervalMessages = 1 // the batch survives the crash
	m, l := openFaulty(t, dir, ffs, cfg)
	mustAppend(t, l, prototest.Plain(0, "a").Encode())
	if err := ffs.Crash(); err != nil {
		t.Fatal(err)
	}
	m.Close()
	ffs.Restart()

	ffs.Fail(FaultRead, ".log", syscall.EIO)
	mc := DefaultManagerConfig()
	mc.Dirs, mc.FS, mc.Defaults = []string{dir}, ffs, cfg
	m, err := OpenManager(mc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	failed := make(chan error, 1)
	m.OnDirFailure(func(_ string, err error) { failed <- err })
	select {
	case err := <-failed:
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("hook got %v, want EIO", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a segment unreadable at recovery failed no directory")
	}
}

// A read whose error is the caller's, not the disk's, fails no directory:
// the read returns the error (KAFKA_STORAGE_ERROR to its client) and the
// next read, the fault gone, succeeds. Go's own error for a negative
// offset, a programming error, counts the same as EINVAL.
func TestReadErrorOfTheCallerFailsNoDir(t *testing.T) {
	ffs := NewFaultFS(nil)
	m, l := openFaulty(t, t.TempDir(), ffs, DefaultConfig())
	failed := make(chan error, 1)
	m.OnDirFailure(func(_ string, err error) { failed <- err })
	mustAppend(t, l, prototest.Plain(0, "a").Encode())

	for _, e := range []error{syscall.EINVAL, syscall.EBADF, errors.New("a bug")} {
		ffs.Fail(FaultRead, ".log", e)
		if _, err := l.Read(0, 1<<20, l.LogEndOffset(), true); !errors.Is(err, e) {
			t.Fatalf("read failing with %v: got %v", e, err)
		}
	}
	ffs.Heal()
	f, err := m.fs.OpenFile(l.segments[0].logPath(), os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("a read at offset -1 succeeded")
	}
	if res, err := l.Read(0, 1<<20, l.LogEndOffset(), true); err != nil || len(res.Records) == 0 {
		t.Fatalf("read once healed: %d bytes, %v", len(res.Records), err)
	}
	select {
	case err := <-failed:
		t.Fatalf("a read error of the caller's failed the directory: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if got := m.FailedDirs(); len(got) != 0 {
		t.Fatalf("failed dirs %v after reads that failed with the caller's errors", got)
	}
}

// deviceFailed tells the errors of a failing disk or file system, as
// os returns them wrapped, from the caller's.
func TestDeviceFailed(t *testing.T) {
	wrap := func(err error) error { return &os.PathError{Op: "read", Path: "x.log", Err: err} }
	for _, err := range []error{syscall.EIO, syscall.ENOSPC, syscall.EROFS, syscall.ENODEV, wrap(syscall.EIO),
		fmt.Errorf("reading tp-0: %w", wrap(syscall.EIO))} {
		if !deviceFailed(err) {
			t.Errorf("%v: not a device failure", err)
		}
	}
	for _, err := range []error{syscall.EINVAL, syscall.EBADF, syscall.EISDIR, syscall.ENOENT, wrap(syscall.EINVAL),
		io.EOF, io.ErrUnexpectedEOF, os.ErrClosed, ErrPowerLost, errors.New("negative offset"), nil} {
		if deviceFailed(err) {
			t.Errorf("%v: counted as a device failure", err)
		}
	}
}
