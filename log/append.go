package log

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/gokafka/gokafka/clock"
	"github.com/gokafka/gokafka/protocol"
)

// AppendOptions says how Append treats the batches.
type AppendOptions struct {
	// LeaderEpoch is stamped into each batch when offsets are assigned.
	LeaderEpoch int32
	// AssignOffsets is true on the leader: batches get the next offsets and
	// the producer-state checks apply. A follower appends batches with the
	// offsets the leader gave them.
	AssignOffsets bool
	// NowMs is the broker's clock for LogAppendTime and rolls; 0 means now.
	NowMs int64
	// CRCVerified says the caller has checked every batch's CRC (the
	// leader runs protocol.ValidateBatch on produced batches) or computed
	// it, so Append need not read every byte a second time. Everything
	// else is still checked.
	CRCVerified bool
	// Origin says who writes: control batches (transaction markers) come
	// only from the transaction coordinator, through a leader, or from a
	// leader's log, through a follower. A follower's append (without
	// AssignOffsets) counts as replication whatever it says.
	Origin AppendOrigin
	// VerificationGuard, when not 0, is what StartVerification returned
	// before the transaction coordinator confirmed the producer's
	// transaction (KIP-890 part 1): a transactional batch that would open
	// a transaction is refused if a marker came in between.
	VerificationGuard uint64
}

// AppendResult describes what one Append wrote.
type AppendResult struct {
	FirstOffset    int64
	LastOffset     int64
	LogAppendTime  int64 // -1 unless the topic uses LogAppendTime
	LogStartOffset int64
	// Duplicate is true when an idempotent producer retried a batch that is
	// already in the log: nothing was written and the offsets are the
	// original ones.
	Duplicate  bool
	NumRecords int
	Bytes      int
}

// Append validates and writes record batches. Nothing is written unless
// every batch is whole, has a valid CRC and fits max.message.bytes. The
// batches are stored exactly as given apart from the base offset, leader
// epoch and, with LogAppendTime, the timestamp.
func (l *Log) Append(records []byte, opts AppendOptions) (AppendResult, error) {
	res := AppendResult{FirstOffset: -1, LastOffset: -1, LogAppendTime: -1}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return res, fmt.Errorf("%s: log is closed", l.tp)
	}
	if l.syncErr != nil {
		return res, l.syncErr
	}
	batches, err := l.validate(records, opts.CRCVerified)
	if err != nil {
		return res, err
	}
	if err := l.writeMetaLocked(); err != nil {
		return res, err
	}
	now := clock.Now()
	if opts.NowMs > 0 {
		now = time.UnixMilli(opts.NowMs)
	}
	for _, b := range batches {
		h, dup, err := l.prepare(b, opts, now)
		if err != nil {
			return res, err
		}
		if dup != nil {
			return AppendResult{FirstOffset: dup.FirstOffset, LastOffset: dup.LastOffset, LogAppendTime: -1,
				LogStartOffset: l.logStartOffset, Duplicate: true}, nil
		}
		if err := l.write(b, &h, now); err != nil {
			return res, err
		}
		if res.FirstOffset < 0 {
			res.FirstOffset = h.BaseOffset
		}
		if h.Attributes&protocol.AttrTimestampType != 0 {
			res.LogAppendTime = h.MaxTimestamp
		}
		res.LastOffset = h.LastOffset()
		res.NumRecords += int(h.NumRecords)
		res.Bytes += len(b)
	}
	res.LogStartOffset = l.logStartOffset
	if l.cfg.FlushBeforeAck {
		l.requestSyncLocked()
	}
	return res, l.maybeFlush()
}

// validate splits records into whole batches and checks each one.
func (l *Log) validate(records []byte, crcVerified bool) ([][]byte, error) {
	var batches [][]byte
	for rest := records; len(rest) > 0; {
		h, b, next, err := protocol.NextBatch(rest)
		if err != nil {
			return nil, protocol.Errorf(protocol.CorruptMessage, "%s: %v", l.tp, err)
		}
		if !crcVerified {
			if err := protocol.VerifyCRC(b, &h); err != nil {
				return nil, protocol.Errorf(protocol.CorruptMessage, "%s: %v", l.tp, err)
			}
		}
		if len(b) > int(l.cfg.MaxMessageBytes) {
			return nil, protocol.Errorf(protocol.MessageTooLarge, "%s: batch of %d bytes exceeds max.message.bytes %d", l.tp, len(b), l.cfg.MaxMessageBytes)
		}
		if h.NumRecords == 0 || int64(h.NumRecords) != int64(h.LastOffsetDelta)+1 {
			return nil, protocol.Errorf(protocol.InvalidRecord, "%s: batch has %d records for offset delta %d", l.tp, h.NumRecords, h.LastOffsetDelta)
		}
		batches = append(batches, b)
		rest = next
	}
	if len(batches) == 0 {
		return nil, protocol.Errorf(protocol.InvalidRecord, "%s: no record batch in the request", l.tp)
	}
	return batches, nil
}

// prepare assigns offsets on the leader (after the idempotence check) or
// checks them on a follower, and returns the batch's final header.
func (l *Log) prepare(b []byte, opts AppendOptions, now time.Time) (protocol.BatchHeader, *batchMeta, error) {
	h, _ := protocol.ParseBatchHeader(b)
	leo := l.logEndOffset()
	if !opts.AssignOffsets {
		if h.BaseOffset < leo {
			return h, nil, protocol.Errorf(protocol.UnknownServerError, "%s: batch at offset %d is below the log end %d", l.tp, h.BaseOffset, leo)
		}
		return h, nil, nil
	}
	if h.IsControl() {
		if err := l.producers.checkMarker(b, &h, opts.Origin); err != nil {
			return h, nil, fmt.Errorf("%s: %w", l.tp, err)
		}
	} else if dup, err := l.producers.check(&h); dup != nil || err != nil {
		return h, dup, err
	} else if err := l.producers.checkGuard(&h, opts.VerificationGuard); err != nil {
		return h, nil, fmt.Errorf("%s: %w", l.tp, err)
	}
	protocol.SetBaseOffset(b, leo)
	protocol.SetPartitionLeaderEpoch(b, opts.LeaderEpoch)
	if l.cfg.LogAppendTime {
		protocol.SetLogAppendTime(b, now.UnixMilli())
	}
	h, _ = protocol.ParseBatchHeader(b)
	return h, nil, nil
}

// write appends one prepared batch, rolling the active segment first when
// the batch would break its size, age or index limits.
func (l *Log) write(b []byte, h *protocol.BatchHeader, now time.Time) error {
	if gap := h.BaseOffset > l.logEndOffset(); gap && l.compacted() {
		// A follower of a compacted leader copies its gaps.
		if err := l.markGaps(); err != nil {
			return err
		}
	} else if gap && l.active().size > 0 {
		// Elsewhere offsets stay dense within a segment.
		if err := l.roll(h.BaseOffset); err != nil {
			return err
		}
	}
	if !l.active().fits(len(b), h.LastOffset(), &l.cfg, now) {
		if err := l.roll(h.BaseOffset); err != nil {
			return err
		}
	}
	if err := l.active().append(b, h, l.cfg.IndexIntervalBytes); err != nil {
		return err
	}
	l.applyBatch(l.active(), b, h)
	if l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset) {
		if err := writeEpochs(l.fs, filepath.Join(l.dir, leaderEpochFile), l.epochs); err != nil {
			return err
		}
	}
	l.unflushed += int64(h.NumRecords)
	return nil
}

// roll seals the active segment and starts a new one at base. The sealed
// segment is synced, so the recovery point moves past it, and the producer
// state at base is saved for the next open after a crash.
func (l *Log) roll(base int64) error {
	old := l.active()
	if err := old.seal(); err != nil {
		return err
	}
	s, err := createSegment(l.files, l.fs, l.dir, base)
	if err != nil {
		return err
	}
	l.segments = append(l.segments, s)
	l.recoveryPoint = max(l.recoveryPoint, old.nextOffset)
	return l.takeRollSnapshot(base)
}

func (l *Log) maybeFlush() error {
	if l.unflushed >= l.cfg.FlushIntervalMessages {
		return l.flushLocked()
	}
	return nil
}
