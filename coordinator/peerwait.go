package coordinator

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// A restarted node once took up to 12 s to rejoin the quorum, longer the
// longer it had been down. hashicorp/raft's leader counts every failed
// AppendEntries to a follower and, before its next attempt, sleeps
// 10 ms·2^(failures-2), up to 10.24 s from the twelfth failure on (about
// 10 s after the follower died); the sleep cannot be cut short and raft has
// no API to reset the count. A follower that came back during the sleep
// waited for the rest of it before its log, and so its readiness, moved.
//
// patientTransport keeps that count from growing while a peer is merely
// unreachable: when an AppendEntries fails to reach the peer, it tries
// again every peerRetry for as long as this node leads and the peer is in
// the configuration, so raft sees one slow RPC that succeeds within
// peerRetry of the peer listening again. Whatever else fails (a peer that
// answered with an error, a node that lost leadership, a removed peer, a
// closed transport) goes back to raft as before. AppendEntries is
// idempotent, so sending the same request again is safe; a peer that was
// reached but stayed silent fails after the transport's timeout each time,
// as before.
type patientTransport struct {
	*raft.NetworkTransport
	raft atomic.Pointer[raft.Raft] // set once NewRaft returns
	log  *slog.Logger

	mu      sync.Mutex
	waiting map[raft.ServerID]int // calls retrying per peer, to log an outage once
}

// peerRetry is how often an unreachable peer is dialled again: a refused
// dial costs microseconds, and it bounds how late a returning peer hears
// from the leader.
const peerRetry = 50 * time.Millisecond

func newPatientTransport(nt *raft.NetworkTransport, logger *slog.Logger) *patientTransport {
	return &patientTransport{NetworkTransport: nt, log: logger, waiting: map[raft.ServerID]int{}}
}

// AppendEntries carries both raft's replication and its heartbeats.
func (t *patientTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress,
	args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	if err == nil || !unreached(err) || !t.wanted(id) {
		return err
	}
	since := time.Now()
	t.startWait(id, target, err)
	for err != nil && unreached(err) && t.wanted(id) {
		time.Sleep(peerRetry)
		err = t.NetworkTransport.AppendEntries(id, target, args, resp)
	}
	t.endWait(id, target, err, time.Since(since))
	return err
}

// wanted reports whether this node leads and id is still in the latest
// configuration: only then is there a replication to keep alive.
func (t *patientTransport) wanted(id raft.ServerID) bool {
	r := t.raft.Load()
	if r == nil || t.IsShutdown() || r.State() != raft.Leader {
		return false
	}
	f := r.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == id {
			return true
		}
	}
	return false
}

// unreached reports whether err means the request did not reach the peer
// or its answer did not come back: a dial, read or write that failed, or a
// connection the peer closed. An error the peer answered with is not.
func unreached(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}

func (t *patientTransport) startWait(id raft.ServerID, target raft.ServerAddress, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waiting[id]++
	if t.waiting[id] == 1 {
		t.log.Warn("raft peer unreachable; retrying until it answers", "peer", id, "addr", target, "err", err)
	}
}

func (t *patientTransport) endWait(id raft.ServerID, target raft.ServerAddress, err error, waited time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waiting[id]--
	if t.waiting[id] > 0 {
		return
	}
	delete(t.waiting, id)
	if err != nil {
		t.log.Info("raft peer still unreachable; no longer waiting for it", "peer", id, "addr", target, "waited", waited, "err", err)
		return
	}
	t.log.Info("raft peer answers again", "peer", id, "addr", target, "waited", waited)
}
