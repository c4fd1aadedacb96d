package log

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// TestCrashBeforeFirstBatches creates partitions, writes a synced batch
// to a third of them, then loses power while the first batches of another
// third wait on their fsyncs (partition.metadata is written before a
// log's first batch): the manager must open again with no partition
// offline, every log holding data must name its topic, and GetOrCreate
// must give the others their topic ID back.
func TestCrashBeforeFirstBatches(t *testing.T) {
	dir, ffs := t.TempDir(), NewFaultFS(nil)
	mc := DefaultManagerConfig()
	mc.Dirs, mc.FS, mc.Defaults = []string{dir}, ffs, durableConfig()
	m, err := OpenManager(mc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	id := [16]byte{7}
	const partitions = 30
	tpOf := func(i int) TopicPartition { return TopicPartition{Topic: "c", Partition: int32(i)} }
	var logs []*Log
	for i := range partitions {
		l, err := m.GetOrCreate(tpOf(i), id, mc.Defaults)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	batch := prototest.Plain(1, "v").Encode()
	for _, l := range logs[:partitions/3] {
		mustAppend(t, l, batch)
	}
	if err := WaitDurable(context.Background(), logs[:partitions/3]); err != nil {
		t.Fatal(err)
	}
	ffs.Delay(FaultSync, 200*time.Millisecond)
	var wg sync.WaitGroup
	for _, l := range logs[partitions/3 : 2*partitions/3] {
		wg.Go(func() { l.Append(batch, AppendOptions{LeaderEpoch: 1, AssignOffsets: true}) })
	}
	time.Sleep(50 * time.Millisecond) // the appends wait in their fsyncs
	if err := ffs.Crash(); err != nil {
		t.Fatal(err)
	}
	ffs.Heal() // what the dead process still does fails at once
	wg.Wait()
	m.Close()
	ffs.Restart()

	if m, err = OpenManager(mc, quiet); err != nil {
		t.Fatalf("no restart after a crash before the first batches: %v", err)
	}
	defer m.Close()
	if n := m.OfflineCount(); n != 0 {
		t.Fatalf("%d partitions offline after the crash", n)
	}
	for i := range partitions {
		l := m.Get(tpOf(i))
		switch {
		case l == nil:
			t.Fatalf("partition %d lost", i)
		case i < partitions/3 && (l.LogEndOffset() != 1 || l.TopicID() != id):
			t.Fatalf("partition %d, synced, reopened with end %d and topic ID %v", i, l.LogEndOffset(), l.TopicID())
		case l.LogEndOffset() > 0 && l.TopicID() != id:
			t.Fatalf("partition %d holds data under topic ID %v", i, l.TopicID())
		}
		if l, err := m.GetOrCreate(tpOf(i), id, mc.Defaults); err != nil || l.TopicID() != id {
			t.Fatalf("partition %d after the crash: %v", i, err)
		}
	}
}

// TestUnreadablePartitionMetadata opens logs whose partition.metadata a
// crash left empty or torn (a disk that kept the rename but not the
// data): an empty log takes its topic ID from the next GetOrCreate and
// writes it with its first batch; a log holding data stays offline, since it might be another
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
			l, err := m.GetOrCreate(empty, [16]byte{2}, mc.Defaults)
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, prototest.Plain(1, "v").Encode())
			m.Close()
			id, err := readPartitionMeta(OSFS(), filepath.Join(mc.Dirs[0], empty.dirName(), partitionMetaFile))
			if err != nil || id != [16]byte{2} {
				t.Fatalf("partition.metadata after adoption: %v %v, want the adopted ID", id, err)
			}
		})
	}
}

// TestCreationSyncsNothing creates partitions while every fsync fails:
// creation must not need one (Kafka's neither), and the first batch of a
// log must, since partition.metadata is made durable before it.
func TestCreationSyncsNothing(t *testing.T) {
	ffs := NewFaultFS(nil)
	mc := DefaultManagerConfig()
	mc.Dirs, mc.FS = []string{t.TempDir()}, ffs
	m, err := OpenManager(mc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ffs.Fail(FaultSync, "", errDisk)
	var l *Log
	for i := range 3 {
		if l, err = m.GetOrCreate(TopicPartition{"s", int32(i)}, [16]byte{1}, mc.Defaults); err != nil {
			t.Fatalf("creating a partition synced: %v", err)
		}
	}
	if _, err := l.Append(prototest.Plain(1, "v").Encode(), AppendOptions{LeaderEpoch: 1, AssignOffsets: true}); !errors.Is(err, errDisk) {
		t.Fatalf("first batch with partition.metadata unsyncable: %v, want the sync's error", err)
	}
	if l.LogEndOffset() != 0 {
		t.Fatal("the batch went in before its topic ID was on disk")
	}
}
