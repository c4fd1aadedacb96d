package log

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

// noSyncFS is the OS's file system without fsync, for tests that roll
// thousands of segments on a shared disk and never lose power.
type noSyncFS struct{ osFS }

type noSyncFile struct{ File }

func (noSyncFile) Sync() error { return nil }

func (noSyncFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := osFS{}.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

// memTempDir is a temporary directory in memory (/dev/shm) where there is
// one, for tests that create thousands of files and test no disk.
func memTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "gokafka-log-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

// valueBatch is one record whose value names where it belongs.
func valueBatch(v string) []byte { return prototest.Plain(1_700_000_000_000, v).Encode() }

// valueAt reads the record at offset and returns its value.
func valueAt(l *Log, offset int64) (string, error) {
	res, err := l.Read(offset, 1<<20, l.LogEndOffset(), true)
	if err != nil {
		return "", err
	}
	_, batch, _, err := protocol.NextBatch(res.Records)
	if err != nil {
		return "", fmt.Errorf("offset %d: %w", offset, err)
	}
	rs, err := protocol.Records(batch)
	if err != nil || len(rs) != 1 {
		return "", fmt.Errorf("offset %d: %d records, %v", offset, len(rs), err)
	}
	return string(rs[0].Value), nil
}

// TestSegmentFilesBounded opens 2,000 partitions of three segments each
// with log.segment.fd.cache.size=100: at most 100 segment files are held
// (there were 6,000 before the cache), while reading every segment of
// every partition returns the right records, after a restart too. Under
// the race detector it runs a tenth of that.
func TestSegmentFilesBounded(t *testing.T) {
	partitions, segments, cacheSize := 2000, 3, 100
	if raceDetector {
		partitions, cacheSize = 200, 10
	}
	cfg := DefaultManagerConfig()
	cfg.Dirs = []string{memTempDir(t)}
	cfg.FS = noSyncFS{}
	cfg.SegmentFileCacheSize = cacheSize
	cfg.Defaults.SegmentBytes = 14 // one batch a segment
	before := openFDs(t)
	m, err := OpenManager(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for p := range partitions {
		l, err := m.GetOrCreate(TopicPartition{Topic: "fd", Partition: int32(p)}, [16]byte{1}, cfg.Defaults)
		if err != nil {
			t.Fatal(err)
		}
		for s := range segments {
			mustAppend(t, l, valueBatch(fmt.Sprintf("%d/%d", p, s)))
		}
		if l.NumSegments() != segments {
			t.Fatalf("partition %d has %d segments", p, l.NumSegments())
		}
	}
	check := func(what string) {
		t.Helper()
		for p := range partitions {
			l := m.Get(TopicPartition{Topic: "fd", Partition: int32(p)})
			for s := range int64(segments) {
				if v, err := l.Read(s, 1<<20, l.LogEndOffset(), true); err != nil || len(v.Records) == 0 {
					t.Fatalf("%s: partition %d offset %d: %v", what, p, s, err)
				}
				if v, err := valueAt(l, s); err != nil || v != fmt.Sprintf("%d/%d", p, s) {
					t.Fatalf("%s: partition %d offset %d holds %q, %v", what, p, s, v, err)
				}
			}
		}
		held, st := openFDs(t)-before, m.SegmentFiles()
		t.Logf("%s: %d descriptors held, %+v", what, held, st)
		// The directory lock and a few of the runtime's come on top.
		if limit := cacheSize + 20; held > limit || st.Open > cacheSize {
			t.Fatalf("%s: %d descriptors held, %d segment files open; want at most %d", what, held, st.Open, limit)
		}
		if st.Evicted == 0 || st.Opens < int64(partitions*segments) {
			t.Fatalf("%s: the cache opened %d and closed %d files: segments were not opened on demand", what, st.Opens, st.Evicted)
		}
	}
	check("after appends")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if held := openFDs(t) - before; held > 5 {
		t.Fatalf("%d descriptors still held after Close", held)
	}
	if m, err = OpenManager(cfg, quiet); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	check("after a restart")
}

// TestSegmentFileCacheConcurrentReaders reads random offsets of two logs
// sharing a cache of two files from eight goroutines while an appender
// rolls one of them: every read and append succeeds, whatever the cache
// closes meanwhile (run with -race).
func TestSegmentFileCacheConcurrentReaders(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 200 // a few batches a segment
	files := newFileCache(2)
	var logs []*Log
	for i := range 2 {
		l, err := openLog(noSyncFS{}, files, t.TempDir(), TopicPartition{Topic: "c", Partition: int32(i)}, [16]byte{1}, cfg, openState{clean: true}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		for o := range 100 {
			mustAppend(t, l, valueBatch(fmt.Sprint(o)))
		}
		logs = append(logs, l)
	}
	if n := logs[0].NumSegments(); n < 20 {
		t.Fatalf("%d segments, want many", n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the appender
		defer wg.Done()
		for o := 100; o < 400; o++ {
			if _, err := logs[1].Append(valueBatch(fmt.Sprint(o)), AppendOptions{AssignOffsets: true}); err != nil {
				errs <- err
				return
			}
		}
	}()
	for r := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				o := rng.Int64N(100)
				if v, err := valueAt(logs[i%2], o); err != nil || v != fmt.Sprint(o) {
					errs <- fmt.Errorf("log %d offset %d: %q, %v", i%2, o, v, err)
					close(stop)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := files.stats(); st.Evicted == 0 || st.Open > 2 {
		t.Fatalf("cache %+v: want evictions, and at most two files open once every reader is done", st)
	}
}

// TestSegmentOpenFailureIsAStorageError removes an old segment's file
// behind the cache's back: the read that has to open it fails with an
// error that is no Kafka code of its own (the broker answers
// KAFKA_STORAGE_ERROR and counts it), the failure is counted, and the rest
// of the log reads on.
func TestSegmentOpenFailureIsAStorageError(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 14
	files := newFileCache(1)
	l, err := openLog(noSyncFS{}, files, t.TempDir(), tp0, [16]byte{1}, cfg, openState{clean: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for o := range 4 {
		mustAppend(t, l, valueBatch(fmt.Sprint(o)))
	}
	// Offsets 1 and 2 leave 0 closed: the cache holds one idle file.
	for _, o := range []int64{0, 1, 2} {
		if _, err := valueAt(l, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(l.segments[0].logPath(), l.segments[0].logPath()+".gone"); err != nil {
		t.Fatal(err)
	}
	_, err = l.Read(0, 1<<20, l.LogEndOffset(), true)
	if err == nil || errors.As(err, new(*protocol.Error)) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read of a segment that cannot be opened: %v, want the open's error", err)
	}
	if st := files.stats(); st.Failed != 1 {
		t.Fatalf("failed opens %d, want 1", st.Failed)
	}
	if v, err := valueAt(l, 3); err != nil || v != "3" {
		t.Fatalf("the active segment reads %q, %v", v, err)
	}
	mustAppend(t, l, valueBatch("4"))
}

// TestFileCacheSizeDefault: -1 is a quarter of the open-files limit, so
// that a broker uses most of what it may without running out.
func TestFileCacheSizeDefault(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skip(err)
	}
	if got, want := newFileCache(-1).limit, int(min(rl.Cur/4, math.MaxInt32)); got != want || got <= 0 {
		t.Fatalf("limit %d for ulimit -n %d, want %d", got, rl.Cur, want)
	}
	if DefaultManagerConfig().SegmentFileCacheSize != -1 || newFileCache(7).limit != 7 {
		t.Fatal("the default is not -1, or a set size is not kept")
	}
}
