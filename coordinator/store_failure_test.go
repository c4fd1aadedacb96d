package coordinator

import (
	"errors"
	"io"
	"log/slog"
	"syscall"
	"testing"

	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// failingStore is an in-memory Raft store whose writes fail with err.
type failingStore struct {
	*raft.InmemStore
	err error
}

func (s failingStore) StoreLogs([]*raft.Log) error      { return s.err }
func (s failingStore) StoreLog(*raft.Log) error         { return s.err }
func (s failingStore) DeleteRange(uint64, uint64) error { return s.err }
func (s failingStore) Set([]byte, []byte) error         { return s.err }
func (s failingStore) SetUint64([]byte, uint64) error   { return s.err }

// failingSink is a snapshot sink whose writes fail with err.
type failingSink struct {
	raft.SnapshotSink
	err error
}

func (s failingSink) Write([]byte) (int, error) { return 0, s.err }

// Every write the metadata store refuses reaches the caller unchanged,
// and the first one reaches OnStoreFailure with the directory, once; a
// store closed under a write (shutdown) is no failure.
func TestStoreFailureReported(t *testing.T) {
	type report struct {
		dir string
		err error
	}
	var got []report
	c := &Coordinator{log: slog.New(slog.NewTextHandler(io.Discard, nil)), cfg: Config{Dir: "/meta",
		OnStoreFailure: func(dir string, err error) { got = append(got, report{dir, err}) }}}

	closed := watchedStore{raftStore: failingStore{raft.NewInmemStore(), bbolt.ErrDatabaseNotOpen}, failed: c.storeFailed}
	if err := closed.StoreLogs(nil); !errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		t.Fatalf("write to a closed store: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("a closed store reported as failed: %v", got)
	}

	full := watchedStore{raftStore: failingStore{raft.NewInmemStore(), syscall.ENOSPC}, failed: c.storeFailed}
	writes := map[string]func() error{
		"StoreLog":    func() error { return full.StoreLog(&raft.Log{}) },
		"StoreLogs":   func() error { return full.StoreLogs(nil) },
		"DeleteRange": func() error { return full.DeleteRange(1, 2) },
		"Set":         func() error { return full.Set([]byte("k"), nil) },
		"SetUint64":   func() error { return full.SetUint64([]byte("k"), 1) },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("%s on a full disk: %v, want ENOSPC", name, err)
		}
	}
	if len(got) != 1 || got[0].dir != "/meta" || !errors.Is(got[0].err, syscall.ENOSPC) {
		t.Fatalf("reports %v, want one for /meta with ENOSPC", got)
	}
}

// A snapshot the disk refuses to write fails the store too: a follower
// far behind installs one from its leader.
func TestSnapshotFailureReported(t *testing.T) {
	var got error
	c := &Coordinator{log: slog.New(slog.NewTextHandler(io.Discard, nil)), cfg: Config{Dir: "/meta",
		OnStoreFailure: func(_ string, err error) { got = err }}}
	snaps := watchedSnapshots{SnapshotStore: raft.NewInmemSnapshotStore(), failed: c.storeFailed}
	sink, err := snaps.Create(raft.SnapshotVersionMax, 1, 1, raft.Configuration{}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Write([]byte("ok")); err != nil || got != nil {
		t.Fatalf("a write that worked: %v, reported %v", err, got)
	}
	sink.Cancel()
	eio := watchedSink{SnapshotSink: failingSink{sink, syscall.EIO}, failed: c.storeFailed}
	if _, err := eio.Write([]byte("x")); !errors.Is(err, syscall.EIO) || !errors.Is(got, syscall.EIO) {
		t.Fatalf("write %v, reported %v, want EIO both", err, got)
	}
}
