package log

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// TestCrashWhileCreatingPartitions loses power while partitions are being
// created in parallel, as the broker's reconcile creates them, with
// fsyncs slow enough that the crash finds some of them half made: the
// manager must open again with no partition offline, every partition
// created before the crash must keep its topic ID, and GetOrCreate must
// then finish the rest.
func TestCrashWhileCreatingPartitions(t *testing.T) {
	dir, ffs := t.TempDir(), NewFaultFS(nil)
	mc := DefaultManagerConfig()
	mc.Dirs, mc.FS = []string{dir}, ffs
	m, err := OpenManager(mc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	id := [16]byte{7}
	const partitions = 48
	tpOf := func(i int) TopicPartition { return TopicPartition{Topic: "c", Partition: int32(i)} }
	ffs.Delay(FaultSync, 20*time.Millisecond)
	var created sync.Map // partitions whose GetOrCreate returned before the crash
	var returned atomic.Int32
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < partitions; i += 8 {
				if _, err := m.GetOrCreate(tpOf(i), id, mc.Defaults); err == nil {
					created.Store(i, true)
				}
				returned.Add(1)
			}
		})
	}
	for returned.Load() < 8 {
		time.Sleep(time.Millisecond)
	}
	if err := ffs.Crash(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	m.Close()
	ffs.Restart()
	ffs.Heal()

	if m, err = OpenManager(mc, quiet); err != nil {
		t.Fatalf("no restart after a crash while creating partitions: %v", err)
	}
	defer m.Close()
	if n := m.OfflineCount(); n != 0 {
		t.Fatalf("%d partitions offline after the crash", n)
	}
	kept := 0
	created.Range(func(k, _ any) bool {
		kept++
		if l := m.Get(tpOf(k.(int))); l == nil || l.TopicID() != id {
			t.Errorf("partition %d, created before the crash, reopened as %v", k, l)
		}
		return true
	})
	if kept == 0 || kept == partitions {
		t.Fatalf("%d of %d partitions created before the crash: the crash missed the creations", kept, partitions)
	}
	for i := range partitions {
		l, err := m.GetOrCreate(tpOf(i), id, mc.Defaults)
		if err != nil || l.TopicID() != id {
			t.Fatalf("partition %d after the crash: %v", i, err)
		}
	}
}

// TestUnreadablePartitionMetadata opens logs whose partition.metadata a
// crash left empty or torn (a disk that kept the rename but not the
// data): an empty log takes its topic ID from the next GetOrCreate and
// writes it; a log holding data stays offline, since it might be another
// incarnation of the topic; either way the manager opens.
func TestUnreadablePartitionMetadata(t *testing.T) {
	for name, meta := range map[string]string{
		"empty":            "",
		"torn in the id":   "version: 0\ntopic_id: AAAAAAAA",
		"torn before it":   "version: 0\n",
		"not our contents": "\x00\x00\x00\x00",
	} {
		t.Run(name, func(t *testing.T) {
			mc := DefaultManagerConfig()
			mc.Dirs = []string{t.TempDir()}
			m, err := OpenManager(mc, quiet)
			if err != nil {
				t.Fatal(err)
			}
			empty, full := TopicPartition{"empty", 0}, TopicPartition{"full", 0}
			for _, tp := range []TopicPartition{empty, full} {
				if _, err := m.GetOrCreate(tp, [16]byte{1}, mc.Defaults); err != nil {
					t.Fatal(err)
				}
			}
			mustAppend(t, m.Get(full), prototest.Plain(1, "v").Encode())
			m.Close()
			for _, tp := range []TopicPartition{empty, full} {
				path := filepath.Join(mc.Dirs[0], tp.dirName(), partitionMetaFile)
				if err := os.WriteFile(path, []byte(meta), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			if m, err = OpenManager(mc, quiet); err != nil {
				t.Fatalf("no start over an unreadable partition.metadata: %v", err)
			}
			if err := m.Offline(empty); err != nil {
				t.Fatalf("empty log offline: %v", err)
			}
			if _, err := m.GetOrCreate(full, [16]byte{1}, mc.Defaults); !errors.Is(err, ErrLogOffline) {
				t.Fatalf("log with data and no readable topic ID: %v, want ErrLogOffline", err)
			}
			if _, err := m.GetOrCreate(empty, [16]byte{2}, mc.Defaults); err != nil {
				t.Fatal(err)
			}
			m.Close()
			id, err := readPartitionMeta(OSFS(), filepath.Join(mc.Dirs[0], empty.dirName(), partitionMetaFile))
			if err != nil || id != [16]byte{2} {
				t.Fatalf("partition.metadata after adoption: %v %v, want the adopted ID", id, err)
			}
		})
	}
}

// TestCreationHoldsNoManagerLock slows fsyncs down and checks that, while
// one partition is being created, the manager still serves the others:
// Get, All, and GetOrCreate of an existing log and of a new one all
// return while the first creation waits on its fsync.
func TestCreationHoldsNoManagerLock(t *testing.T) {
	ffs := NewFaultFS(nil)
	mc := DefaultManagerConfig()
	mc.Dirs, mc.FS = []string{t.TempDir()}, ffs
	m, err := OpenManager(mc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.GetOrCreate(tp0, [16]byte{1}, mc.Defaults); err != nil {
		t.Fatal(err)
	}
	ffs.Delay(FaultSync, 2*time.Second)
	slow := make(chan error, 1)
	go func() {
		_, err := m.GetOrCreate(TopicPartition{"slow", 0}, [16]byte{2}, mc.Defaults)
		slow <- err
	}()
	tmp := filepath.Join(mc.Dirs[0], "slow-0", partitionMetaFile+".tmp")
	for {
		if _, err := os.Stat(tmp); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // its fsync has begun, and waits
	ffs.Heal()                         // the slow creation is in its fsync; the rest need not wait
	if m.Get(tp0) == nil || len(m.All()) != 1 {
		t.Fatal("the open log is not served during a creation")
	}
	for _, tp := range []TopicPartition{tp0, {"fast", 0}} {
		if _, err := m.GetOrCreate(tp, [16]byte{1}, mc.Defaults); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-slow:
		t.Fatalf("the slow creation ended (%v) before the others: they waited for it", err)
	default:
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
}
