package cli

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// lockedBuffer is a buffer the test reads while the CLI writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestConsoleConsumerSIGTERM stops a console consumer that waits for more
// records with SIGTERM, as a service manager does: like Kafka's, it must
// say how many it printed, on stderr, and commit them for its group.
func TestConsoleConsumerSIGTERM(t *testing.T) {
	c := harness.StartT(t, 1, fast...)
	ok(t, c, "a\nb\nc\n", "console-producer", "--topic", "lines")
	cmd := exec.Command(harness.CLI(t), "console-consumer", "--topic", "lines", "--group", "g", "--from-beginning",
		"--bootstrap-server", strings.Join(c.Seeds(), ","))
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, "three records printed", 30*time.Second, func() bool { return out.String() == "a\nb\nc\n" })
	// While it runs, the group shows it as Kafka's tool shows a console
	// consumer: its address without a port, and its own client id.
	member := regexp.MustCompile(`(?m)^g +lines +0 +(\d+|-) +3 +(\d+|-) +console-consumer-\S+ +/127\.0\.0\.1 +console-consumer$`)
	harness.WaitFor(t, "the member in --describe", 15*time.Second, func() bool {
		return member.MatchString(ok(t, c, "", "consumer-groups", "--describe", "--group", "g"))
	})
	members := ok(t, c, "", "consumer-groups", "--describe", "--group", "g", "--members", "--verbose")
	if !regexp.MustCompile(`(?m)^g +console-consumer-\S+ +/127\.0\.0\.1 +console-consumer +1 +- +lines:0 +- +- +$`).MatchString(members) {
		t.Fatalf("--members --verbose printed\n%s", members)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 15 s after SIGTERM; stderr:\n%s", errb.String())
	}
	if !strings.Contains(errb.String(), "Processed a total of 3 messages\n") {
		t.Fatalf("stderr after SIGTERM:\n%s", errb.String())
	}
	described := ok(t, c, "", "consumer-groups", "--describe", "--group", "g")
	if !strings.Contains(described, " 3               3               0  ") {
		t.Fatalf("the printed records were not committed:\n%s", described)
	}
}
