package coordinator

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Raft's timing is Kafka's (controller.quorum.*.timeout.ms): a follower
// stands after the fetch timeout, and a leader keeps its lease for as long,
// instead of stepping down after half the election timeout (500 ms), which
// a busy follower's late answer was enough to end (issue 16).
func TestRaftTimingIsKafkas(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Voters = []Voter{{1, "a:1"}, {2, "b:1"}, {3, "c:1"}}
	c := &Coordinator{cfg: cfg, log: quietLogger()}
	rc := c.raftConfig(hclog.NewNullLogger())
	if rc.ElectionTimeout != 2*time.Second || rc.HeartbeatTimeout != 2*time.Second || rc.LeaderLeaseTimeout != 2*time.Second {
		t.Fatalf("election %v, heartbeat %v, lease %v; want 2s each", rc.ElectionTimeout, rc.HeartbeatTimeout, rc.LeaderLeaseTimeout)
	}
	if err := raft.ValidateConfig(rc); err != nil {
		t.Fatalf("raft refuses the default timing: %v", err)
	}

	// A session timeout shorter than four fetch timeouts caps the fetch
	// timeout: an election must end well inside every broker's lease.
	short := cfg
	short.SessionTimeout = 3 * time.Second
	c = &Coordinator{cfg: short, log: quietLogger()}
	rc = c.raftConfig(hclog.NewNullLogger())
	if rc.HeartbeatTimeout != 750*time.Millisecond || rc.LeaderLeaseTimeout != 750*time.Millisecond || rc.ElectionTimeout != time.Second {
		t.Fatalf("with a 3 s session: heartbeat %v, lease %v, election %v; want 750ms, 750ms, 1s",
			rc.HeartbeatTimeout, rc.LeaderLeaseTimeout, rc.ElectionTimeout)
	}
	if err := raft.ValidateConfig(rc); err != nil {
		t.Fatalf("raft refuses the capped timing: %v", err)
	}

	cfg.FetchTimeout = 2 * time.Millisecond
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "controller.quorum.fetch.timeout.ms") {
		t.Fatalf("a 2 ms fetch timeout: %v, want it refused by its key", err)
	}
	cfg.FetchTimeout, cfg.ElectionTimeout = time.Second, 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "controller.quorum.election.timeout.ms") {
		t.Fatalf("no election timeout: %v, want it refused by its key", err)
	}
}
