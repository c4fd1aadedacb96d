package log

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// batchOf returns a batch of n records of size bytes each.
func batchOf(n, size int) []byte {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = strings.Repeat("v", size)
	}
	return prototest.Plain(1_700_000_000_000, vals...).Encode()
}

// BenchmarkAppend measures the produce path below the network: validate
// the batch, assign offsets, write it and index it.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("10x%dB", size), func(b *testing.B) {
			l := openTest(b, b.TempDir(), DefaultConfig(), false)
			defer l.Close()
			batch := batchOf(10, size)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Append(batch, AppendOptions{LeaderEpoch: 1, AssignOffsets: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRead measures the fetch path below the network: locate the
// batch through the index and read up to 1 MiB of whole batches.
func BenchmarkRead(b *testing.B) {
	l := openTest(b, b.TempDir(), DefaultConfig(), false)
	defer l.Close()
	batch := batchOf(10, 1024)
	const batches = 5000
	for range batches {
		mustAppend(b, l, batch)
	}
	end := l.LogEndOffset()
	b.ReportAllocs()
	var bytes int64
	i := int64(0)
	for b.Loop() {
		res, err := l.Read((i*7919)%end, 1<<20, end, true)
		if err != nil {
			b.Fatal(err)
		}
		bytes += int64(len(res.Records))
		i++
	}
	b.SetBytes(bytes / int64(max(i, 1)))
}

// abandonManager drops a manager as kill -9 would: no snapshot, no
// checkpoint, no clean-shutdown marker.
func abandonManager(m *Manager) {
	close(m.stop)
	m.wg.Wait()
	for _, l := range m.All() {
		abandon(l)
	}
	m.unlock()
}

// copyTree copies a log directory with its partition directories,
// leaving out the files skip names.
func copyTree(b *testing.B, from, to string, skip func(name string) bool) {
	b.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil || skip(d.Name()) {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// readCounter is the OS's file system, counting the reads of files and
// the bytes they return: what a recovery reads, whatever the machine's
// load does to its time.
type readCounter struct {
	osFS
	n, bytes atomic.Int64
}

type countedFile struct {
	File
	c *readCounter
}

func (c *readCounter) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := c.osFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return countedFile{f, c}, nil
}

func (f countedFile) ReadAt(b []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(b, off)
	f.c.n.Add(1)
	f.c.bytes.Add(int64(n))
	return n, err
}

// BenchmarkRecoveryAfterKill measures the open of a broker's logs after
// kill -9: 100 partitions of 1.6 MiB in 256 KiB segments of small
// idempotent batches (the active segment half full), the recovery-point
// checkpoint written when half of it was. snapshots=false is the log
// without roll snapshots (their files removed): every segment past the
// checkpoint is recovered and every batch header replayed into producer
// state. snapshots=true recovers the active segment and replays it alone;
// a log whose data all lies in its active segment (segment.bytes is 1 GiB
// by default) gains nothing, in gokafka as in Kafka.
func BenchmarkRecoveryAfterKill(b *testing.B) {
	const partitions = 100
	dir := b.TempDir()
	cfg := DefaultManagerConfig()
	cfg.Dirs = []string{dir}
	cfg.Defaults.SegmentBytes = 256 << 10
	m, err := OpenManager(cfg, quiet)
	if err != nil {
		b.Fatal(err)
	}
	logs := make([]*Log, partitions)
	for i := range logs {
		if logs[i], err = m.GetOrCreate(TopicPartition{Topic: "bench", Partition: int32(i)}, [16]byte{1}, cfg.Defaults); err != nil {
			b.Fatal(err)
		}
	}
	var batches int
	fill := func(bytes int64) {
		for i, l := range logs {
			for seq := int32(l.LogEndOffset()); l.Size() < bytes; seq += 5 {
				pb := prototest.Plain(1_700_000_000_000, "0123456789", "0123456789", "0123456789", "0123456789", "0123456789")
				pb.ProducerID, pb.ProducerEpoch, pb.BaseSequence = int64(i+1), 0, seq
				mustAppend(b, l, pb.Encode())
				batches++
			}
		}
	}
	fill(768 << 10)
	if err := m.writeCheckpoints(); err != nil {
		b.Fatal(err)
	}
	fill(1664 << 10) // six full segments and half of the active one
	abandonManager(m)
	for _, snapshots := range []bool{false, true} {
		b.Run(fmt.Sprintf("snapshots=%v", snapshots), func(b *testing.B) {
			killed := b.TempDir()
			copyTree(b, dir, killed, func(name string) bool {
				return name == lockFile || !snapshots && strings.HasSuffix(name, rollSnapshotSuffix)
			})
			reads := &readCounter{}
			cfg.Dirs, cfg.FS = []string{killed}, reads
			for b.Loop() {
				m, err := OpenManager(cfg, quiet)
				if err != nil || len(m.All()) != partitions {
					b.Fatalf("open: %v", err)
				}
				abandonManager(m)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/recovery")
			b.ReportMetric(float64(reads.n.Load())/float64(b.N), "reads/recovery")
			b.ReportMetric(float64(reads.bytes.Load())/float64(b.N)/(1<<20), "MiB-read/recovery")
			b.ReportMetric(float64(batches), "batches")
		})
	}
}

// BenchmarkAppendFileCache appends round-robin to 1,000 partitions with
// log.segment.fd.cache.size 0 (every file open, as Kafka keeps them), 1000
// (every partition's file stays open) and 100 (each append reopens its
// partition's file): the price of descriptors bounded below the
// partitions in use.
func BenchmarkAppendFileCache(b *testing.B) {
	const partitions = 1000
	for _, size := range []int{0, 1000, 100} {
		b.Run(fmt.Sprintf("cache=%d", size), func(b *testing.B) {
			files := newFileCache(size)
			logs := make([]*Log, partitions)
			for i := range logs {
				l, err := openLog(osFS{}, files, filepath.Join(b.TempDir(), fmt.Sprint(i)), TopicPartition{Topic: "c", Partition: int32(i)}, [16]byte{1}, DefaultConfig(), openState{clean: true}, quiet)
				if err != nil {
					b.Fatal(err)
				}
				defer abandon(l)
				logs[i] = l
			}
			batch := batchOf(10, 100)
			for _, l := range logs { // the leader-epoch checkpoint's first write
				if _, err := l.Append(batch, AppendOptions{LeaderEpoch: 1, AssignOffsets: true}); err != nil {
					b.Fatal(err)
				}
			}
			opened := files.stats().Opens
			b.SetBytes(int64(len(batch)))
			i := 0
			for b.Loop() {
				if _, err := logs[i%partitions].Append(batch, AppendOptions{LeaderEpoch: 1, AssignOffsets: true}); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(files.stats().Opens-opened)/float64(i), "opens/append")
		})
	}
}

// BenchmarkGetOrCreate measures partition creation (directory and first
// segment, no fsync) with callers in parallel, as the broker's reconcile
// runs them (issue 16: 3,000 partitions in < 10 s).
func BenchmarkGetOrCreate(b *testing.B) {
	for _, callers := range []int{1, 16} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			mc := DefaultManagerConfig()
			mc.Dirs = []string{b.TempDir()}
			m, err := OpenManager(mc, quiet)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range callers {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						tp := TopicPartition{Topic: "bench", Partition: int32(i)}
						if _, err := m.GetOrCreate(tp, [16]byte{1}, mc.Defaults); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "partitions/s")
		})
	}
}

// BenchmarkManyPartitions measures a broker of many small partitions
// (issue 16's one node of 100,000, here 2,000 of one batch each): the
// clean close after a clean open and after the open that recovered from
// kill -9, the open after a clean close, and the open after kill -9, in
// milliseconds per 1,000 partitions; a close also in file syncs per
// partition, which a busy machine does not blur.
func BenchmarkManyPartitions(b *testing.B) {
	const partitions = 2000
	cfg := DefaultManagerConfig()
	cfg.Dirs = []string{b.TempDir()}
	syncs := &syncCountingFS{FS: OSFS()}
	cfg.FS = syncs
	m, err := OpenManager(cfg, quiet)
	if err != nil {
		b.Fatal(err)
	}
	for i := range partitions {
		l, err := m.GetOrCreate(TopicPartition{Topic: "bench", Partition: int32(i)}, [16]byte{1}, cfg.Defaults)
		if err != nil {
			b.Fatal(err)
		}
		mustAppend(b, l, prototest.Plain(1_700_000_000_000, "0123456789").Encode())
	}
	// The first close writes what the appends left to write (indexes):
	// the closes measured are those of a broker restarted since.
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
	if m, err = OpenManager(cfg, quiet); err != nil {
		b.Fatal(err)
	}
	perThousand := func(b *testing.B, took time.Duration) {
		b.ReportMetric(float64(took.Milliseconds())/float64(b.N)*1000/partitions, "ms/1000-partitions")
	}
	for _, recovered := range []bool{false, true} {
		b.Run(fmt.Sprintf("close/recovered=%v", recovered), func(b *testing.B) {
			var took time.Duration
			var synced int64
			for b.Loop() {
				if recovered {
					b.StopTimer()
					abandonManager(m)
					if m, err = OpenManager(cfg, quiet); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				start, before := time.Now(), syncs.n.Load()
				if err := m.Close(); err != nil {
					b.Fatal(err)
				}
				took, synced = took+time.Since(start), synced+syncs.n.Load()-before
				b.StopTimer()
				if m, err = OpenManager(cfg, quiet); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			perThousand(b, took)
			b.ReportMetric(float64(synced)/float64(b.N)/partitions, "syncs/partition")
		})
	}
	for _, clean := range []bool{true, false} {
		b.Run(fmt.Sprintf("open/clean=%v", clean), func(b *testing.B) {
			var took time.Duration
			for b.Loop() {
				b.StopTimer()
				if clean {
					err = m.Close()
				} else {
					abandonManager(m)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				if m, err = OpenManager(cfg, quiet); err != nil || len(m.All()) != partitions {
					b.Fatalf("open: %v", err)
				}
				took += time.Since(start)
			}
			perThousand(b, took)
		})
	}
	m.Close()
}

// syncCountingFS counts the syncs of the files it opens.
type syncCountingFS struct {
	FS
	n atomic.Int64
}

func (c *syncCountingFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := c.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return syncCountingFile{f, &c.n}, nil
}

type syncCountingFile struct {
	File
	n *atomic.Int64
}

func (f syncCountingFile) Sync() error {
	f.n.Add(1)
	return f.File.Sync()
}
