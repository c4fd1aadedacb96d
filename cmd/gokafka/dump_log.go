package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// dumpLogCommand is kafka-dump-log.sh: it reads a partition directory's
// files offline, through the log package's readers, and prints them as
// Kafka's DumpLogSegments does: .log segments batch by batch (record by
// record with --deep-iteration, with keys and values with
// --print-data-log), .index and .timeindex entries checked against their
// segment, .txnindex aborted transactions, producer snapshots (Kafka's
// .snapshot and gokafka's producer-state.json and <base>.producer-state.json), and leader-epoch-checkpoint, which Kafka's tool
// cannot read. A file that is not what its name says gives an error
// naming the file and the position, never a crash.
func dumpLogCommand(std *stdio, args []string) error {
	fs := flag.NewFlagSet("gokafka dump-log", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o dumpOptions
	files := fs.String("files", "", "REQUIRED: the comma separated list of data and index log files to be dumped")
	fs.BoolVar(&o.printData, "print-data-log", false, "print the records' keys and values (implies --deep-iteration)")
	fs.BoolVar(&o.deep, "deep-iteration", false, "print every record, not only every batch")
	fs.BoolVar(&o.verifyOnly, "verify-index-only", false, "check the index files against their segments without printing their entries")
	fs.BoolVar(&o.skipMetadata, "skip-record-metadata", false, "print records' keys and values without their metadata")
	fs.IntVar(&o.maxBytes, "max-bytes", maxInt32, "read at most this many bytes of each .log file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			(&flags{FlagSet: fs, std: std}).usage()
			return err
		}
		return argumentf("%s", strings.Replace(err.Error(), " -", " --", 1))
	}
	if fs.NArg() > 0 {
		return argumentf("unexpected argument %q", fs.Arg(0))
	}
	if *files == "" {
		return argumentf(`Missing required argument "[files]"`)
	}
	o.deep = o.deep || o.printData
	d := &dumper{dumpOptions: o, out: std.out}
	for _, f := range strings.Split(*files, ",") {
		if err := d.dump(f, std.err); err != nil {
			d.report(std.err)
			return err
		}
	}
	d.report(std.err)
	return nil
}

const maxInt32 = 1<<31 - 1

type dumpOptions struct {
	printData, deep, verifyOnly, skipMetadata bool
	maxBytes                                  int
}

// dumper prints files and gathers the inconsistencies Kafka's tool reports
// on standard error after the last file.
type dumper struct {
	dumpOptions
	out         io.Writer
	problems    []string // index mismatches and time index errors, in Kafka's words
	nonConsec   []string // "Non-consecutive offsets in" blocks
	lastOffsets int64
}

func (d *dumper) report(w io.Writer) {
	for _, p := range append(d.problems, d.nonConsec...) {
		fmt.Fprintln(w, p)
	}
}

// dump prints one file, chosen by its name as Kafka's tool does.
func (d *dumper) dump(path string, stderr io.Writer) error {
	fmt.Fprintf(d.out, "Dumping %s\n", path)
	name := filepath.Base(path)
	var err error
	switch {
	case strings.HasSuffix(name, ".log"):
		err = d.dumpSegment(path)
	case strings.HasSuffix(name, ".index"):
		err = d.dumpIndex(path)
	case strings.HasSuffix(name, ".timeindex"):
		err = d.dumpTimeIndex(path)
	case strings.HasSuffix(name, ".txnindex"):
		err = dumpTxnIndex(d.out, path)
	case strings.HasSuffix(name, ".snapshot"):
		err = dumpKafkaSnapshot(d.out, stderr, path)
	case strings.HasSuffix(name, "producer-state.json"): // at close, or <base>.producer-state.json at a roll
		err = dumpProducerState(d.out, path)
	case name == "leader-epoch-checkpoint":
		err = dumpEpochs(d.out, path)
	default:
		fmt.Fprintf(stderr, "Ignoring unknown file %s\n", path)
	}
	return err
}

// segmentFile reads the batches of a .log file one at a time, so that a
// segment of a gigabyte costs one batch of memory.
type segmentFile struct {
	f    *os.File
	size int64
}

func openSegmentFile(path string, limit int64) (*segmentFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &segmentFile{f: f, size: min(st.Size(), limit)}, nil
}

// batchAt returns the batch at pos, or ok=false when the file ends inside
// it (a torn tail, or the --max-bytes limit). A batch that cannot be one
// is an error naming the file and the position.
func (s *segmentFile) batchAt(pos int64) (h protocol.BatchHeader, b []byte, ok bool, err error) {
	prefix := make([]byte, protocol.LogOverhead)
	if s.size-pos < protocol.LogOverhead {
		return h, nil, false, nil
	}
	if _, err := s.f.ReadAt(prefix, pos); err != nil {
		return h, nil, false, fmt.Errorf("%s: reading position %d: %w", s.f.Name(), pos, err)
	}
	n := int64(int32(binary.BigEndian.Uint32(prefix[8:]))) + protocol.LogOverhead
	if n < protocol.BatchHeaderSize {
		_, _, _, err := protocol.NextBatch(prefix)
		return h, nil, false, fmt.Errorf("%s: position %d: %w", s.f.Name(), pos, err)
	}
	if n > s.size-pos {
		return h, nil, false, nil
	}
	b = make([]byte, n)
	if _, err := s.f.ReadAt(b, pos); err != nil {
		return h, nil, false, fmt.Errorf("%s: reading position %d: %w", s.f.Name(), pos, err)
	}
	h, _, _, err = protocol.NextBatch(b)
	if err != nil {
		return h, nil, false, fmt.Errorf("%s: position %d: %w", s.f.Name(), pos, err)
	}
	return h, b, true, nil
}

func (d *dumper) dumpSegment(path string) error {
	base, err := log.SegmentBase(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "Log starting offset: %d\n", base)
	s, err := openSegmentFile(path, int64(d.maxBytes))
	if err != nil {
		return err
	}
	defer s.f.Close()
	d.lastOffsets = -1
	var gaps [][2]int64
	pos := int64(0)
	for {
		h, b, ok, err := s.batchAt(pos)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		printBatch(d.out, &h, b, pos)
		if d.deep {
			if err := d.printRecords(&h, b, &gaps); err != nil {
				return fmt.Errorf("%s: batch at position %d: %w", path, pos, err)
			}
		}
		pos += int64(len(b))
	}
	if trailing := s.size - pos; trailing > 0 && d.maxBytes == maxInt32 {
		fmt.Fprintf(d.out, "Found %d invalid bytes at the end of %s\n", trailing, filepath.Base(path))
	}
	if len(gaps) > 0 {
		block := "Non-consecutive offsets in " + absolute(path)
		for _, g := range gaps {
			block += fmt.Sprintf("\n  %d is followed by %d", g[0], g[1])
		}
		d.nonConsec = append(d.nonConsec, block)
	}
	return nil
}

// printBatch prints the batch line of Kafka's tool.
func printBatch(w io.Writer, h *protocol.BatchHeader, b []byte, pos int64) {
	horizon := "OptionalLong.empty"
	if h.Attributes&attrDeleteHorizon != 0 {
		horizon = fmt.Sprintf("OptionalLong[%d]", h.BaseTimestamp)
	}
	fmt.Fprintf(w, "baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d producerEpoch: %d "+
		"partitionLeaderEpoch: %d isTransactional: %t isControl: %t deleteHorizonMs: %s position: %d %s: %d size: %d magic: %d "+
		"compresscodec: %s crc: %d isvalid: %t\n",
		h.BaseOffset, h.LastOffset(), h.NumRecords, h.BaseSequence, h.LastSequence(), h.ProducerID, h.ProducerEpoch,
		h.PartitionLeaderEpoch, h.IsTransactional(), h.IsControl(), horizon, pos, timestampType(h), h.MaxTimestamp,
		len(b), h.Magic, codecName(h.Compression()), h.CRC, protocol.VerifyCRC(b, h) == nil)
}

// attrDeleteHorizon marks a batch whose base timestamp is the time the
// cleaner may drop its tombstones (Kafka's deleteHorizonMs).
const attrDeleteHorizon = 0x40

func timestampType(h *protocol.BatchHeader) string {
	if h.Attributes&protocol.AttrTimestampType != 0 {
		return "LogAppendTime"
	}
	return "CreateTime"
}

func codecName(c int) string {
	if names := []string{"none", "gzip", "snappy", "lz4", "zstd"}; c < len(names) {
		return names[c]
	}
	return "unknown(" + strconv.Itoa(c) + ")"
}

// printRecords prints a record line per record, and notes where offsets
// do not follow each other (a compacted log, or a damaged one).
func (d *dumper) printRecords(h *protocol.BatchHeader, b []byte, gaps *[][2]int64) error {
	var perr error
	err := protocol.EachRecord(b, func(r protocol.RecordView) {
		var rec kmsg.Record
		if err := rec.ReadFrom(r.Raw); err != nil && perr == nil {
			perr = err
		}
		offset := h.BaseOffset + int64(r.OffsetDelta)
		if offset != d.lastOffsets+1 {
			*gaps = append(*gaps, [2]int64{d.lastOffsets, offset})
		}
		d.lastOffsets = offset
		if !d.skipMetadata {
			d.printRecordMetadata(h, r, rec.Headers)
		}
		if d.printData && !h.IsControl() {
			prefix := " "
			if d.skipMetadata {
				prefix = "| "
			}
			if r.Key != nil {
				fmt.Fprintf(d.out, "%skey: %s", prefix, strings.ToValidUTF8(string(r.Key), "\uFFFD"))
				prefix = " "
			}
			if r.Value != nil {
				fmt.Fprintf(d.out, "%spayload: %s", prefix, strings.ToValidUTF8(string(r.Value), "\uFFFD"))
			}
		}
		fmt.Fprintln(d.out)
	})
	return errors.Join(err, perr)
}

func (d *dumper) printRecordMetadata(h *protocol.BatchHeader, r protocol.RecordView, headers []kmsg.Header) {
	ts := h.BaseTimestamp + r.TimestampDelta
	if h.Attributes&protocol.AttrTimestampType != 0 {
		ts = h.MaxTimestamp
	}
	at := *h
	at.LastOffsetDelta = r.OffsetDelta // the sequence of this record, wrapped as Kafka does
	keys := make([]string, len(headers))
	for i, hd := range headers {
		keys[i] = hd.Key
	}
	fmt.Fprintf(d.out, "| offset: %d %s: %d keySize: %d valueSize: %d sequence: %d headerKeys: [%s]",
		h.BaseOffset+int64(r.OffsetDelta), timestampType(h), ts, nullableLen(r.Key), nullableLen(r.Value),
		at.LastSequence(), strings.Join(keys, ","))
	if h.IsControl() {
		fmt.Fprint(d.out, controlRecord(r))
	}
}

func nullableLen(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

// controlRecord describes a control record as Kafka's tool does for
// transaction markers; KRaft's own control records, which only the
// metadata log holds, are named by type.
func controlRecord(r protocol.RecordView) string {
	if len(r.Key) < 4 {
		return " controlType: UNKNOWN(-1)"
	}
	typ := int16(binary.BigEndian.Uint16(r.Key[2:]))
	names := []string{"ABORT", "COMMIT", "LEADER_CHANGE", "SNAPSHOT_HEADER", "SNAPSHOT_FOOTER", "KRAFT_VERSION", "KRAFT_VOTERS"}
	switch {
	case typ <= 1 && typ >= 0 && len(r.Value) >= 6:
		epoch := int32(binary.BigEndian.Uint32(r.Value[2:]))
		return fmt.Sprintf(" endTxnMarker: %s coordinatorEpoch: %d", names[typ], epoch)
	case typ >= 2 && int(typ) < len(names):
		return fmt.Sprintf(" controlType: %s(%d)", names[typ], typ)
	}
	return fmt.Sprintf(" controlType: UNKNOWN(%d)", typ)
}

// segmentSibling is the file of the same segment with another suffix.
func segmentSibling(path, suffix string) string {
	dir, name := filepath.Split(path)
	base, _, _ := strings.Cut(name, ".")
	return filepath.Join(dir, base+suffix)
}

func absolute(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// openIndexFile reads an index file and opens the segment it indexes,
// which the caller closes.
func openIndexFile(path string) (base int64, s *segmentFile, b []byte, err error) {
	if base, err = log.SegmentBase(path); err != nil {
		return 0, nil, nil, err
	}
	if s, err = openSegmentFile(segmentSibling(path, ".log"), maxInt32); err != nil {
		return 0, nil, nil, err
	}
	if b, err = os.ReadFile(path); err != nil {
		s.f.Close()
		return 0, nil, nil, err
	}
	return base, s, b, nil
}

// dumpIndex prints a .index file and checks each entry against the batch
// it points at: Kafka's indexes name the last offset of that batch.
func (d *dumper) dumpIndex(path string) error {
	base, s, b, err := openIndexFile(path)
	if err != nil {
		return err
	}
	defer s.f.Close()
	entries, err := log.DecodeOffsetIndex(b, base)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(entries) == 0 {
		fmt.Fprintf(d.out, "%s is empty.\n", path)
		return nil
	}
	var mismatches []string
	for i, e := range entries {
		if i > 0 && e.Offset == base { // the zeroed tail of a preallocated index
			break
		}
		h, _, ok, err := s.batchAt(int64(e.Position))
		if err != nil {
			return err
		}
		if last := h.LastOffset(); !ok || last != e.Offset {
			if !ok {
				last = -1
			}
			mismatches = append(mismatches, fmt.Sprintf("  Index offset: %d, log offset: %d", e.Offset, last))
		}
		if !d.verifyOnly {
			fmt.Fprintf(d.out, "offset: %d position: %d\n", e.Offset, e.Position)
		}
	}
	if len(mismatches) > 0 {
		slices.Reverse(mismatches) // Kafka lists them from the highest offset down
		d.problems = append(d.problems, "Mismatches in :"+absolute(path)+"\n"+strings.Join(mismatches, "\n"))
	}
	return nil
}

// dumpTimeIndex prints a .timeindex file and checks each entry: it must
// name the last offset of a batch whose records' greatest timestamp is the
// entry's, and timestamps must rise.
func (d *dumper) dumpTimeIndex(path string) error {
	base, s, b, err := openIndexFile(path)
	if err != nil {
		return err
	}
	defer s.f.Close()
	entries, err := log.DecodeTimeIndex(b, base)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var mismatch, order, missing []string
	prev, from := int64(-1), int64(0)
	for i, e := range entries {
		if i > 0 && e.Offset == base {
			break
		}
		if i > 0 && e.Offset < entries[i-1].Offset {
			from = 0 // out of order: search again from the start
		}
		h, b, pos, found, err := s.batchEnding(e.Offset, from)
		if err != nil {
			return err
		}
		from = pos
		switch {
		case !found:
			missing = append(missing, fmt.Sprintf("Indexed offset: %d, found log offset: -1", e.Offset))
		case h.LastOffset() != e.Offset:
			missing = append(missing, fmt.Sprintf("Indexed offset: %d, found log offset: %d", e.Offset, h.LastOffset()))
		default:
			maxTs := int64(-1)
			if err := protocol.RecordTimestamps(b, &h, func(_ int32, ts int64) bool { maxTs = max(maxTs, ts); return true }); err != nil {
				return fmt.Errorf("%s: batch at offset %d: %w", s.f.Name(), h.BaseOffset, err)
			}
			if maxTs != e.Timestamp {
				mismatch = append(mismatch, fmt.Sprintf("  Index timestamp: %d, log timestamp: %d", e.Timestamp, maxTs))
			}
			if prev >= e.Timestamp {
				order = append(order, fmt.Sprintf("  Index timestamp: %d, Previously indexed timestamp: %d", e.Timestamp, prev))
			}
		}
		if !d.verifyOnly {
			fmt.Fprintf(d.out, "timestamp: %d offset: %d\n", e.Timestamp, e.Offset)
		}
		prev = e.Timestamp
	}
	if len(mismatch) > 0 {
		d.problems = append(d.problems, "Found timestamp mismatch in :"+absolute(path)+"\n"+strings.Join(mismatch, "\n"))
	}
	if len(order) > 0 {
		d.problems = append(d.problems, "Found out of order timestamp in :"+absolute(path)+"\n"+strings.Join(order, "\n"))
	}
	if len(missing) > 0 {
		d.problems = append(d.problems, "The following indexed offsets are not found in the log.\n"+strings.Join(missing, "\n"))
	}
	return nil
}

// batchEnding finds the first batch at or after position from whose last
// offset reaches offset, and its position. The time index's entries rise,
// so each search starts where the previous one ended.
func (s *segmentFile) batchEnding(offset, from int64) (protocol.BatchHeader, []byte, int64, bool, error) {
	for pos := from; ; {
		h, b, ok, err := s.batchAt(pos)
		if err != nil || !ok {
			return h, nil, from, false, err
		}
		if h.LastOffset() >= offset {
			return h, b, pos, true, nil
		}
		pos += int64(len(b))
	}
}

// dumpTxnIndex prints the aborted transactions of a .txnindex file.
func dumpTxnIndex(out io.Writer, path string) error {
	base, err := log.SegmentBase(path)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	entries, err := log.DecodeTxnIndex(b, base)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, e := range entries {
		fmt.Fprintf(out, "version: 0 producerId: %d firstOffset: %d lastOffset: %d lastStableOffset: %d\n",
			e.ProducerID, e.FirstOffset, e.LastOffset, e.LastStableOffset)
	}
	return nil
}

// dumpKafkaSnapshot prints Kafka's producer snapshot; a corrupt one is
// reported on standard error and the next file follows, as Kafka does.
func dumpKafkaSnapshot(out, stderr io.Writer, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	producers, err := log.DecodeKafkaProducerSnapshot(b)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil
	}
	printProducers(out, producers)
	return nil
}

// dumpProducerState prints gokafka's producer-state.json in the lines
// Kafka prints for its own snapshots, after the offset it covers.
func dumpProducerState(out io.Writer, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	producers, offset, err := log.DecodeProducerSnapshot(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(out, "Snapshot end offset: %d\n", offset)
	printProducers(out, producers)
	return nil
}

func printProducers(out io.Writer, producers []log.SnapshotProducer) {
	for _, p := range producers {
		txn := "OptionalLong.empty"
		if p.CurrentTxnFirstOffset >= 0 {
			txn = fmt.Sprintf("OptionalLong[%d]", p.CurrentTxnFirstOffset)
		}
		fmt.Fprintf(out, "producerId: %d producerEpoch: %d coordinatorEpoch: %d currentTxnFirstOffset: %s lastTimestamp: %d",
			p.ProducerID, p.Epoch, p.CoordinatorEpoch, txn, p.Timestamp)
		if p.LastOffset >= 0 {
			fmt.Fprintf(out, " firstSequence: %d lastSequence: %d lastOffset: %d offsetDelta: %d timestamp: %d",
				p.FirstSequence(), p.LastSequence, p.LastOffset, p.OffsetDelta, p.Timestamp)
		}
		fmt.Fprintln(out)
	}
}

// dumpEpochs prints leader-epoch-checkpoint, which Kafka's tool cannot
// read: the epochs and the offsets at which their leaders began writing.
func dumpEpochs(out io.Writer, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	entries, err := log.DecodeLeaderEpochs(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, e := range entries {
		fmt.Fprintf(out, "epoch: %d startOffset: %d\n", e.Epoch, e.StartOffset)
	}
	return nil
}
