package log

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// A write the disk refuses fails the log directory once, and the hook
// hears of it with the directory and the error; reads that fail, files
// closed under an operation and missing files do not.
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

	ffs.Fail(FaultRead, ".log", errDisk)
	if _, err := l.Read(0, 1<<20, l.LogEndOffset(), true); err == nil {
		t.Fatal("read on a failing disk succeeded")
	}
	m.dirFailed(filepath.Join(dir, "x"), os.ErrClosed)
	m.dirFailed(filepath.Join(dir, "y"), &os.PathError{Op: "open", Path: "y", Err: os.ErrNotExist})
	if got := m.FailedDirs(); len(got) != 0 {
		t.Fatalf("failed dirs after a read error, a closed file and a missing one: %v", got)
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
