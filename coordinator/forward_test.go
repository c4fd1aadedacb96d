package coordinator

import (
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
