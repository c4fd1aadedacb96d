package log

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

// txnBatch is a transactional batch of n records from producer pid.
func txnBatch(pid int64, epoch int16, seq int32, n int) []byte {
	b := prototest.Plain(1, make([]string, n)...)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = pid, epoch, seq, true
	return b.Encode()
}

func appendMarker(t testing.TB, l *Log, pid int64, epoch int16, commit bool) (AppendResult, error) {
	t.Helper()
	return l.Append(protocol.EndTxnMarker(pid, epoch, commit, 0, time.Now().UnixMilli()),
		AppendOptions{AssignOffsets: true, Origin: OriginCoordinator})
}

func mustMarker(t testing.TB, l *Log, pid int64, epoch int16, commit bool) int64 {
	t.Helper()
	res, err := appendMarker(t, l, pid, epoch, commit)
	if err != nil {
		t.Fatalf("marker for %d: %v", pid, err)
	}
	return res.FirstOffset
}

// firstUnstable is the log's first unstable offset with every marker
// replicated: the high watermark at the log end.
func firstUnstable(l *Log) int64 {
	if fuo, ok := l.FirstUnstableOffset(l.LogEndOffset()); ok {
		return fuo
	}
	return -1
}

// TestTransactionsInTheLog runs two interleaved transactions, one aborted
// and one committed, and checks the first unstable offset, the abort
// index, the producer list and the marker rules on the way.
func TestTransactionsInTheLog(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	mustAppend(t, l, prototest.Plain(1, "plain").Encode()) // 0
	if fuo := firstUnstable(l); fuo != -1 {
		t.Fatalf("first unstable %d with no transaction", fuo)
	}
	mustAppend(t, l, txnBatch(10, 0, 0, 2)) // 1-2: producer 10 opens at 1
	mustAppend(t, l, txnBatch(11, 0, 0, 1)) // 3: producer 11 opens at 3
	mustAppend(t, l, txnBatch(10, 0, 2, 1)) // 4
	if fuo := firstUnstable(l); fuo != 1 {
		t.Fatalf("first unstable %d, want 1", fuo)
	}
	// Clients never write markers; an idempotent write of a producer
	// inside its transaction is refused.
	if _, err := l.Append(protocol.EndTxnMarker(10, 0, false, 0, 1), AppendOptions{AssignOffsets: true}); protocol.Code(err) != protocol.InvalidRecord {
		t.Fatalf("client marker: %v, want INVALID_RECORD", err)
	}
	plain10 := prototest.Plain(1, "x")
	plain10.ProducerID, plain10.ProducerEpoch, plain10.BaseSequence = 10, 0, 3
	if _, err := l.Append(plain10.Encode(), AppendOptions{AssignOffsets: true}); protocol.Code(err) != protocol.InvalidTxnState {
		t.Fatalf("non-transactional write in a transaction: %v, want INVALID_TXN_STATE", err)
	}
	if abortAt := mustMarker(t, l, 10, 0, false); abortAt != 5 {
		t.Fatalf("abort marker at %d, want 5", abortAt)
	}
	// Producer 11's transaction from 3 is still open: the entry's last
	// stable offset is 3, and so is the first unstable offset.
	want := []AbortedTxn{{ProducerID: 10, FirstOffset: 1, LastOffset: 5, LastStableOffset: 3}}
	if got := l.AbortedTransactions(0, 6); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted %+v, want %+v", got, want)
	}
	if fuo := firstUnstable(l); fuo != 3 {
		t.Fatalf("first unstable %d, want 3", fuo)
	}
	if got := l.AbortedTransactions(6, 10); len(got) != 0 {
		t.Fatalf("aborted after the marker: %+v", got)
	}
	if got := l.AbortedTransactions(0, 1); len(got) != 0 {
		t.Fatalf("aborted below the transaction: %+v", got)
	}
	// KIP-890 part 2: the marker bumps the epoch; the older epoch's marker
	// is fenced afterwards.
	mustMarker(t, l, 11, 1, true) // 6
	if fuo := firstUnstable(l); fuo != -1 {
		t.Fatalf("first unstable %d after both markers", fuo)
	}
	if _, err := appendMarker(t, l, 11, 0, false); protocol.Code(err) != protocol.InvalidProducerEpoch {
		t.Fatalf("old-epoch marker: %v, want INVALID_PRODUCER_EPOCH", err)
	}
	if _, err := l.Append(txnBatch(11, 1, 0, 1), AppendOptions{AssignOffsets: true}); err != nil {
		t.Fatalf("next transaction at the bumped epoch from sequence 0: %v", err)
	}
	infos := l.Producers()
	if len(infos) != 2 || infos[0].CurrentTxnStartOffset != -1 || infos[1].Epoch != 1 || infos[1].CurrentTxnStartOffset != 7 {
		t.Fatalf("producers %+v", infos)
	}
}

// TestStableOnlyOnceTheMarkerIsReplicated: a transaction's marker makes
// it stable only once the high watermark passes the marker, as Kafka's
// ProducerStateManager keeps completed transactions unreplicated until
// then.
func TestStableOnlyOnceTheMarkerIsReplicated(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	mustAppend(t, l, txnBatch(10, 0, 0, 2)) // 0-1: producer 10 opens at 0
	mustAppend(t, l, txnBatch(11, 0, 0, 1)) // 2: producer 11 opens at 2
	mustMarker(t, l, 10, 0, true)           // 3
	fuo := func(hw int64) int64 {
		if off, ok := l.FirstUnstableOffset(hw); ok {
			return off
		}
		return -1
	}
	for _, c := range []struct{ hw, want int64 }{{0, 0}, {3, 0}, {4, 2}} {
		if got := fuo(c.hw); got != c.want {
			t.Fatalf("high watermark %d: first unstable %d, want %d", c.hw, got, c.want)
		}
	}
	mustMarker(t, l, 11, 0, false) // 4
	for _, c := range []struct{ hw, want int64 }{{3, 0}, {4, 2}, {5, -1}} {
		if got := fuo(c.hw); got != c.want {
			t.Fatalf("both markers written, high watermark %d: first unstable %d, want %d", c.hw, got, c.want)
		}
	}
	l.OnHighWatermarkUpdated(4)
	if n := len(l.producers.unreplicated); n != 1 {
		t.Fatalf("%d unreplicated transactions after the high watermark passed 3, want 1", n)
	}
	if got := fuo(4); got != 2 {
		t.Fatalf("after the high watermark passed the first marker: first unstable %d, want 2", got)
	}
}

// An epoch that came with a marker (a coordinator fencing its producer on
// a timeout, or KIP-890's bump at every transaction's end) starts at
// sequence 0, as Kafka's ProducerAppendInfo.checkSequence has it: a later
// sequence means the epoch's first batch is missing (the producer's
// request for it failed), and is OUT_OF_ORDER_SEQUENCE_NUMBER.
func TestFirstSequenceOfAMarkersEpoch(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	mustAppend(t, l, txnBatch(10, 0, 0, 3)) // 0-2
	mustMarker(t, l, 10, 1, false)          // 3: aborted with the epoch bumped
	if _, err := l.Append(txnBatch(10, 1, 3, 1), AppendOptions{AssignOffsets: true}); protocol.Code(err) != protocol.OutOfOrderSequenceNumber {
		t.Fatalf("epoch 1 from sequence 3: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", err)
	}
	if _, err := l.Append(txnBatch(10, 1, 0, 1), AppendOptions{AssignOffsets: true}); err != nil {
		t.Fatalf("epoch 1 from sequence 0: %v", err)
	}
}

// TestTxnIndexFileAndRestart checks the .txnindex bytes written at roll
// (Kafka's 34-byte entries), and that a clean restart, a crash and a torn
// tail each bring back the same open transaction and abort index.
func TestTxnIndexFileAndRestart(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, DefaultConfig(), true)
	mustAppend(t, l, txnBatch(7, 0, 0, 2)) // 0-1
	mustMarker(t, l, 7, 0, false)          // 2
	if err := l.roll(l.logEndOffset()); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, segmentName(0)+".txnindex"))
	wantHex := "0000" + "0000000000000007" + "0000000000000000" + "0000000000000002" + "0000000000000003"
	if hex.EncodeToString(got) != wantHex {
		t.Fatalf(".txnindex %x, want %s", got, wantHex)
	}
	mustAppend(t, l, txnBatch(8, 0, 0, 1)) // 3: open across restarts
	mustAppend(t, l, txnBatch(9, 0, 0, 1)) // 4
	mustMarker(t, l, 9, 0, false)          // 5
	wantAborted := []AbortedTxn{{7, 0, 2, 3}, {9, 4, 5, 3}}
	check := func(what string, l *Log) {
		t.Helper()
		if fuo := firstUnstable(l); fuo != 3 {
			t.Fatalf("%s: first unstable %d, want 3", what, fuo)
		}
		if got := l.AbortedTransactions(0, 100); !reflect.DeepEqual(got, wantAborted) {
			t.Fatalf("%s: aborted %+v, want %+v", what, got, wantAborted)
		}
	}
	check("live", l)
	l.Close()
	l = openTest(t, dir, DefaultConfig(), true)
	check("clean restart", l)
	l.closeSegments() // a crash: no snapshot, the active segment recovered
	l = openTest(t, dir, DefaultConfig(), false)
	check("crash", l)
	// A torn marker at the tail: producer 9's transaction is open again
	// and its abort is gone from the index.
	mustMarker(t, l, 8, 0, true) // 6
	active := l.active().logPath()
	l.closeSegments()
	st, _ := os.Stat(active)
	if err := os.Truncate(active, st.Size()-5); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, DefaultConfig(), false)
	defer l.Close()
	check("torn marker", l)
	if leo := l.LogEndOffset(); leo != 6 {
		t.Fatalf("log end %d after the torn marker, want 6", leo)
	}
}

// TestTruncationReopensTransactions cuts a marker off, as a follower does
// when its leader never wrote it: the transaction is open again and its
// abort entry gone.
func TestTruncationReopensTransactions(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	mustAppend(t, l, txnBatch(7, 0, 0, 2)) // 0-1
	mustMarker(t, l, 7, 0, false)          // 2
	mustAppend(t, l, txnBatch(8, 0, 0, 1)) // 3
	if err := l.TruncateTo(2); err != nil {
		t.Fatal(err)
	}
	if fuo := firstUnstable(l); fuo != 0 {
		t.Fatalf("first unstable %d, want 0 (the cut marker's transaction)", fuo)
	}
	if got := l.AbortedTransactions(0, 100); len(got) != 0 {
		t.Fatalf("abort of a cut marker still indexed: %+v", got)
	}
	if infos := l.Producers(); len(infos) != 1 || infos[0].ID != 7 || infos[0].CurrentTxnStartOffset != 0 {
		t.Fatalf("producers %+v, want 7 with its transaction open", infos)
	}
	if err := l.TruncateTo(0); err != nil {
		t.Fatal(err)
	}
	if fuo := firstUnstable(l); fuo != -1 || len(l.Producers()) != 0 {
		t.Fatalf("empty log: first unstable %d, producers %+v", fuo, l.Producers())
	}
}

// TestRetentionStopsAtOpenTransaction: retention.bytes would delete every
// inactive segment, but not one that holds the open transaction's start.
func TestRetentionStopsAtOpenTransaction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RetentionBytes, cfg.SegmentBytes = 0, 1
	l := openTest(t, t.TempDir(), cfg, true)
	defer l.Close()
	mustAppend(t, l, prototest.Plain(1, "a").Encode()) // 0
	mustAppend(t, l, txnBatch(7, 0, 0, 1))             // 1: open
	mustAppend(t, l, prototest.Plain(1, "b").Encode()) // 2
	mustAppend(t, l, prototest.Plain(1, "c").Encode()) // 3
	if _, err := l.DeleteOldSegments(time.Now()); err != nil {
		t.Fatal(err)
	}
	if start := l.LogStartOffset(); start != 1 {
		t.Fatalf("log start %d, want 1: the open transaction's segment stays", start)
	}
	mustMarker(t, l, 7, 0, true) // 4
	if _, err := l.DeleteOldSegments(time.Now()); err != nil {
		t.Fatal(err)
	}
	if start := l.LogStartOffset(); start != 4 {
		t.Fatalf("log start %d after the commit, want 4", start)
	}
}

// TestProducerSnapshotRoundTrip: the snapshot keeps the open transaction
// and the coordinator epoch, and a version 0 snapshot (before
// transactions) reads as none open.
func TestProducerSnapshotRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), producerSnapshotFile)
	ps := newProducerState()
	for _, h := range []protocol.BatchHeader{
		{BaseOffset: 0, ProducerID: 3, BaseSequence: 0, Attributes: protocol.AttrTransactional},
		{BaseOffset: 1, ProducerID: 4, BaseSequence: 0},
	} {
		ps.update(&h)
	}
	if err := ps.save(osFS{}, path, 2); err != nil {
		t.Fatal(err)
	}
	back, offset, err := loadProducerSnapshot(osFS{}, path)
	if err != nil || offset != 2 || !reflect.DeepEqual(back, ps) {
		t.Fatalf("round trip: %+v %d %v, want %+v", back, offset, err, ps)
	}
	v0 := `{"offset":5,"producers":{"3":{"epoch":0,"batches":[]}}}`
	back, _, err = parseProducerSnapshot([]byte(v0))
	if err != nil || back.producers[3].TxnFirstOffset != -1 || len(back.ongoing) != 0 {
		t.Fatalf("version 0: %+v %v", back, err)
	}
	for name, bad := range map[string]string{
		"txn past offset": `{"version":1,"offset":5,"last_marker":-1,"producers":{"3":{"epoch":0,"current_txn_first_offset":5}}}`,
		"marker past":     `{"version":1,"offset":5,"last_marker":9,"producers":{}}`,
		"future version":  `{"version":2,"offset":5,"last_marker":-1,"producers":{}}`,
	} {
		if _, _, err := parseProducerSnapshot([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestTxnIndexHostileFiles: wrong sizes and garbage entries are a clear
// error, and a segment whose .txnindex is garbage gets it back from the
// log.
func TestTxnIndexHostileFiles(t *testing.T) {
	good := encodeTxnIndex([]AbortedTxn{{1, 10, 12, 13}, {2, 11, 14, 15}})
	if got, err := parseTxnIndex(good, 10); err != nil || len(got) != 2 {
		t.Fatalf("good index: %+v %v", got, err)
	}
	for name, b := range map[string][]byte{
		"short":        good[:33],
		"version":      append([]byte{0, 1}, good[2:34]...),
		"out of order": encodeTxnIndex([]AbortedTxn{{1, 10, 14, 15}, {2, 11, 12, 13}}),
		"before base":  encodeTxnIndex([]AbortedTxn{{1, 0, 5, 6}}),
		"inverted":     encodeTxnIndex([]AbortedTxn{{1, 13, 12, 13}}),
		"negative pid": encodeTxnIndex([]AbortedTxn{{-1, 10, 12, 13}}),
	} {
		if _, err := parseTxnIndex(b, 10); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	dir := t.TempDir()
	l := openTest(t, dir, DefaultConfig(), true)
	mustAppend(t, l, txnBatch(7, 0, 0, 1))
	mustMarker(t, l, 7, 0, false)
	l.Close()
	if err := os.WriteFile(filepath.Join(dir, segmentName(0)+".txnindex"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, DefaultConfig(), true)
	defer l.Close()
	if got := l.AbortedTransactions(0, 10); !reflect.DeepEqual(got, []AbortedTxn{{7, 0, 1, 2}}) {
		t.Fatalf("rebuilt index %+v", got)
	}
}

// FuzzTxnIndex feeds hostile .txnindex bytes: an error or entries that
// keep the index's rules, never a panic.
func FuzzTxnIndex(f *testing.F) {
	f.Add(encodeTxnIndex([]AbortedTxn{{1, 10, 12, 13}, {2, 11, 14, 15}}), int64(10))
	f.Add([]byte("garbage"), int64(0))
	f.Add(make([]byte, 68), int64(-1))
	f.Fuzz(func(t *testing.T, b []byte, base int64) {
		got, err := parseTxnIndex(b, base)
		if err != nil {
			return
		}
		for i, e := range got {
			if e.LastOffset < e.FirstOffset || e.LastOffset < base || i > 0 && e.LastOffset <= got[i-1].LastOffset {
				t.Fatalf("accepted entry %d: %+v", i, e)
			}
		}
		if again := encodeTxnIndex(got); string(again) != string(b) {
			t.Fatalf("round trip differs")
		}
	})
}

// TestCompactDropsAbortedTransactions: the cleaner removes an aborted
// transaction's records (which supersede nothing), keeps committed ones and
// every marker, and cleans nothing at or past an open transaction.
func TestCompactDropsAbortedTransactions(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CleanupPolicy, cfg.SegmentBytes, cfg.MinCleanableDirtyRatio = "compact", 1, 0
	l := openTest(t, t.TempDir(), cfg, true)
	defer l.Close()
	one := func(pid int64, v string) []byte { // key k0
		b := prototest.Plain(1, v)
		b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = pid, 0, 0, pid >= 0
		return b.Encode()
	}
	mustAppend(t, l, one(-1, "old"))    // 0
	mustAppend(t, l, one(7, "aborted")) // 1
	mustMarker(t, l, 7, 0, false)       // 2
	mustAppend(t, l, one(8, "open"))    // 3: open, so 3 on is not cleaned
	mustAppend(t, l, one(-1, "later"))  // 4
	mustAppend(t, l, one(-1, "active")) // 5
	if _, err := l.Compact(time.Now()); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, l)
	want := map[int64]string{0: "k0=old", 3: "k0=open", 4: "k0=later", 5: "k0=active"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after compaction %v, want %v", got, want)
	}
	if res, err := l.Read(2, 1<<20, 3, true); err != nil || len(res.Records) == 0 {
		t.Fatalf("the abort marker at 2 is gone: %v", err)
	}
	mustMarker(t, l, 8, 0, true) // 6: now 0-5 are decided
	if _, err := l.Compact(time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l); !reflect.DeepEqual(got, map[int64]string{5: "k0=active"}) {
		t.Fatalf("after the commit %v, want only the newest k0", got)
	}
	if got := markersIn(t, l); !reflect.DeepEqual(got, []int64{2, 6}) {
		t.Fatalf("markers %v before delete.retention.ms, want 2 and 6", got)
	}
	// Once delete.retention.ms has passed, a marker whose transaction
	// has no batch left goes, and an abort's index entry with it; the
	// commit at 6 is in the active segment until another batch comes.
	l.cfg.DeleteRetentionMs = 0
	if _, err := l.Compact(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := markersIn(t, l); !reflect.DeepEqual(got, []int64{6}) {
		t.Fatalf("markers %v, want only the commit at 6", got)
	}
	if got := l.AbortedTransactions(0, 100); len(got) != 0 {
		t.Fatalf("index entries of a dropped abort marker: %+v", got)
	}
	mustAppend(t, l, one(-1, "last")) // 7
	if _, err := l.Compact(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := markersIn(t, l); len(got) != 0 {
		t.Fatalf("markers %v, want none: no batch of their transactions is left", got)
	}
}

// TestCompactKeepsMarkersOfLiveData: a marker stays while a batch of its
// transaction does, whatever its age: the committed batch at 0 holds the
// newest value of its key.
func TestCompactKeepsMarkersOfLiveData(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CleanupPolicy, cfg.SegmentBytes, cfg.MinCleanableDirtyRatio, cfg.DeleteRetentionMs = "compact", 1, 0, 0
	l := openTest(t, t.TempDir(), cfg, true)
	defer l.Close()
	other := func(v string) []byte {
		return protocol.BuildBatch(time.Now().UnixMilli(), []protocol.KV{{Key: []byte("x"), Value: []byte(v)}})
	}
	mustAppend(t, l, txnBatch(7, 0, 0, 1)) // 0: k0
	mustMarker(t, l, 7, 0, true)           // 1
	mustAppend(t, l, other("a"))           // 2
	mustAppend(t, l, other("b"))           // 3: supersedes 2; active
	for range 2 {
		if _, err := l.Compact(time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := markersIn(t, l); !reflect.DeepEqual(got, []int64{1}) {
			t.Fatalf("markers %v, want the commit at 1 while its batch at 0 stays", got)
		}
	}
	if got := readAll(t, l); got[0] != "k0=" {
		t.Fatalf("after compaction %v, want the committed k0 at 0 kept", got)
	}
}

// markersIn lists the offsets of the control batches in l.
func markersIn(t *testing.T, l *Log) []int64 {
	t.Helper()
	var out []int64
	for _, s := range l.segments {
		if _, err := s.scan(0, s.size, func(h *protocol.BatchHeader, _ []byte, _ int64) error {
			if h.IsControl() {
				out = append(out, h.BaseOffset)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestCoordinatorTxnBatchSnapshot: a coordinator's transactional batch
// (TxnOffsetCommit: no sequence) opens a transaction that the clean-close
// snapshot keeps and reads back without falling back to a replay.
func TestCoordinatorTxnBatchSnapshot(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, DefaultConfig(), true)
	mustAppend(t, l, txnBatch(7, 2, -1, 1))
	l.Close()
	if _, offset, err := loadProducerSnapshot(osFS{}, filepath.Join(dir, producerSnapshotFile)); err != nil || offset != 1 {
		t.Fatalf("snapshot: offset %d, %v", offset, err)
	}
	l = openTest(t, dir, DefaultConfig(), true)
	defer l.Close()
	if fuo := firstUnstable(l); fuo != 0 {
		t.Fatalf("first unstable %d after restart, want 0", fuo)
	}
}

// TestVerificationGuard (KIP-890 part 1): a batch verified before a marker
// came in (the coordinator aborting on a timeout) must not open a
// transaction; one verified with nothing in between does, and a producer
// with its transaction open needs no verification.
func TestVerificationGuard(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	guarded := func(seq int32, guard uint64) error {
		_, err := l.Append(txnBatch(7, 0, seq, 1), AppendOptions{AssignOffsets: true, VerificationGuard: guard})
		return err
	}
	late := l.StartVerification(7, 0, false)
	mustMarker(t, l, 7, 0, false) // the coordinator aborts meanwhile
	if err := guarded(0, late); protocol.Code(err) != protocol.InvalidTxnState {
		t.Fatalf("batch verified before the abort: %v, want INVALID_TXN_STATE", err)
	}
	if fuo := firstUnstable(l); fuo != -1 {
		t.Fatalf("a late batch opened a transaction at %d", fuo)
	}
	g := l.StartVerification(7, 0, false)
	if g == 0 || g == late {
		t.Fatalf("fresh guard %d (the void one was %d)", g, late)
	}
	if err := guarded(0, g); err != nil {
		t.Fatalf("verified batch: %v", err)
	}
	if again := l.StartVerification(7, 0, false); again != 0 {
		t.Fatalf("guard %d for a producer with its transaction open, want 0", again)
	}
}

// TestVerificationAcrossEpochBump (KIP-890 part 2): a producer's first
// batch of its next transaction, one epoch up, comes while the marker of
// its previous transaction is still on its way. The open transaction is
// not the batch's, so it is verified; the marker, which carries the new
// epoch, leaves its guard standing, and the batch opens a transaction of
// its own instead of joining the one the marker closed.
func TestVerificationAcrossEpochBump(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultConfig(), true)
	defer l.Close()
	mustAppend(t, l, txnBatch(7, 0, 0, 1)) // 0: the previous transaction
	g := l.StartVerification(7, 1, true)
	if g == 0 {
		t.Fatal("a batch of epoch 1 skipped verification: it would join the transaction of epoch 0")
	}
	marker := mustMarker(t, l, 7, 1, true) // 1: commits epoch 0's, bumped to 1
	res, err := l.Append(txnBatch(7, 1, 0, 1), AppendOptions{AssignOffsets: true, VerificationGuard: g})
	if err != nil {
		t.Fatalf("the next transaction's batch, verified across the marker: %v", err)
	}
	if fuo := firstUnstable(l); fuo != res.FirstOffset || res.FirstOffset <= marker {
		t.Fatalf("first unstable offset %d, want the new transaction's first batch at %d, after the marker at %d", fuo, res.FirstOffset, marker)
	}

	// Without the epoch bump (KIP-890 part 1 only) the same marker voids
	// the guard: the coordinator ended what the batch was verified for.
	mustMarker(t, l, 7, 1, false)
	old := l.StartVerification(7, 2, false)
	mustMarker(t, l, 7, 2, false)
	if _, err := l.Append(txnBatch(7, 2, 0, 1), AppendOptions{AssignOffsets: true, VerificationGuard: old}); protocol.Code(err) != protocol.InvalidTxnState {
		t.Fatalf("a part-1 batch verified before a marker of its epoch: %v, want INVALID_TXN_STATE", err)
	}
}

// TestSnapshotAfterUncleanShutdown: a snapshot left by a log that closed
// while the broker did not finish its clean shutdown covers segments that
// are recovered at the next open; their aborts come back all the same.
func TestSnapshotAfterUncleanShutdown(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, DefaultConfig(), true)
	mustAppend(t, l, txnBatch(7, 0, 0, 1))
	mustMarker(t, l, 7, 0, false)
	mustAppend(t, l, txnBatch(8, 0, 0, 1)) // 2: open
	l.Close()                              // snapshot at 3
	l = openTest(t, dir, DefaultConfig(), false)
	defer l.Close()
	if got := l.AbortedTransactions(0, 10); !reflect.DeepEqual(got, []AbortedTxn{{7, 0, 1, 2}}) {
		t.Fatalf("aborted %+v after an unclean open with a snapshot", got)
	}
	if fuo := firstUnstable(l); fuo != 2 {
		t.Fatalf("first unstable %d, want 2", fuo)
	}
}
