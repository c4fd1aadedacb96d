package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestUnreached(t *testing.T) {
	_, refused := net.Dial("tcp", freeAddr(t))
	if refused == nil {
		t.Fatal("dialled a closed port")
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{refused, true},
		{io.EOF, true},
		{fmt.Errorf("reading the answer: %w", io.ErrUnexpectedEOF), true},
		{net.ErrClosed, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, true},
		{errors.New("failed to append to logs"), false}, // the peer answered with it
	} {
		if got := unreached(tc.err); got != tc.want {
			t.Errorf("unreached(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestRestartedVoterRejoinsAtOnce stops a follower for long enough that
// hashicorp/raft's backoff toward it would have reached seconds, restarts
// it and wants it ready within a second. While it is down the leader's
// heartbeats to it wait rather than fail: raft observes none (one, should
// the lost connection surface as an error that is not a network one)
// instead of one every half election timeout, 24 in 4 s.
func TestRestartedVoterRejoinsAtOnce(t *testing.T) {
	cfgs := testConfigs(t, 3)
	nodes := startVoters(t, cfgs)
	// On a loaded machine an election can move the leadership during the
	// measurement, which then measures the election; it is taken again.
	for attempt := 1; attempt <= 3; attempt++ {
		if restartFollower(t, cfgs, nodes) {
			return
		}
		t.Logf("the leadership moved during attempt %d; measuring again", attempt)
	}
	t.Fatal("the leadership moved during each of 3 attempts")
}

// restartFollower stops a follower of the current leader for 4 s, starts
// it again and checks the rejoin. It reports false, checking nothing, when
// the leader lost its leadership meanwhile.
func restartFollower(t *testing.T, cfgs []Config, nodes []*Coordinator) bool {
	var leader *Coordinator
	waitFor(t, "an active controller", func() bool {
		for _, c := range nodes {
			if c.ctrl.isActive() {
				leader = c
			}
		}
		return leader != nil
	})
	i := int(leader.cfg.NodeID) % 3 // the next node: a follower
	follower := nodes[i]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := follower.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	var failed atomic.Int32
	obs := make(chan raft.Observation, 64)
	observer := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.FailedHeartbeatObservation)
		return ok
	})
	leader.raft.RegisterObserver(observer)
	defer leader.raft.DeregisterObserver(observer)
	go func() {
		for range obs {
			failed.Add(1)
		}
	}()

	follower.Close()
	time.Sleep(4 * time.Second) // raft's backoff alone would now be 2.56 s
	begin := time.Now()
	nodes[i] = start(t, cfgs[i])
	took := time.Since(begin)
	if !leader.ctrl.isActive() {
		return false
	}
	if took > time.Second {
		t.Errorf("the restarted follower took %v to be ready, want < 1s", took)
	}
	if n := failed.Load(); n > 1 {
		t.Errorf("raft saw %d failed heartbeats to the stopped follower, want at most 1", n)
	}
	if nodes[i].LeaderID() != leader.cfg.NodeID {
		t.Errorf("the restarted follower follows %d, want %d", nodes[i].LeaderID(), leader.cfg.NodeID)
	}
	return true
}
