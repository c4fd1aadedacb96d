package coordinator

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// A forwarder's connection to a controller that lost the Raft leadership
// is closed when the leader changes, so that a call waiting on it fails at
// once instead of at its deadline; one to the leader stays open.
func TestForwarderRedirectClosesOnlyADeposedController(t *testing.T) {
	var f forwarder
	mine, theirs := net.Pipe()
	defer theirs.Close()
	f.setConn(mine, "10.0.0.1:9093")
	f.redirect("10.0.0.1:9093")
	theirs.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := theirs.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the leader's connection: read %v, want it still open", err)
	}
	f.mu.Lock() // a call waits on the connection
	defer f.mu.Unlock()
	f.redirect("10.0.0.2:9093")
	theirs.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := theirs.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("a deposed controller's connection: read %v, want it closed", err)
	}
}

// A heartbeat of a registered, unfenced broker never waits behind another
// controller operation: not on the controller, where an operation holds
// opMu until its command commits, and not on a forwarding node, where
// another call holds the shared connection (issue 17: healthy brokers
// fenced while their heartbeats queued behind ISR changes).
func TestHeartbeatDoesNotWaitBehindOperations(t *testing.T) {
	nodes := startVoters(t, testConfigs(t, 3))
	var ctrl, other *Coordinator
	waitFor(t, "an active controller", func() bool {
		for _, c := range nodes {
			if c.ctrl.isActive() {
				ctrl = c
			}
		}
		return ctrl != nil
	})
	register(t, ctrl, 1, 2, 3)
	for _, c := range nodes {
		if c != ctrl {
			other = c
		}
	}
	waitFor(t, "a forwarding node that knows the controller", func() bool {
		return other.Metadata().Brokers[3] != nil && other.LeaderID() == ctrl.cfg.NodeID
	})

	ctrl.ctrl.opMu.Lock() // an operation waits for its commit
	other.fwd.mu.Lock()   // a forwarded call waits for its answer
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- ctrl.Heartbeat(ctx, 1) }()
	go func() { errs <- other.Heartbeat(ctx, 2) }()
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(5 * time.Second):
			t.Error("a heartbeat waited behind another operation")
		}
	}
	other.fwd.mu.Unlock()
	ctrl.ctrl.opMu.Unlock()
}
