package chaos

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// The nemeses of the disk and the clock, struck through the faultfs build
// of the server (harness.FaultBinary): its http.listener sets faults of
// the log's file-system seam (/debug/faultfs) and a skew of its wall clock
// (/debug/clock). A full disk is real: each node's data directory is a
// tmpfs of its own (mountDataDir), filled by a file.

// dataDirSize is each node's tmpfs: room for a 10-minute run several times
// over, small enough that filling it costs little memory.
const dataDirSize = "512m"

// haltWithin is how long a node whose disk refuses writes may keep
// running: it writes as leader or follower every few milliseconds, and
// its first refused write halts it (log.OnDirFailure).
const haltWithin = 10 * time.Second

// mountDataDir puts a tmpfs of dataDirSize on dir, unmounted when the
// test ends (after its nodes are killed: cleanups run last in, first out).
func mountDataDir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+dataDirSize, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v: %s", dir, err, out)
		}
	})
}

// debug POSTs to path?query on node id's http.listener.
func (c *cluster) debug(id int32, path, query string) error {
	return debugPost(c.node(id), path, query)
}

// debugPost POSTs to path?query on nd's http.listener.
func debugPost(nd *harness.Node, path, query string) error {
	url := fmt.Sprintf("http://%s%s?%s", nd.HTTPAddr, path, query)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Post(url, "text/plain", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// slowDisk makes every write of node id take 30 ms longer and every fsync
// 300 ms, for d: a disk behind a saturated controller.
func (c *cluster) slowDisk(id int32, d time.Duration, tps []TP) (Fault, error) {
	f := c.fault(id, fmt.Sprintf("node %d: writes +30ms, fsyncs +300ms for %v", id, d.Round(time.Millisecond)), tps)
	err := c.debugFor(id, d, "/debug/faultfs", "heal=1", "op=write&delay=30ms", "op=sync&delay=300ms")
	f.Healed = time.Now()
	return f, err
}

// debugFor POSTs each of strikes to path on node id, waits d and POSTs
// heal, whatever failed.
func (c *cluster) debugFor(id int32, d time.Duration, path, heal string, strikes ...string) error {
	var err error
	for _, q := range strikes {
		if err = c.debug(id, path, q); err != nil {
			break
		}
	}
	if err == nil {
		time.Sleep(d)
	}
	if herr := c.debug(id, path, heal); err == nil {
		err = herr
	}
	return err
}

// failingDisk makes node id's disk answer EIO to every one of ops
// (write, sync, read: /debug/faultfs's op) on its logs: the node must halt
// (Kafka's broker halts when its last log directory goes offline, and an
// I/O error on a read takes it offline as one on a write does), its
// partitions move to the other replicas, and after down it restarts on a
// healthy disk (the faults die with the process) and recovers.
func (c *cluster) failingDisk(id int32, down time.Duration, tps []TP, ops ...string) (Fault, error) {
	f := c.fault(id, fmt.Sprintf("node %d: EIO on %s", id, strings.Join(ops, " and ")), tps)
	strike := func() error {
		for _, op := range ops {
			if err := c.debug(id, "/debug/faultfs", "op="+op+"&err=EIO"); err != nil {
				return err
			}
		}
		return nil
	}
	return f, c.haltAndRestart(id, &f, down, strike, func() error { return nil })
}

// fullDisk fills node id's tmpfs: the node's next write meets ENOSPC and
// halts it. As a supervisor would (systemd's Restart=on-failure), it is
// started once more on the full disk, where it must not corrupt what it
// holds; the space comes back after down and the node restarts.
func (c *cluster) fullDisk(id int32, down time.Duration, tps []TP) (Fault, error) {
	f := c.fault(id, fmt.Sprintf("node %d: data dir full", id), tps)
	fill := filepath.Join(c.node(id).DataDir(), "chaos-fill")
	strike := func() error { return fillDisk(fill) }
	free := func() error {
		what, err := c.startOnFullDisk(id)
		f.Target += ", " + what
		return errors.Join(err, os.Remove(fill))
	}
	return f, c.haltAndRestart(id, &f, down, strike, free)
}

// startOnFullDisk starts node id on its full disk, gives it fullDiskTry
// and kills it, and says how far it got. It must halt with a line naming
// its data directory and ENOSPC, or be ready: one still running unready
// is an error (a node once waited without end for metadata its Raft
// store could not write).
func (c *cluster) startOnFullDisk(id int32) (string, error) {
	nd := c.node(id)
	if err := nd.Start(); err != nil {
		return "restart on the full disk: " + err.Error(), err
	}
	defer nd.Kill()
	select {
	case <-nd.Exited():
		what := fmt.Sprintf("restarted on the full disk and exited %d", nd.ExitCode())
		if tail := nd.Tail(5); nd.ExitCode() == 0 || !strings.Contains(tail, nd.DataDir()) ||
			!strings.Contains(tail, syscall.ENOSPC.Error()) {
			return what, fmt.Errorf("node %d on a full disk exited %d without naming %s and ENOSPC:\n%s", id, nd.ExitCode(), nd.DataDir(), tail)
		}
		return what, nil
	case <-time.After(fullDiskTry):
	}
	code, body, _ := nd.Readyz()
	what := fmt.Sprintf("restarted on the full disk and ran %v (readyz %d)", fullDiskTry, code)
	if code != http.StatusOK {
		return what, fmt.Errorf("node %d runs unready on a full disk after %v (%s):\n%s", id, fullDiskTry, body, nd.Tail(10))
	}
	return what, nil
}

// fullDiskTry is how long a node restarted on a full disk is given.
const fullDiskTry = 10 * time.Second

// haltAndRestart strikes node id's disk, waits for the node to halt, then
// heals the disk, keeps the node down for down and restarts it. A node
// that goes on running past haltWithin leads partitions it cannot write:
// an error.
func (c *cluster) haltAndRestart(id int32, f *Fault, down time.Duration, strike, heal func() error) error {
	nd := c.node(id)
	// A strike of several requests may meet a node that the first one
	// already halted: what counts is that it halts.
	err := strike()
	select {
	case <-nd.Exited():
		f.Target += fmt.Sprintf(", halted (exit %d)", nd.ExitCode())
		err = nil
		// A full disk may fail the metadata log directory (raft.db)
		// before a partition's.
		if !strings.Contains(nd.Tail(5), "log directory failed") {
			err = fmt.Errorf("node %d ended otherwise than by a failed log directory:\n%s", id, nd.Tail(5))
		}
	case <-time.After(haltWithin):
		if err == nil {
			err = fmt.Errorf("node %d still runs %v after its disk failed", id, haltWithin)
		}
	}
	nd.Kill() // a no-op but for its log file if it halted
	if herr := heal(); err == nil {
		err = herr
	}
	if err != nil {
		return err
	}
	time.Sleep(down)
	return restart(nd, f)
}

// fillDisk allocates a file at path until the file system holding it has
// no space left, in shrinking steps so that not even a page stays free.
func fillDisk(path string) error {
	file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer file.Close()
	var size int64
	for step := int64(64 << 20); step >= 4096; {
		err := syscall.Fallocate(int(file.Fd()), 0, size, step)
		switch {
		case err == nil:
			size += step
		case errors.Is(err, syscall.ENOSPC):
			step /= 2
		default:
			return fmt.Errorf("filling %s: %w", path, err)
		}
	}
	return nil
}

// jumpClock skews node id's wall clock by skew for d, then puts it back:
// records it stamps, retention, segment age and group and transaction
// expiry see the jump; its timers do not.
func (c *cluster) jumpClock(id int32, skew, d time.Duration, tps []TP) (Fault, error) {
	f := c.fault(id, fmt.Sprintf("node %d: wall clock %+v for %v", id, skew, d.Round(time.Millisecond)), tps)
	err := c.debugFor(id, d, "/debug/clock", "skew=0s", "skew="+skew.String())
	f.Healed = time.Now()
	return f, err
}
