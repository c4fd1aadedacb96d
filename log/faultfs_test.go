package log

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol/prototest"
)

var errDisk = errors.New("injected disk error")

// openFaulty opens a Manager in dir on ffs and the log of tp0 in it.
func openFaulty(t *testing.T, dir string, ffs *FaultFS, cfg Config) (*Manager, *Log) {
	t.Helper()
	mc := DefaultManagerConfig()
	mc.Dirs, mc.FS, mc.Defaults = []string{dir}, ffs, cfg
	m, err := OpenManager(mc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	l, err := m.GetOrCreate(tp0, [16]byte{1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, l
}

func durableConfig() Config {
	cfg := DefaultConfig()
	cfg.FlushBeforeAck = true
	return cfg
}

// A failing write, fsync or read reaches the caller as an error that names
// the partition's file and wraps the disk's error, so the broker can answer
// KAFKA_STORAGE_ERROR with it.
func TestFaultFSErrorsSurface(t *testing.T) {
	ffs := NewFaultFS(nil)
	cfg := DefaultConfig()
	cfg.FlushIntervalMessages = 1 // every append fsyncs
	_, l := openFaulty(t, t.TempDir(), ffs, cfg)
	mustAppend(t, l, prototest.Plain(0, "a").Encode())

	ffs.Fail(FaultWrite, ".log", errDisk)
	if _, err := l.Append(prototest.Plain(0, "b").Encode(), AppendOptions{AssignOffsets: true}); !errors.Is(err, errDisk) {
		t.Fatalf("append on a failing disk: %v, want the disk's error", err)
	}
	ffs.Heal()
	ffs.Fail(FaultSync, ".log", errDisk)
	if _, err := l.Append(prototest.Plain(0, "c").Encode(), AppendOptions{AssignOffsets: true}); !errors.Is(err, errDisk) {
		t.Fatalf("append whose fsync fails: %v, want the disk's error", err)
	}
	ffs.Heal()
	ffs.Fail(FaultRead, ".log", errDisk)
	if _, err := l.Read(0, 1<<20, l.LogEndOffset(), true); !errors.Is(err, errDisk) {
		t.Fatalf("read on a failing disk: %v, want the disk's error", err)
	}
}

// A failed group-commit fsync fails the follower's wait, and every append
// after it: the page cache may have dropped what the fsync was to write.
func TestGroupCommitFailureSticks(t *testing.T) {
	ffs := NewFaultFS(nil)
	m, l := openFaulty(t, t.TempDir(), ffs, durableConfig())
	mustAppend(t, l, prototest.Plain(0, "a").Encode())
	if err := WaitDurable(context.Background(), []*Log{l}); err != nil || l.CommittableEnd() != 1 {
		t.Fatalf("wait: %v, committable end %d, want 1", err, l.CommittableEnd())
	}
	ffs.Fail(FaultSync, "", errDisk)
	mustAppend(t, l, prototest.Plain(0, "b").Encode())
	if err := WaitDurable(context.Background(), []*Log{l}); !errors.Is(err, errDisk) {
		t.Fatalf("wait over a failing fsync: %v, want the disk's error", err)
	}
	if end := l.CommittableEnd(); end != 1 {
		t.Fatalf("committable end %d after a failed fsync, want 1", end)
	}
	ffs.Heal()
	if _, err := l.Append(prototest.Plain(0, "c").Encode(), AppendOptions{AssignOffsets: true}); !errors.Is(err, errDisk) {
		t.Fatalf("append after a failed fsync: %v, want the fsync's error", err)
	}
	// Each round that met the fault counts; the append and the wait may
	// each have started one.
	if n := m.SyncErrors(); n < 1 || n > 2 {
		t.Fatalf("sync errors counted %d, want 1 or 2", n)
	}
}

// Latency set on fsync is paid by a durable wait.
func TestFaultFSLatency(t *testing.T) {
	ffs := NewFaultFS(nil)
	_, l := openFaulty(t, t.TempDir(), ffs, durableConfig())
	ffs.Delay(FaultSync, 50*time.Millisecond)
	mustAppend(t, l, prototest.Plain(0, "a").Encode())
	start := time.Now()
	if err := WaitDurable(context.Background(), []*Log{l}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("durable wait took %v with 50ms fsyncs", took)
	}
}

// Appends from many partitions waiting at once share fsync rounds rather
// than paying one fsync each.
func TestGroupCommitSharesRounds(t *testing.T) {
	ffs := NewFaultFS(nil)
	mc := DefaultManagerConfig()
	mc.Dirs, mc.FS, mc.Defaults = []string{t.TempDir()}, ffs, durableConfig()
	m, err := OpenManager(mc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ffs.Delay(FaultSync, 20*time.Millisecond)
	var logs []*Log
	for i := range 8 {
		l, err := m.GetOrCreate(TopicPartition{Topic: "t", Partition: int32(i)}, [16]byte{1}, mc.Defaults)
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			mustAppend(t, l, prototest.Plain(0, "v").Encode())
		}
		logs = append(logs, l)
	}
	start := time.Now()
	if err := WaitDurable(context.Background(), logs); err != nil {
		t.Fatal(err)
	}
	// 80 appends on 8 logs: one fsync per log, at most two rounds' worth.
	if took := time.Since(start); took > 16*20*time.Millisecond {
		t.Fatalf("80 appends on 8 logs took %v to be durable with 20ms fsyncs: not grouped", took)
	}
	for _, l := range logs {
		if l.CommittableEnd() != 10 {
			t.Fatalf("%s committable end %d, want 10", l.tp, l.CommittableEnd())
		}
	}
}

// Power loss keeps exactly what was fsynced: after a crash with appends
// still unsynced, recovery yields a prefix of what was written, ending
// exactly where the last completed sync ended. Every append asks for a
// group commit of its own, so the unsynced tail is made certain by slowing
// fsyncs down past the crash.
func TestCrashDropsTheUnsyncedTail(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 17))
			dir, ffs := t.TempDir(), NewFaultFS(nil)
			cfg := durableConfig()
			cfg.SegmentBytes = 2000 // rolls sync too
			m, l := openFaulty(t, dir, ffs, cfg)
			var written []byte
			appendOne := func(i int) {
				b := prototest.Plain(int64(i), fmt.Sprintf("v%d", i)).Encode()
				mustAppend(t, l, b) // assigns the offset in b
				written = append(written, b...)
			}
			synced := 20 + rng.IntN(40)
			for i := range synced {
				appendOne(i)
			}
			if err := WaitDurable(context.Background(), []*Log{l}); err != nil {
				t.Fatal(err)
			}
			ffs.Delay(FaultSync, 300*time.Millisecond) // the tail's syncs finish after the crash
			for i := range 1 + rng.IntN(5) {
				appendOne(synced + i)
			}
			syncedEnd := max(int64(synced), l.RecoveryPoint()) // a roll in the tail synced what it sealed
			if syncedEnd == l.LogEndOffset() {
				t.Fatalf("nothing left unsynced at the crash: the test proves nothing")
			}
			if err := ffs.Crash(); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(); !errors.Is(err, ErrPowerLost) {
				t.Fatalf("closing after the crash: %v, want ErrPowerLost", err)
			}
			ffs.Restart()
			ffs.Heal()
			_, l = openFaulty(t, dir, ffs, cfg)
			if got := l.LogEndOffset(); got != syncedEnd {
				t.Fatalf("log end %d after the crash, want the synced end %d", got, syncedEnd)
			}
			var got []byte
			for off := int64(0); off < l.LogEndOffset(); {
				res, err := l.Read(off, 1<<20, l.LogEndOffset(), true)
				if err != nil || len(res.Records) == 0 {
					t.Fatalf("reading at %d: %v", off, err)
				}
				got = append(got, res.Records...)
				batches := offsetsIn(t, res.Records)
				off = batches[len(batches)-1][1] + 1
			}
			if !bytes.HasPrefix(written, got) {
				t.Fatalf("recovered %d bytes that are not a prefix of the %d written", len(got), len(written))
			}
		})
	}
}
