package coordinator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt maps raft.db into memory and trusts its meta page: a file cut short
// (a full disk, a bad copy) makes the first read past its end a SIGBUS,
// which no recover() catches. checkBoltFile reads the meta pages the way
// bbolt does, with plain reads, and refuses a file whose pages end before
// the high-water mark the meta claims, naming the file.
//
// A bbolt meta page (go.etcd.io/bbolt internal/common, native byte order,
// little-endian on every platform gokafka ships for):
//
//	page header  id u64, flags u16, count u16, overflow u32  (16 bytes)
//	meta         magic u32 (0xED0CDAED), version u32 (2), pageSize u32,
//	             flags u32, root bucket pgid u64, sequence u64,
//	             freelist pgid u64, high-water pgid u64, txid u64,
//	             checksum u64 = FNV-64a of the meta bytes before it
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltMetaOffset  = 16
	boltMetaSize    = 56 // up to the checksum
	boltNoFreelist  = ^uint64(0)
	boltMinPageSize = 512
	boltMaxPageSize = 1 << 16
)

type boltMeta struct {
	pageSize                 uint32
	root, freelist, pgid, tx uint64
}

// parseBoltMeta decodes and checks the meta in one page's bytes.
func parseBoltMeta(page []byte) (boltMeta, error) {
	if len(page) < boltMetaOffset+boltMetaSize+8 {
		return boltMeta{}, errors.New("short meta page")
	}
	b := page[boltMetaOffset:]
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(b[:boltMetaSize])
	m := boltMeta{pageSize: le.Uint32(b[8:]), root: le.Uint64(b[16:]), freelist: le.Uint64(b[32:]),
		pgid: le.Uint64(b[40:]), tx: le.Uint64(b[48:])}
	switch {
	case le.Uint32(b) != boltMagic:
		return m, errors.New("not a bbolt file (bad magic)")
	case le.Uint32(b[4:]) != boltVersion:
		return m, fmt.Errorf("bbolt version %d, want %d", le.Uint32(b[4:]), boltVersion)
	case le.Uint64(b[boltMetaSize:]) != h.Sum64():
		return m, errors.New("meta page checksum mismatch")
	case m.pageSize < boltMinPageSize || m.pageSize > boltMaxPageSize || m.pageSize&(m.pageSize-1) != 0:
		return m, fmt.Errorf("page size %d", m.pageSize)
	case m.pgid < 2 || m.root >= m.pgid || (m.freelist >= m.pgid && m.freelist != boltNoFreelist):
		return m, fmt.Errorf("root page %d or freelist page %d past the high-water mark %d", m.root, m.freelist, m.pgid)
	}
	return m, nil
}

// checkBoltFile returns nil for a missing file (a new store) and for one
// whose newest valid meta page describes pages that are all present.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	head := make([]byte, min(fi.Size(), 2*boltMaxPageSize))
	if _, err := io.ReadFull(f, head); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := checkBoltBytes(head, fi.Size()); err != nil {
		return fmt.Errorf("%s is corrupt or truncated: %w (restore it from a backup, or move it away to rejoin the quorum as a new member)", path, err)
	}
	return nil
}

// checkBoltBytes checks the first bytes of a bbolt file of size bytes.
// Meta page 1 sits one page after page 0; when page 0 is unreadable its
// page size is unknown, so each size bbolt may have used is tried.
func checkBoltBytes(head []byte, size int64) error {
	if size == 0 {
		return errors.New("empty file")
	}
	m0, err0 := parseBoltMeta(head)
	best, err := m0, err0
	for ps := boltMinPageSize; ps <= boltMaxPageSize; ps *= 2 {
		if err0 == nil && uint32(ps) != m0.pageSize || ps >= len(head) {
			continue
		}
		if m1, err1 := parseBoltMeta(head[ps:]); err1 == nil && uint32(ps) == m1.pageSize && (err != nil || m1.tx > best.tx) {
			best, err = m1, nil
		}
	}
	if err != nil {
		return err
	}
	if need := int64(best.pgid) * int64(best.pageSize); best.pgid > uint64(size) || need > size {
		return fmt.Errorf("%d bytes, but its meta page describes %d pages of %d bytes", size, best.pgid, best.pageSize)
	}
	return nil
}
