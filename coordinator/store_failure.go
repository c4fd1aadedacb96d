package coordinator

import (
	"errors"

	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// The metadata store fails, as Kafka's metadata log directory does, when
// the disk refuses a write to raft.db or to a snapshot (ENOSPC, EIO).
// hashicorp/raft only logs most such failures: a follower that cannot
// append its leader's entries answers with a failure, the leader sends
// them again, and the node never catches up. A node restarted on a full
// disk so stayed unready without end, waiting for metadata it could not
// store. Kafka halts the process when its metadata log directory fails;
// Config.OnStoreFailure lets the process do the same, and hears of the
// first failure before the write returns: raft panics on a term or vote
// it cannot persist, and the line naming the directory must come first.

// storeFailed reports err, from a write to the store in c.cfg.Dir, once;
// a store closed under a write (shutdown) is no failure. It returns err.
func (c *Coordinator) storeFailed(err error) error {
	if err == nil || errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return err
	}
	c.storeFailure.Do(func() {
		c.log.Error("metadata store failed: the disk refused a write", "dir", c.cfg.Dir, "err", err)
		if fn := c.cfg.OnStoreFailure; fn != nil {
			fn(c.cfg.Dir, err)
		}
	})
	return err
}

// raftStore is what raft keeps in raft.db: its log and its term and vote.
type raftStore interface {
	raft.LogStore
	raft.StableStore
}

// watchedStore reports every write its store refuses to storeFailed.
type watchedStore struct {
	raftStore
	failed func(error) error
}

func (s watchedStore) StoreLog(l *raft.Log) error { return s.failed(s.raftStore.StoreLog(l)) }
func (s watchedStore) StoreLogs(ls []*raft.Log) error {
	return s.failed(s.raftStore.StoreLogs(ls))
}
func (s watchedStore) DeleteRange(lo, hi uint64) error {
	return s.failed(s.raftStore.DeleteRange(lo, hi))
}
func (s watchedStore) Set(k, v []byte) error { return s.failed(s.raftStore.Set(k, v)) }
func (s watchedStore) SetUint64(k []byte, v uint64) error {
	return s.failed(s.raftStore.SetUint64(k, v))
}

// watchedSnapshots reports every snapshot the disk refuses to take or
// install (a follower far behind gets one from its leader) to
// storeFailed.
type watchedSnapshots struct {
	raft.SnapshotStore
	failed func(error) error
}

func (s watchedSnapshots) Create(version raft.SnapshotVersion, index, term uint64, conf raft.Configuration,
	confIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.SnapshotStore.Create(version, index, term, conf, confIndex, trans)
	if err != nil {
		return nil, s.failed(err)
	}
	return watchedSink{SnapshotSink: sink, failed: s.failed}, nil
}

type watchedSink struct {
	raft.SnapshotSink
	failed func(error) error
}

func (s watchedSink) Write(b []byte) (int, error) {
	n, err := s.SnapshotSink.Write(b)
	return n, s.failed(err)
}

func (s watchedSink) Close() error { return s.failed(s.SnapshotSink.Close()) }
