package log

import (
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// idemBatch is an idempotent, non-transactional batch of n records.
func idemBatch(pid int64, epoch int16, seq int32, n int) []byte {
	b := prototest.Plain(1, make([]string, n)...)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence = pid, epoch, seq
	return b.Encode()
}

// writeProducerWorkload appends rounds of what producer state tracks:
// idempotent producers past five batches each, transactions committed and
// aborted, an epoch bump, and a transaction left open at the end, from
// producer ids pids+1 on.
func writeProducerWorkload(t testing.TB, l *Log, pids int64, rounds int) {
	t.Helper()
	seqs := map[int64]int32{}
	next := func(pid int64, n int) int32 {
		s := seqs[pid]
		seqs[pid] += int32(n)
		return s
	}
	for r := range rounds {
		for pid := pids + 1; pid <= pids+3; pid++ {
			mustAppend(t, l, idemBatch(pid, 0, next(pid, 2), 2))
		}
		mustAppend(t, l, txnBatch(pids+10, 0, next(pids+10, 3), 3))
		mustAppend(t, l, txnBatch(pids+11, 0, next(pids+11, 1), 1))
		mustMarker(t, l, pids+10, 0, r%2 == 0)
		mustMarker(t, l, pids+11, 0, r%3 != 0)
	}
	mustAppend(t, l, idemBatch(pids+4, 0, 0, 1))
	mustAppend(t, l, idemBatch(pids+4, 1, 0, 1)) // a new epoch starts at 0
	mustAppend(t, l, txnBatch(pids+12, 0, 0, 2)) // open at the crash
}

// rollingLog opens a log of 2 KiB segments holding rounds of
// writeProducerWorkload, so that it has rolled often.
func rollingLog(t testing.TB, rounds int) (*Log, string, Config) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.SegmentBytes = 2048
	dir := t.TempDir()
	l := openTest(t, dir, cfg, true)
	writeProducerWorkload(t, l, 0, rounds)
	return l, dir, cfg
}

// abandon drops a log as kill -9 would: files closed, nothing saved.
func abandon(l *Log) { l.closeSegments() }

// copyDir copies a partition directory's regular files.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rollSnapshotsIn(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+rollSnapshotSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// producerView is everything producer state decides, copied out of a log.
type producerView struct {
	Producers  string // the entries as JSON: epochs, the last five batches, open transactions
	Ongoing    map[int64]int64
	LastMarker int64
	Aborted    []AbortedTxn
}

func viewOf(t *testing.T, l *Log) producerView {
	t.Helper()
	b, err := json.Marshal(l.producers.producers)
	if err != nil {
		t.Fatal(err)
	}
	return producerView{string(b), maps.Clone(l.producers.ongoing), l.producers.lastMarker, l.AbortedTransactions(0, math.MaxInt64)}
}

// sameProducerState fails unless the log holds the producers, open
// transactions, last marker and aborted-transaction index of want.
func sameProducerState(t *testing.T, what string, got *Log, want producerView) {
	t.Helper()
	if g := viewOf(t, got); !reflect.DeepEqual(g, want) {
		t.Errorf("%s: producer state differs:\n got %+v\nwant %+v", what, g, want)
	}
}

// TestRollSnapshotRecoveryMatchesFullRebuild kills a log that rolled many
// times (no Close: no clean snapshot, no checkpoint), reopens it as after
// kill -9 with a recovery point of 0, and checks that it recovered only
// from its newest roll snapshot on, to exactly the state a replay of the
// whole log gives.
func TestRollSnapshotRecoveryMatchesFullRebuild(t *testing.T) {
	l, dir, cfg := rollingLog(t, 40)
	full := t.TempDir()
	if l.NumSegments() < 10 {
		t.Fatalf("only %d segments: the workload should roll often", l.NumSegments())
	}
	lastBase, live := l.active().base, viewOf(t, l)
	abandon(l)
	if n := len(rollSnapshotsIn(t, dir)); n != retainedRollSnapshots {
		t.Fatalf("%d roll snapshots on disk, want the newest %d", n, retainedRollSnapshots)
	}
	copyDir(t, dir, full)
	for _, p := range rollSnapshotsIn(t, full) {
		os.Remove(p)
	}

	fast := openTest(t, dir, cfg, false)
	defer fast.Close()
	rebuilt := openTest(t, full, cfg, false)
	defer rebuilt.Close()
	if fast.rollFrom != lastBase || fast.recoveredFrom != lastBase {
		t.Errorf("snapshot used from %d, recovered from %d; want both at the active segment's base %d",
			fast.rollFrom, fast.recoveredFrom, lastBase)
	}
	if rebuilt.rollFrom != -1 || rebuilt.recoveredFrom != 0 {
		t.Errorf("without snapshots: from %d, recovered from %d; want a full recovery", rebuilt.rollFrom, rebuilt.recoveredFrom)
	}
	if fast.LogEndOffset() != rebuilt.LogEndOffset() || fast.RecoveryPoint() < lastBase {
		t.Errorf("log end %d (recovery point %d), want %d (at least %d)", fast.LogEndOffset(), fast.RecoveryPoint(), rebuilt.LogEndOffset(), lastBase)
	}
	sameProducerState(t, "from the roll snapshot", fast, live)
	sameProducerState(t, "from the log start", rebuilt, live)
	if len(fast.producers.ongoing) != 1 || len(fast.AbortedTransactions(0, math.MaxInt64)) == 0 {
		t.Fatalf("the workload should leave one open transaction and some aborts: %v", fast.producers.ongoing)
	}
}

// TestRollSnapshotsFollowTruncationAndRetention checks that a truncation
// removes the snapshots past its offset (before the batches they cover),
// retention those below the new log start, and that a crash after both
// recovers the state the live log had.
func TestRollSnapshotsFollowTruncationAndRetention(t *testing.T) {
	l, dir, cfg := rollingLog(t, 30)
	cut := l.segments[len(l.segments)-2].base + 1 // inside the segment before the active one
	if err := l.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	for _, off := range l.snapshots {
		if off > cut {
			t.Fatalf("snapshot at %d survived a truncation to %d", off, cut)
		}
	}
	for _, p := range rollSnapshotsIn(t, dir) {
		if off, _ := parseRollSnapshotName(filepath.Base(p)); off > cut {
			t.Fatalf("snapshot file %s survived a truncation to %d", p, cut)
		}
	}
	writeProducerWorkload(t, l, 100, 10)
	l.SetConfig(func() Config { c := cfg; c.RetentionBytes = 4096; return c }())
	if n, err := l.DeleteOldSegments(time.Now()); err != nil || n == 0 {
		t.Fatalf("retention deleted %d segments: %v", n, err)
	}
	for _, off := range l.snapshots {
		if off < l.LogStartOffset() {
			t.Fatalf("snapshot at %d kept below the log start %d", off, l.LogStartOffset())
		}
	}
	// Producers whose batches retention deleted stay known, as in the
	// live log (and in Kafka since KIP-360): the roll snapshot keeps them.
	live := viewOf(t, l)
	abandon(l)
	fast, err := openLog(osFS{}, newFileCache(2), dir, tp0, [16]byte{1}, cfg, openState{logStartOffset: l.logStartOffset}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	if fast.rollFrom < 0 {
		t.Errorf("no roll snapshot used after truncation and retention")
	}
	sameProducerState(t, "after truncation and retention", fast, live)
}

// TestHostileRollSnapshots writes roll snapshots that lie or cannot be
// read at the newest segment base: the log opens, and rebuilds exactly
// the state a full replay gives.
func TestHostileRollSnapshots(t *testing.T) {
	for name, snap := range map[string]string{
		"garbage":        "\x00\xffnot json",
		"empty":          "",
		"null entry":     `{"version":1,"offset":1,"last_marker":-1,"producers":{"7":null}}`,
		"offset past":    `{"version":1,"offset":99999999,"last_marker":-1,"producers":{}}`,
		"txn past":       `{"version":1,"offset":5,"last_marker":-1,"producers":{"7":{"epoch":0,"batches":[],"current_txn_first_offset":9}}}`,
		"future version": `{"version":9,"offset":5,"producers":{}}`,
		"deep nesting":   strings.Repeat("[", 100000),
	} {
		t.Run(name, func(t *testing.T) {
			l, dir, cfg := rollingLog(t, 10)
			newest, live := l.snapshots[len(l.snapshots)-1], viewOf(t, l)
			abandon(l)
			if err := os.WriteFile(rollSnapshotPath(dir, newest), []byte(snap), 0o644); err != nil {
				t.Fatal(err)
			}
			got := openTest(t, dir, cfg, false)
			defer got.Close()
			sameProducerState(t, "after a hostile snapshot", got, live)
		})
	}
}

// FuzzRollSnapshot opens a log whose newest roll snapshot holds the fuzzed
// bytes: the open never fails or panics on them, the log's offsets are
// not its to change, and appends still apply the producer rules.
func FuzzRollSnapshot(f *testing.F) {
	l, seed, cfg := rollingLog(f, 8)
	newest, end := l.snapshots[len(l.snapshots)-1], l.LogEndOffset()
	abandon(l)
	good, err := os.ReadFile(rollSnapshotPath(seed, newest))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"offset":3,"last_marker":2,"producers":{"7":{"epoch":0,"batches":[{"first_seq":0,"last_seq":0,"first_offset":0,"last_offset":0}],"current_txn_first_offset":-1}}}`))
	f.Add([]byte(`{"version":0,"offset":1,"producers":{}}`))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		copyDir(t, seed, dir)
		if err := os.WriteFile(rollSnapshotPath(dir, newest), b, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := openLog(noSyncFS{}, newFileCache(2), dir, tp0, [16]byte{1}, cfg, openState{}, quiet)
		if err != nil {
			t.Fatalf("open with a hostile snapshot: %v", err)
		}
		defer abandon(got) // Close would fsync: too slow per input
		// The log itself is never touched by what the snapshot says.
		if got.LogEndOffset() != end {
			t.Fatalf("log end %d", got.LogEndOffset())
		}
		// Appending still applies the producer rules without a panic.
		got.Append(idemBatch(7, 0, 1, 1), AppendOptions{AssignOffsets: true})
		got.Append(txnBatch(12, 0, 2, 1), AppendOptions{AssignOffsets: true})
	})
}

// FuzzRollSnapshotName feeds file names: whatever a log directory holds,
// a name taken for a roll snapshot is exactly the one its offset gives,
// so that prune and truncation remove the file that was read.
func FuzzRollSnapshotName(f *testing.F) {
	f.Add("00000000000000000042.producer-state.json")
	f.Add("+0000000000000000042.producer-state.json")
	f.Add("-0000000000000000042.producer-state.json")
	f.Add("99999999999999999999.producer-state.json")
	f.Add("producer-state.json")
	f.Fuzz(func(t *testing.T, name string) {
		off, ok := parseRollSnapshotName(name)
		if ok && (off < 0 || filepath.Base(rollSnapshotPath("d", off)) != name) {
			t.Fatalf("%q taken for offset %d", name, off)
		}
	})
}

// TestReplayOfLargeBatches replays producer state over batches larger
// than the replay's read buffer, between markers and small batches: the
// walk seeks past them and still applies every header and marker.
func TestReplayOfLargeBatches(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, DefaultConfig(), true)
	big := strings.Repeat("x", 100<<10)
	for i := range 6 {
		b := prototest.Plain(1, big)
		b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = 7, 0, int32(i), i%2 == 0
		mustAppend(t, l, b.Encode())
		mustAppend(t, l, idemBatch(8, 0, int32(i), 1))
		if i%2 == 0 {
			mustMarker(t, l, 7, 0, i%4 == 0)
		}
	}
	live := viewOf(t, l)
	abandon(l)
	again := openTest(t, dir, DefaultConfig(), false)
	defer again.Close()
	sameProducerState(t, "replayed over large batches", again, live)
}
