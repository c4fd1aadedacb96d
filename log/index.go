package log

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
)

// offsetEntry maps a relative offset to the byte position of the batch
// holding it. Kafka's .index file is a sequence of these, 8 bytes each.
type offsetEntry struct {
	rel uint32
	pos uint32
}

// timeEntry maps a timestamp to the relative offset of the first batch whose
// max timestamp reaches it. Kafka's .timeindex entries are 12 bytes.
type timeEntry struct {
	ts  int64
	rel uint32
}

// index is a segment's sparse offset and time indexes, kept in memory and
// written in Kafka's file formats when the segment is sealed or the log is
// closed. A missing or inconsistent file is rebuilt from the log itself.
type index struct {
	offsets []offsetEntry
	times   []timeEntry
}

// lookup returns the position of the last indexed batch at or before rel.
func (ix *index) lookup(rel uint32) int64 {
	i := sort.Search(len(ix.offsets), func(i int) bool { return ix.offsets[i].rel > rel })
	if i == 0 {
		return 0
	}
	return int64(ix.offsets[i-1].pos)
}

// lookupTime returns the relative offset of the earliest indexed batch that
// may hold a timestamp >= ts: the entry before the first one reaching ts,
// since the time index is sparse.
func (ix *index) lookupTime(ts int64) (uint32, bool) {
	i := sort.Search(len(ix.times), func(i int) bool { return ix.times[i].ts >= ts })
	if i == 0 {
		return 0, len(ix.times) > 0
	}
	return ix.times[i-1].rel, true
}

func (ix *index) full(maxBytes int32) bool {
	return int64(len(ix.offsets)+1)*8 > int64(maxBytes) || int64(len(ix.times)+1)*12 > int64(maxBytes)
}

func (ix *index) write(fs FS, offsetPath, timePath string) error {
	ob, tb := ix.encode()
	if err := writeFileSync(fs, offsetPath, ob); err != nil {
		return err
	}
	return writeFileSync(fs, timePath, tb)
}

// encode returns the bytes of the .index and the .timeindex files.
func (ix *index) encode() (ob, tb []byte) {
	ob = make([]byte, 8*len(ix.offsets))
	for i, e := range ix.offsets {
		binary.BigEndian.PutUint32(ob[8*i:], e.rel)
		binary.BigEndian.PutUint32(ob[8*i+4:], e.pos)
	}
	tb = make([]byte, 12*len(ix.times))
	for i, e := range ix.times {
		binary.BigEndian.PutUint64(tb[12*i:], uint64(e.ts))
		binary.BigEndian.PutUint32(tb[12*i+8:], e.rel)
	}
	return ob, tb
}

// holds reports whether the index files hold exactly ix; a file that
// does not read does not.
func (ix *index) holds(fs FS, offsetPath, timePath string) bool {
	ob, tb := ix.encode()
	onDisk, err := readFile(fs, offsetPath)
	if err != nil || !bytes.Equal(onDisk, ob) {
		return false
	}
	onDisk, err = readFile(fs, timePath)
	return err == nil && bytes.Equal(onDisk, tb)
}

// readIndex loads both index files and checks that they are sorted and
// point inside a log of logSize bytes; any doubt means rebuild.
func readIndex(fs FS, offsetPath, timePath string, logSize int64) (*index, error) {
	ob, err := readFile(fs, offsetPath)
	if err != nil {
		return nil, err
	}
	tb, err := readFile(fs, timePath)
	if err != nil {
		return nil, err
	}
	return parseIndex(ob, tb, logSize)
}

// parseIndex decodes the .index and .timeindex bytes of a log of logSize
// bytes.
func parseIndex(ob, tb []byte, logSize int64) (*index, error) {
	offsets, err := decodeOffsetEntries(ob)
	if err != nil {
		return nil, err
	}
	times, err := decodeTimeEntries(tb)
	if err != nil {
		return nil, err
	}
	for i, e := range offsets {
		if int64(e.pos) >= logSize || (i > 0 && e.rel <= offsets[i-1].rel) {
			return nil, fmt.Errorf("offset index entry %d out of order or past the log", i)
		}
	}
	for i, e := range times {
		if i > 0 && e.ts < times[i-1].ts {
			return nil, fmt.Errorf("time index entry %d out of order", i)
		}
	}
	return &index{offsets: offsets, times: times}, nil
}

// WriteFileSync replaces path atomically and durably, for the files beside
// the logs that other packages own (meta.properties).
func WriteFileSync(path string, b []byte) error { return writeFileSync(osFS{}, path, b) }

// writeFileSync replaces path atomically and durably: a crash leaves either
// the old file or the new one, never half of it.
func writeFileSync(fs FS, path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := firstErr(werr, serr, cerr); err != nil {
		fs.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return fs.Rename(tmp, path)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
