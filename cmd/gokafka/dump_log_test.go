package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gokafka/gokafka/protocol"
)

// segmentBytes is two batches as a log stores them, at offsets 0 and 2.
func segmentBytes() []byte {
	a := protocol.BuildBatch(1000, []protocol.KV{{Key: []byte("k"), Value: []byte("v")}, {Value: []byte("w")}})
	b := protocol.BuildBatch(2000, []protocol.KV{{Key: []byte("k2"), Value: nil}})
	protocol.SetBaseOffset(b, 2)
	return append(a, b...)
}

// writeSegment writes a partition directory's files under a fresh
// directory and returns the path of each by suffix.
func writeSegment(t testing.TB, log, index, timeIndex []byte) map[string]string {
	dir := t.TempDir()
	paths := map[string]string{}
	for suffix, b := range map[string][]byte{".log": log, ".index": index, ".timeindex": timeIndex} {
		paths[suffix] = filepath.Join(dir, "00000000000000000000"+suffix)
		if err := os.WriteFile(paths[suffix], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// TestDumpLogHostileFiles feeds files that are not what their names say:
// each gives exit 1 and an error naming the file, or Kafka's report of
// trailing bytes, never a panic.
func TestDumpLogHostileFiles(t *testing.T) {
	seg := segmentBytes()
	first := int(binary.BigEndian.Uint32(seg[8:])) + protocol.LogOverhead
	badLength := append([]byte{}, seg...)
	binary.BigEndian.PutUint32(badLength[first+8:], 3) // the second batch claims 3 bytes
	garbled := append([]byte{}, seg...)
	garbled[protocol.BatchHeaderSize] = 0x7e // the first record claims 63 bytes

	for _, tt := range []struct {
		name                  string
		log, index, timeIndex []byte
		txnIndex              []byte
		files                 string
		code                  int
		out, err              string
	}{
		{name: "torn tail", log: seg[:len(seg)-5], files: ".log", out: "Found " + strconv.Itoa(len(seg)-5-first) + " invalid bytes at the end of 00000000000000000000.log\n"},
		{name: "batch shorter than a header", log: badLength, files: ".log", code: 1, err: "00000000000000000000.log: position " + strconv.Itoa(first)},
		{name: "garbled records", log: garbled, files: ".log", code: 1, err: "batch at position 0"},
		{name: "index of half an entry", log: seg, index: []byte{0, 0, 0, 1}, files: ".index", code: 1, err: "not whole 8-byte entries"},
		{name: "index past the log", log: seg, index: []byte{0, 0, 0, 2, 0x7f, 0, 0, 0}, files: ".index",
			out: "offset: 2 position: 2130706432\n", err: "Index offset: 2, log offset: -1"},
		{name: "time index of odd size", log: seg, timeIndex: make([]byte, 13), files: ".timeindex", code: 1, err: "not whole 12-byte entries"},
		{name: "transaction index of another version", files: ".txnindex", txnIndex: append([]byte{0, 1}, make([]byte, 32)...), code: 1, err: "entry 0: version 1"},
		{name: "transaction index", files: ".txnindex", txnIndex: txnIndexEntry(7, 3, 5, 6),
			out: "version: 0 producerId: 7 firstOffset: 3 lastOffset: 5 lastStableOffset: 6\n"},
	} {
		p := writeSegment(t, tt.log, tt.index, tt.timeIndex)
		p[".txnindex"] = filepath.Join(filepath.Dir(p[".log"]), "00000000000000000000.txnindex")
		if err := os.WriteFile(p[".txnindex"], tt.txnIndex, 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, stderr := runCLI("dump-log", "--files", p[tt.files], "--deep-iteration")
		out = strings.TrimPrefix(out, "Dumping "+p[tt.files]+"\n")
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(stderr, tt.err) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d, %q and %q", tt.name, code, out, stderr, tt.code, tt.out, tt.err)
		}
	}
}

// TestDumpLogRollSnapshot prints a producer-state snapshot a roll wrote,
// <base>.producer-state.json, as it prints the one a clean close writes.
func TestDumpLogRollSnapshot(t *testing.T) {
	p := filepath.Join(t.TempDir(), "00000000000000000004.producer-state.json")
	snap := `{"version":1,"offset":4,"last_marker":-1,"producers":{"1":{"epoch":0,"batches":[{"first_seq":0,"last_seq":2,"first_offset":1,"last_offset":3}],"current_txn_first_offset":-1}}}`
	if err := os.WriteFile(p, []byte(snap), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI("dump-log", "--files", p)
	for _, want := range []string{"Snapshot end offset: 4\n", "producerId: 1 producerEpoch: 0", "lastSequence: 2 lastOffset: 3"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("dump-log of a roll snapshot: exit %d, no %q in\n%s%s", code, want, out, stderr)
		}
	}
}

// FuzzDumpLog dumps arbitrary bytes as every kind of file dump-log reads,
// record by record: whatever the bytes, an error or output, no panic.
func FuzzDumpLog(f *testing.F) {
	seg := segmentBytes()
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add([]byte("0\n1\n0 0\n"))
	f.Add([]byte(`{"offset":4,"producers":{"1":{"epoch":0,"batches":[{"first_seq":0,"last_seq":2,"first_offset":1,"last_offset":3}]}}}`))
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := writeSegment(t, b, b, b)
		dir := filepath.Dir(p[".log"])
		files := []string{p[".log"], p[".index"], p[".timeindex"]}
		for _, name := range []string{"00000000000000000000.txnindex", "00000000000000000000.snapshot", "leader-epoch-checkpoint", "producer-state.json", "00000000000000000004.producer-state.json"} {
			files = append(files, filepath.Join(dir, name))
			if err := os.WriteFile(files[len(files)-1], b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range files {
			runCLI("dump-log", "--files", f, "--print-data-log")
		}
	})
}

// txnIndexEntry is one .txnindex entry of version 0.
func txnIndexEntry(fields ...int64) []byte {
	b := []byte{0, 0}
	for _, v := range fields {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	return b
}
