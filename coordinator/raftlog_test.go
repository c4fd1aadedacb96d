package coordinator

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// testRaftLogger logs at Warn into a buffer in the server's text format,
// on a clock the test moves.
func testRaftLogger() (*raftLogger, *bytes.Buffer, *time.Time) {
	var buf bytes.Buffer
	l := newRaftLogger(slog.New(slog.NewTextHandler(&buf, nil)).With("node", 1), hclog.Warn)
	now := time.Unix(1_800_000_000, 0)
	l.now = func() time.Time { return now }
	return l, &buf, &now
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestRaftLoggerWritesSlogLines(t *testing.T) {
	l, buf, _ := testRaftLogger()
	l.Warn("heartbeat timeout reached, starting election", "last-leader-addr", "10.0.0.1:9093", "last-leader-id", "2")
	l.Error("expected heartbeat, got", "command", hclog.Fmt("%d-%s", 7, "x"))
	l.Named("net").With("peer", "3").Error("failed to accept connection", "error", errors.New("boom"))
	got := lines(buf)
	if len(got) != 3 {
		t.Fatalf("want 3 lines, got %q", got)
	}
	want := []string{
		`level=WARN msg="heartbeat timeout reached, starting election" node=1 component=raft last-leader-addr=10.0.0.1:9093 last-leader-id=2`,
		`level=ERROR msg="expected heartbeat, got" node=1 component=raft command=7-x`,
		`level=ERROR msg="failed to accept connection" node=1 component=raft.net peer=3 error=boom`,
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], "time=") || !strings.HasSuffix(got[i], w) {
			t.Errorf("line %d = %q, want time=... %s", i, got[i], w)
		}
		if strings.Contains(got[i], "[WARN]") || strings.Contains(got[i], "[ERROR]") {
			t.Errorf("line %d still in hclog's format: %q", i, got[i])
		}
	}
}

func TestRaftLoggerLevels(t *testing.T) {
	l, buf, _ := testRaftLogger()
	child := l.With("k", "v")
	l.Info("entering follower state")
	child.Debug("debug")
	if got := lines(buf); len(got) != 0 {
		t.Fatalf("below Warn logged: %q", got)
	}
	if child.IsInfo() || !child.IsWarn() {
		t.Fatalf("child at Warn: IsInfo=%v IsWarn=%v", child.IsInfo(), child.IsWarn())
	}
	l.SetLevel(hclog.Info) // shared with the child, as in hclog
	child.Info("entering leader state")
	l.Log(hclog.NoLevel, "no level")
	child.StandardLogger(nil).Print("from the standard logger")
	got := lines(buf)
	if len(got) != 3 || !strings.Contains(got[0], `level=INFO msg="entering leader state"`) ||
		!strings.Contains(got[1], `level=INFO msg="no level"`) ||
		!strings.Contains(got[2], `level=INFO msg="from the standard logger"`) {
		t.Fatalf("after SetLevel(Info): %q", got)
	}
	l.SetLevel(hclog.Off)
	l.Error("off")
	if len(lines(buf)) != 3 {
		t.Fatalf("logged while Off: %q", lines(buf))
	}
}

// A dead peer makes raft log a failed heartbeat per attempt: one line per
// period per peer and message comes out, with the count of the others.
func TestRaftLoggerRateLimitsPerPeer(t *testing.T) {
	l, buf, now := testRaftLogger()
	for i := 0; i < 50; i++ {
		l.Error("failed to heartbeat to", "peer", "10.0.0.2:9093", "backoff time", i, "error", "dial tcp: refused")
		l.Error("failed to heartbeat to", "peer", "10.0.0.3:9093", "backoff time", i, "error", "dial tcp: refused")
		l.Error("failed to appendEntries to", "peer", "10.0.0.2:9093", "error", "dial tcp: refused")
		*now = now.Add(100 * time.Millisecond)
	}
	got := lines(buf)
	if len(got) != 3 {
		t.Fatalf("want one line per peer and message in 5 s, got %d: %q", len(got), got)
	}
	*now = now.Add(raftLogPeriod)
	l.Error("failed to heartbeat to", "peer", "10.0.0.2:9093", "backoff time", 50, "error", "dial tcp: refused")
	got = lines(buf)
	if len(got) != 4 || !strings.Contains(got[3], "peer=10.0.0.2:9093") ||
		!strings.HasSuffix(got[3], "suppressed_since_last_line=49") {
		t.Fatalf("after the period: %q", got)
	}
	l.Info("not limited")
	l.SetLevel(hclog.Info)
	for i := 0; i < 3; i++ {
		l.Info("entering candidate state", "node", "x")
	}
	if got := lines(buf); len(got) != 7 {
		t.Fatalf("info lines are not rate-limited: %q", got)
	}
}

// Raft's arguments are ours to trust, but a malformed call must not
// panic or lose the line.
func TestRaftLoggerMalformedArgs(t *testing.T) {
	l, buf, _ := testRaftLogger()
	l.Warn("odd", "k")
	l.Warn("key not a string", 42, "v", "peer")
	l.Warn("bad format", "x", hclog.Format{17, "y"}, "y", hclog.Format{})
	got := lines(buf)
	if len(got) != 3 || !strings.Contains(got[0], "!BADKEY=k") || !strings.Contains(got[1], "42=v !BADKEY=peer") ||
		!strings.Contains(got[2], "x=") {
		t.Fatalf("malformed args: %q", got)
	}
}
