package log

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// log.flush.before.ack (Config.FlushBeforeAck) is gokafka's own: Kafka
// acknowledges from the page cache, so power lost on every replica of the
// ISR at once loses acknowledged records. With it on, only what is fsynced
// counts toward the high watermark (CommittableEnd) and a follower reports
// only fsynced offsets (WaitDurable).
//
// The fsyncs are group commits: one goroutine per Manager syncs, in
// rounds, every log that asked since the last round began, once each, so
// that every append that arrived meanwhile, on any partition, shares one
// fsync of its log. No lock of the log is held across an fsync.
type groupCommit struct {
	mu       sync.Mutex
	pending  map[*Log]bool
	round    *syncRound // what the pending logs wait for
	closed   bool
	onSynced func(*Log)

	kick   chan struct{}
	errors atomic.Int64 // failed fsyncs, for a metric
}

// syncRound is one round of fsyncs; errs is complete once done is closed.
type syncRound struct {
	done chan struct{}
	errs map[*Log]error
}

var errManagerClosed = errors.New("log manager closed")

func newGroupCommit() *groupCommit {
	return &groupCommit{pending: map[*Log]bool{}, round: newSyncRound(), kick: make(chan struct{}, 1)}
}

func newSyncRound() *syncRound { return &syncRound{done: make(chan struct{}), errs: map[*Log]error{}} }

// request queues l for the next round and returns that round.
func (g *groupCommit) request(l *Log) *syncRound {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		r := newSyncRound()
		r.errs[l] = errManagerClosed
		close(r.done)
		return r
	}
	g.pending[l] = true
	select {
	case g.kick <- struct{}{}:
	default:
	}
	return g.round
}

// run syncs rounds until stop, then fails whatever still waits.
func (g *groupCommit) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			g.mu.Lock()
			g.closed = true
			for l := range g.pending {
				g.round.errs[l] = errManagerClosed
			}
			close(g.round.done)
			g.mu.Unlock()
			return
		case <-g.kick:
		}
		g.mu.Lock()
		logs, r, hook := g.pending, g.round, g.onSynced
		g.pending, g.round = map[*Log]bool{}, newSyncRound()
		g.mu.Unlock()
		for l := range logs {
			if err := l.syncToEnd(); err != nil {
				g.errors.Add(1)
				l.logger.Error("fsync failed; the partition's appends fail from now on", "partition", l.tp.String(), "err", err)
				r.errs[l] = err
			}
		}
		close(r.done)
		if hook != nil {
			for l := range logs {
				hook(l)
			}
		}
	}
}

// syncToEnd fsyncs the active segment up to the log end seen when it
// starts, without the log's lock, and moves the recovery point there
// unless a truncation meanwhile may have put other records below it. A
// failure sticks: the page cache may have dropped the data (Linux marks
// it clean after a failed fsync), so nothing later is trusted either.
func (l *Log) syncToEnd() error {
	l.mu.RLock()
	if l.closed || l.syncErr != nil || l.recoveryPoint >= l.logEndOffset() {
		err := l.syncErr
		l.mu.RUnlock()
		return err
	}
	s, end, truncations := l.active(), l.logEndOffset(), l.truncations
	f, err := s.file()
	l.mu.RUnlock()
	if err == nil {
		err = f.Sync()
		f.release()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.truncations != truncations {
		return nil // whoever closed or truncated settled the recovery point
	}
	if err != nil {
		if l.active() != s {
			return nil // rolled meanwhile: the roll synced it
		}
		l.syncErr = fmt.Errorf("%s: fsync: %w", l.tp, err)
		return l.syncErr
	}
	if end > l.recoveryPoint {
		l.recoveryPoint = end
	}
	if l.recoveryPoint == l.logEndOffset() {
		l.unflushed = 0
	}
	return nil
}

// OnSynced sets fn to be called after every round of group commit for
// each log it synced, so that the broker can move high watermarks.
func (m *Manager) OnSynced(fn func(*Log)) {
	m.gc.mu.Lock()
	defer m.gc.mu.Unlock()
	m.gc.onSynced = fn
}

// SyncErrors counts group-commit fsyncs that failed since start.
func (m *Manager) SyncErrors() int64 { return m.gc.errors.Load() }

// CommittableEnd is how far this replica's log may count toward the high
// watermark: its end, or with flush.before.ack only what is fsynced, in
// which case it asks for the rest to be synced.
func (l *Log) CommittableEnd() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	end := l.logEndOffset()
	if !l.cfg.FlushBeforeAck || l.recoveryPoint >= end {
		return end
	}
	l.requestSyncLocked()
	return l.recoveryPoint
}

// requestSyncLocked queues the log for group commit. A log outside a
// Manager has none: it is never synced this way.
func (l *Log) requestSyncLocked() *syncRound {
	if l.gc != nil {
		return l.gc.request(l)
	}
	r := newSyncRound()
	r.errs[l] = fmt.Errorf("%s: no group commit outside a log manager", l.tp)
	close(r.done)
	return r
}

// WaitDurable returns once everything the logs with flush.before.ack hold
// now is fsynced, so that a follower reports as its fetch offset only
// what survives power loss. The logs share group-commit rounds.
func WaitDurable(ctx context.Context, logs []*Log) error {
	var waits []*syncRound
	var whose []*Log
	for _, l := range logs {
		l.mu.RLock()
		if l.cfg.FlushBeforeAck && l.recoveryPoint < l.logEndOffset() && !l.closed {
			waits, whose = append(waits, l.requestSyncLocked()), append(whose, l)
		}
		l.mu.RUnlock()
	}
	for i, r := range waits {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.done:
		}
		if err := r.errs[whose[i]]; err != nil {
			return err
		}
	}
	return nil
}
