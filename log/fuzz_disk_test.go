package log

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gokafka/gokafka/protocol"
)

// The fuzz targets below cover every file the log reads back at start:
// each parser must return an error or a value that keeps its invariants,
// never panic, and what it accepts must survive a write and a read.

// FuzzOffsetCheckpoint feeds recovery-point-offset-checkpoint and
// log-start-offset-checkpoint bytes.
func FuzzOffsetCheckpoint(f *testing.F) {
	f.Add([]byte("0\n2\nt 0 5\na-b 3 0\n"))
	f.Add([]byte("0\n0\n"))
	f.Add([]byte("0\n99999999999\n"))
	f.Add([]byte("1\n1\nt 0 -1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := parseCheckpoint(b, 3)
		if err != nil {
			return
		}
		got, err := offsetsFromRows(rows)
		if err != nil {
			return
		}
		for tp, off := range got {
			if tp.Partition < 0 || off < 0 {
				t.Fatalf("accepted %v at %d", tp, off)
			}
		}
		path := filepath.Join(t.TempDir(), recoveryPointFile)
		if err := writeOffsets(osFS{}, path, got); err != nil {
			t.Fatal(err)
		}
		again, err := readOffsets(osFS{}, path)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip: %v %v, want %v", again, err, got)
		}
	})
}

// FuzzLeaderEpochCheckpoint feeds leader-epoch-checkpoint bytes and asks
// the cache the OffsetForLeaderEpoch question for every epoch it holds.
func FuzzLeaderEpochCheckpoint(f *testing.F) {
	f.Add([]byte("0\n2\n0 0\n3 10\n"))
	f.Add([]byte("0\n2\n3 10\n0 0\n"))
	f.Add([]byte("0\n1\n-1 -1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := parseCheckpoint(b, 2)
		if err != nil {
			return
		}
		c, err := epochsFromRows(rows)
		if err != nil {
			return
		}
		for i, e := range c.entries {
			if i > 0 && (e.Epoch <= c.entries[i-1].Epoch || e.StartOffset < c.entries[i-1].StartOffset) {
				t.Fatalf("accepted out-of-order entries %v", c.entries)
			}
			if ep, end := c.endOffsetFor(e.Epoch, math.MaxInt64); ep != e.Epoch || end < e.StartOffset {
				t.Fatalf("epoch %d: answer %d/%d from %v", e.Epoch, ep, end, c.entries)
			}
		}
		c.truncateFromEnd(0)
	})
}

// FuzzProducerSnapshot feeds producer-state snapshots and then runs the
// append path's checks against what was accepted.
func FuzzProducerSnapshot(f *testing.F) {
	good, _ := json.Marshal(producerSnapshot{Offset: 10, Producers: map[int64]*producerEntry{
		7: {Epoch: 1, Batches: []batchMeta{{FirstSeq: 0, LastSeq: 4, FirstOffset: 0, LastOffset: 4}}},
	}})
	f.Add(good)
	f.Add([]byte(`{"offset":1,"producers":{"7":null}}`))
	f.Add([]byte(`{"offset":-5,"producers":{}}`))
	f.Add([]byte(`garbage`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, offset, err := parseProducerSnapshot(b)
		if err != nil {
			return
		}
		if offset < 0 {
			t.Fatalf("accepted offset %d", offset)
		}
		for id := range ps.producers {
			h := &protocol.BatchHeader{BaseOffset: offset, ProducerID: id, ProducerEpoch: 0, BaseSequence: 0, LastOffsetDelta: 0}
			ps.check(h)
			ps.update(h)
		}
		ps.truncate(offset / 2)
	})
}

// FuzzIndex feeds .index and .timeindex bytes (split at the first byte's
// value) for a log of a few kilobytes, and looks up every entry.
func FuzzIndex(f *testing.F) {
	ix := &index{offsets: []offsetEntry{{0, 0}, {5, 100}}, times: []timeEntry{{1000, 0}, {2000, 5}}}
	dir := f.TempDir()
	if err := ix.write(osFS{}, filepath.Join(dir, "i"), filepath.Join(dir, "t")); err != nil {
		f.Fatal(err)
	}
	ob, _ := os.ReadFile(filepath.Join(dir, "i"))
	tb, _ := os.ReadFile(filepath.Join(dir, "t"))
	f.Add(append([]byte{byte(len(ob))}, append(ob, tb...)...))
	f.Add([]byte{3, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		split := min(int(b[0]), len(b)-1)
		ix, err := parseIndex(b[1:1+split], b[1+split:], 4096)
		if err != nil {
			return
		}
		for _, e := range ix.offsets {
			if pos := ix.lookup(e.rel); pos != int64(e.pos) || pos >= 4096 {
				t.Fatalf("lookup(%d) = %d, want %d", e.rel, pos, e.pos)
			}
		}
		for _, e := range ix.times {
			ix.lookupTime(e.ts)
		}
	})
}

// TestCheckpointGoldenBytes pins Kafka's checkpoint layouts: a version
// line, a count line, one entry per line.
func TestCheckpointGoldenBytes(t *testing.T) {
	dir := t.TempDir()
	offsets := filepath.Join(dir, "offsets")
	if err := writeOffsets(osFS{}, offsets, map[TopicPartition]int64{{"a-b", 3}: 42}); err != nil {
		t.Fatal(err)
	}
	epochs := filepath.Join(dir, "epochs")
	if err := writeEpochs(osFS{}, epochs, &epochCache{entries: []epochEntry{{0, 0}, {4, 17}}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{offsets: "0\n1\na-b 3 42\n", epochs: "0\n2\n0 0\n4 17\n"} {
		if got, _ := os.ReadFile(path); string(got) != want {
			t.Errorf("%s: %q, want %q", filepath.Base(path), got, want)
		}
	}
}

// TestIndexGoldenBytes pins the .index (relative offset, position: 4+4
// bytes big-endian) and .timeindex (timestamp, relative offset: 8+4)
// layouts.
func TestIndexGoldenBytes(t *testing.T) {
	dir := t.TempDir()
	ix := &index{offsets: []offsetEntry{{1, 0x200}}, times: []timeEntry{{0x0102030405, 1}}}
	if err := ix.write(osFS{}, filepath.Join(dir, "i"), filepath.Join(dir, "t")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"i": "0000000100000200", "t": "000000010203040500000001"} {
		got, _ := os.ReadFile(filepath.Join(dir, name))
		if hex.EncodeToString(got) != want {
			t.Errorf("%s: %x, want %s", name, got, want)
		}
	}
	back, err := parseIndex(mustHex(t, "0000000100000200"), mustHex(t, "000000010203040500000001"), 0x201)
	if err != nil || !reflect.DeepEqual(back, ix) {
		t.Fatalf("read back %+v %v", back, err)
	}
	if _, err := parseIndex(mustHex(t, "0000000100000200"), nil, 0x200); err == nil {
		t.Fatal("an entry past the log's end was accepted")
	}
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(b)
}
