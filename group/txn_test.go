package group

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// offsetKV is group g's commit of offset for t-0.
func offsetKV(offset int64) []protocol.KV {
	co := Offset{Offset: offset}
	return []protocol.KV{Record("g", tp0, &co)}
}

// txnCommitBatch is producer pid's transactional commit of offset for g's
// t-0, stored at base.
func txnCommitBatch(pid int64, offset, base int64) []byte {
	b := protocol.BuildTransactionalBatch(1, pid, 0, offsetKV(offset))
	protocol.SetBaseOffset(b, base)
	return b
}

func plainCommitBatch(offset, base int64) []byte {
	b := protocol.BuildBatch(1, offsetKV(offset))
	protocol.SetBaseOffset(b, base)
	return b
}

// markerBatch is a control batch of producer pid with the given control
// record key, and a marker's value.
func markerBatch(pid int64, key []byte) []byte {
	b := protocol.BuildTransactionalBatch(1, pid, 0, []protocol.KV{{Key: key, Value: []byte{0, 0, 0, 0, 0, 5}}})
	binary.BigEndian.PutUint16(b[21:], uint16(protocol.AttrTransactional|protocol.AttrControl))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func commitMarker(pid int64) []byte { return protocol.EndTxnMarker(pid, 0, true, 5, 1) }
func abortMarker(pid int64) []byte  { return protocol.EndTxnMarker(pid, 0, false, 5, 1) }

func committed(img *groupImage) int64 {
	if co, ok := img.Committed["g"][tp0]; ok {
		return co.Offset
	}
	return -1
}

// Transactional offsets wait for their producer's marker: a commit marker
// makes them the group's offsets, an abort marker drops them, and until
// then the last plain commit stands.
func TestTxnOffsetsWaitForTheirMarker(t *testing.T) {
	for _, c := range []struct {
		name   string
		marker []byte
		want   int64
	}{
		{"commit", commitMarker(7), 9},
		{"abort", abortMarker(7), 5},
		{"another producer's commit", commitMarker(8), 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := newGroupImage()
			replayBytes(&img, plainCommitBatch(5, 0))
			replayBytes(&img, txnCommitBatch(7, 9, 1))
			if got := committed(&img); got != 5 || !img.HasPending("g", tp0) {
				t.Fatalf("before the marker: committed %d, pending %v; want 5 and pending", got, img.HasPending("g", tp0))
			}
			replayBytes(&img, c.marker)
			if got := committed(&img); got != c.want {
				t.Fatalf("committed %d after the marker, want %d", got, c.want)
			}
			if pending := img.HasPending("g", tp0); pending != (c.name == "another producer's commit") {
				t.Fatalf("producer 7's offset pending %v after %s", pending, c.name)
			}
		})
	}
}

// Of a transactional and a plain commit of one partition, the later
// record wins when the transaction commits, as in Kafka (the cleaner may
// otherwise resurrect the older one on the next load).
func TestLaterPlainCommitBeatsEarlierTxnCommit(t *testing.T) {
	img := newGroupImage()
	replayBytes(&img, txnCommitBatch(7, 9, 0))
	replayBytes(&img, plainCommitBatch(12, 1))
	replayBytes(&img, commitMarker(7))
	if got := committed(&img); got != 12 {
		t.Fatalf("committed %d, want the later plain commit 12", got)
	}
	replayBytes(&img, txnCommitBatch(7, 20, 3))
	replayBytes(&img, commitMarker(7))
	if got := committed(&img); got != 20 {
		t.Fatalf("committed %d, want the later transactional commit 20", got)
	}
}

// A tombstone (OffsetDelete, DeleteGroups, expiry) drops the partition's
// pending offsets too, so a later commit marker does not bring them back.
func TestTombstoneDropsPendingOffsets(t *testing.T) {
	img := newGroupImage()
	replayBytes(&img, txnCommitBatch(7, 9, 0))
	replayBytes(&img, protocol.BuildBatch(1, []protocol.KV{Record("g", tp0, nil)}))
	if img.HasPending("g", tp0) || len(img.Committed["g"]) > 0 {
		t.Fatal("the tombstone left pending offsets")
	}
	replayBytes(&img, commitMarker(7))
	if got := committed(&img); got != -1 {
		t.Fatalf("committed %d after the marker, want none", got)
	}
}

// Control batches that are not end-transaction markers are skipped with
// an error line, and what follows them still loads.
func TestReplaySkipsHostileControlBatches(t *testing.T) {
	img := newGroupImage()
	replayBytes(&img, txnCommitBatch(7, 9, 0))
	for _, key := range [][]byte{nil, {0}, {0, 0, 0}, {0, 0, 0, 9}, {0xff, 0xff, 0, 1}} {
		replayBytes(&img, markerBatch(7, key))
	}
	two := protocol.BuildTransactionalBatch(1, 7, 0, []protocol.KV{{Key: []byte{0, 0, 0, 1}}, {Key: []byte{0, 0, 0, 1}}})
	binary.BigEndian.PutUint16(two[21:], uint16(protocol.AttrTransactional|protocol.AttrControl))
	replayBytes(&img, two)
	if !img.HasPending("g", tp0) {
		t.Fatal("a control batch that is no marker ended the transaction")
	}
	replayBytes(&img, commitMarker(7))
	if got := committed(&img); got != 9 {
		t.Fatalf("committed %d after the real marker, want 9", got)
	}
}

// KIP-447's checks of a transactional commit against the group.
func TestCheckTxnCommit(t *testing.T) {
	gc := &Coordinator{groupImage: newGroupImage()}
	stable := newGroup("stable")
	stable.generation, stable.state = 3, groupStable
	stable.members["m"] = &member{id: "m", instanceID: "i"}
	stable.static["i"] = "m"
	gc.groups["stable"] = stable
	empty := newGroup("empty")
	empty.generation = 2
	gc.groups["empty"] = empty
	for _, c := range []struct {
		group, member string
		instance      *string
		generation    int32
		want          protocol.ErrorCode
	}{
		{"unknown", "", nil, -1, protocol.None},
		{"unknown", "m", nil, 1, protocol.IllegalGeneration},
		{"empty", "", nil, -1, protocol.None},
		{"empty", "m", nil, 2, protocol.UnknownMemberID},
		{"stable", "m", nil, 3, protocol.None},
		{"stable", "m", nil, 2, protocol.IllegalGeneration},
		{"stable", "x", nil, 3, protocol.UnknownMemberID},
		{"stable", "x", kmsg.StringPtr("i"), 3, protocol.FencedInstanceID},
		{"stable", "", nil, -1, protocol.None}, // v0-v2: no member fields
	} {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.Group, req.MemberID, req.InstanceID, req.Generation = c.group, c.member, c.instance, c.generation
		if got := checkTxnCommit(gc.groups[c.group], req); got != c.want {
			t.Errorf("%s member %q generation %d: %v, want %v", c.group, c.member, c.generation, got, c.want)
		}
	}
}
