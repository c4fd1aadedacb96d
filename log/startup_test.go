package log

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// TestGarbageProducerSnapshotRebuildsFromLog writes snapshots that once
// panicked the node at start (a null producer entry) or that lie, and
// checks the log opens, forgets the file and rebuilds the state from the
// batches it holds.
func TestGarbageProducerSnapshotRebuildsFromLog(t *testing.T) {
	for name, snap := range map[string]string{
		"a directory":    "", // unreadable: once a nil state and a panic
		"garbage":        "\x00\xffnot json",
		"null entry":     `{"offset":1,"producers":{"7":null}}`,
		"no producers":   `{"offset":1}`,
		"batch past end": `{"offset":1,"producers":{"7":{"epoch":0,"batches":[{"first_seq":0,"last_seq":0,"first_offset":5,"last_offset":9}]}}}`,
		"too many":       `{"offset":99,"producers":{"7":{"epoch":0,"batches":[{},{},{},{},{},{}]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir, DefaultConfig(), true)
			b := prototest.Plain(1, "x")
			b.ProducerID, b.ProducerEpoch, b.BaseSequence = 7, 0, 0
			mustAppend(t, l, b.Encode())
			l.closeSegments()
			path := filepath.Join(dir, producerSnapshotFile)
			var err error
			if snap == "" {
				err = os.MkdirAll(filepath.Join(path, "x"), 0o755)
			} else {
				err = os.WriteFile(path, []byte(snap), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			l = openTest(t, dir, DefaultConfig(), true)
			defer l.Close()
			if got := l.Producers(); len(got) != 1 || got[0].ID != 7 || got[0].LastSequence != 0 {
				t.Fatalf("producers after a bad snapshot: %+v, want producer 7 at sequence 0 from the log", got)
			}
		})
	}
}

// TestBadCheckpointsAreRecovered checks that unreadable leader-epoch,
// recovery-point and log-start-offset checkpoints cost a full recovery, not
// the partition.
func TestBadCheckpointsAreRecovered(t *testing.T) {
	cfg := DefaultManagerConfig()
	cfg.Dirs = []string{t.TempDir()}
	m, err := OpenManager(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	l, err := m.GetOrCreate(tp0, [16]byte{1}, cfg.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, prototest.Plain(1, "a", "b").Encode())
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{recoveryPointFile, logStartOffsetFile, filepath.Join(tp0.dirName(), leaderEpochFile)} {
		if err := os.WriteFile(filepath.Join(cfg.Dirs[0], f), []byte("0\n1\nnot numbers at all\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err = OpenManager(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if l := m.Get(tp0); l == nil || l.LogEndOffset() != 2 || m.OfflineCount() != 0 {
		t.Fatalf("after bad checkpoints: log %v, offline %d; want the log back with 2 records", l, m.OfflineCount())
	}
}

// TestUnopenablePartitionIsOffline checks that a partition whose files
// cannot be read leaves the others serving, is reported offline and is
// never replaced by a fresh empty log.
func TestUnopenablePartitionIsOffline(t *testing.T) {
	cfg := DefaultManagerConfig()
	cfg.Dirs = []string{t.TempDir()}
	bad := TopicPartition{"bad", 0}
	if err := os.MkdirAll(filepath.Join(cfg.Dirs[0], bad.dirName(), "junk.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := OpenManager(cfg, quiet)
	if err != nil {
		t.Fatalf("one bad partition failed the whole manager: %v", err)
	}
	defer m.Close()
	if m.OfflineCount() != 1 || !errors.Is(m.Offline(bad), ErrLogOffline) {
		t.Fatalf("offline count %d, Offline: %v", m.OfflineCount(), m.Offline(bad))
	}
	if _, err := m.GetOrCreate(bad, [16]byte{1}, cfg.Defaults); !errors.Is(err, ErrLogOffline) {
		t.Fatalf("GetOrCreate over an offline partition: %v, want ErrLogOffline", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dirs[0], bad.dirName(), "junk.log")); err != nil {
		t.Fatalf("offline partition's files touched: %v", err)
	}
	if _, err := m.GetOrCreate(tp0, [16]byte{1}, cfg.Defaults); err != nil {
		t.Fatalf("another partition: %v", err)
	}
}

// TestGetOrCreateAppliesTopicConfigToRecoveredLog is the restart half of
// "topic overrides apply from the first moment a log is open": a log found
// on disk starts with the broker defaults, and the first GetOrCreate gives
// it the topic's configs.
func TestGetOrCreateAppliesTopicConfigToRecoveredLog(t *testing.T) {
	cfg := DefaultManagerConfig()
	cfg.Dirs = []string{t.TempDir()}
	topic := cfg.Defaults
	topic.RetentionMs = -1
	m, err := OpenManager(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetOrCreate(tp0, [16]byte{1}, topic); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if m, err = OpenManager(cfg, quiet); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err := m.GetOrCreate(tp0, [16]byte{1}, topic)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Config().RetentionMs; got != -1 {
		t.Fatalf("retention.ms of the reopened log: %d, want the topic's -1", got)
	}
}

// TestDeleteWaitsAndStrayIsKept checks Kafka's directory lifecycle: a
// deleted partition is renamed -delete and removed only after
// log.segment.delete.delay.ms; a stray one is renamed -stray and kept.
func TestDeleteWaitsAndStrayIsKept(t *testing.T) {
	cfg := DefaultManagerConfig()
	cfg.Dirs = []string{t.TempDir()}
	cfg.Defaults.FileDeleteDelayMs = 60_000
	m, err := OpenManager(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	stray := TopicPartition{"stray", 0}
	for _, tp := range []TopicPartition{tp0, stray} {
		if _, err := m.GetOrCreate(tp, [16]byte{1}, cfg.Defaults); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Delete(tp0); err != nil {
		t.Fatal(err)
	}
	if err := m.MarkStray(stray); err != nil {
		t.Fatal(err)
	}
	glob := func(pattern string) []string {
		got, _ := filepath.Glob(filepath.Join(cfg.Dirs[0], pattern))
		return got
	}
	if len(glob("t-0.*"+deleteDirSuffix)) != 1 || len(glob("t-0")) != 0 {
		t.Fatalf("after Delete: %v, want one t-0.*-delete", glob("*"))
	}
	m.deleteDue(time.Now())
	if len(glob("t-0.*")) != 1 {
		t.Fatal("removed before log.segment.delete.delay.ms")
	}
	m.deleteDue(time.Now().Add(2 * time.Minute))
	if got := glob("*"); len(glob("t-0*")) != 0 || len(glob("stray-0.*"+strayDirSuffix)) != 1 {
		t.Fatalf("after the delay: %v, want t-0 gone and stray-0.*-stray kept", got)
	}
	for _, p := range glob("*") {
		if strings.HasSuffix(p, strayDirSuffix) {
			if _, err := os.Stat(filepath.Join(p, segmentName(0)+".log")); err != nil {
				t.Fatalf("stray directory lost its contents: %v", err)
			}
		}
	}
}

// TestRetentionKeepsDeletedSegmentsForTheDelay checks
// log.segment.delete.delay.ms: retention renames a segment's files
// .deleted, removes them only once the delay has passed, and a restart
// removes what a stop left behind.
func TestRetentionKeepsDeletedSegmentsForTheDelay(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.SegmentBytes, cfg.RetentionBytes, cfg.FileDeleteDelayMs = 200, 400, 60000
	l := openTest(t, dir, cfg, true)
	for range 30 {
		mustAppend(t, l, prototest.Plain(time.Now().UnixMilli(), "0123456789012345678901234567890123456789").Encode())
	}
	if n, err := l.DeleteOldSegments(time.Now()); err != nil || n == 0 {
		t.Fatalf("retention deleted %d segments: %v", n, err)
	}
	deleted, _ := filepath.Glob(filepath.Join(dir, "*.log"+deletedSuffix))
	if len(deleted) == 0 {
		t.Fatal("retention removed segment files at once, not renamed .deleted")
	}
	l.RemoveDeleted(time.Now())
	if still, _ := filepath.Glob(filepath.Join(dir, "*"+deletedSuffix)); len(still) < len(deleted) {
		t.Fatal(".deleted files removed before the delay")
	}
	l.RemoveDeleted(time.Now().Add(time.Minute))
	if still, _ := filepath.Glob(filepath.Join(dir, "*"+deletedSuffix)); len(still) != 0 {
		t.Fatalf("after the delay: %v", still)
	}
	mustAppend(t, l, prototest.Plain(time.Now().UnixMilli(), strings.Repeat("x", 300)).Encode())
	l.DeleteOldSegments(time.Now())
	if left, _ := filepath.Glob(filepath.Join(dir, "*"+deletedSuffix)); len(left) == 0 {
		t.Fatal("nothing left .deleted for the restart to remove")
	}
	l.Close()
	openTest(t, dir, cfg, true).Close()
	if still, _ := filepath.Glob(filepath.Join(dir, "*"+deletedSuffix)); len(still) != 0 {
		t.Fatalf("a restart kept %v", still)
	}
}

// TestGarbageIndexIsRebuiltWithWarning overwrites a cleanly closed
// segment's .index with entries past the log: the log must come back
// whole, rebuilt from the records, saying so at WARN.
func TestGarbageIndexIsRebuiltWithWarning(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, DefaultConfig(), true)
	for range 5 {
		mustAppend(t, l, prototest.Plain(1, "a", "b").Encode())
	}
	ixPath := l.active().indexPath()
	l.Close()
	if err := os.WriteFile(ixPath, []byte("\x00\x00\x00\x01\xff\xff\xff\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	l, err := openLog(osFS{}, newFileCache(2), dir, tp0, [16]byte{1}, DefaultConfig(), openState{clean: true}, slog.New(slog.NewTextHandler(&out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.LogEndOffset() != 10 {
		t.Fatalf("log end %d after a garbage index, want 10", l.LogEndOffset())
	}
	if r, err := l.Read(4, 1<<20, 10, true); err != nil || len(offsetsIn(t, r.Records)) == 0 {
		t.Fatalf("read through the rebuilt index: %v", err)
	}
	if !strings.Contains(out.String(), "level=WARN") || !strings.Contains(out.String(), "index") {
		t.Fatalf("no WARN about the index:\n%s", out.String())
	}
}
