package group

import (
	"testing"

	klog "github.com/gokafka/gokafka/log"
)

var tp0 = klog.TopicPartition{Topic: "t"}

// EndTxn settles only the groups accepted: a marker settles those of the
// offsets partition it was written to, and the same producer may have
// offsets pending in groups of other partitions, whose markers come
// separately.
func TestEndTxnSettlesOnlyAcceptedGroups(t *testing.T) {
	s := NewOffsets()
	s.StorePending("g", 7, tp0, Offset{Offset: 9})
	s.StorePending("h", 7, tp0, Offset{Offset: 4})
	s.EndTxn(7, true, func(group string) bool { return group == "g" })
	if got := s.Committed["g"][tp0].Offset; got != 9 || s.HasPending("g", tp0) {
		t.Fatalf("g: committed %d, pending %v", got, s.HasPending("g", tp0))
	}
	if _, ok := s.Committed["h"][tp0]; ok || !s.HasPending("h", tp0) {
		t.Fatal("h's offsets were settled by a marker of another partition")
	}
	if tps := s.Partitions("h"); len(tps) != 1 || tps[0] != tp0 {
		t.Fatalf("h's offset partitions %v, want the pending one", tps)
	}
}

// Store keeps the commit whose record is later, whatever the order the
// acknowledgements arrive in.
func TestStoreKeepsTheLaterRecord(t *testing.T) {
	s := NewOffsets()
	s.Store("g", tp0, Offset{Offset: 7, RecordOffset: 10})
	s.Store("g", tp0, Offset{Offset: 5, RecordOffset: 9})
	if got := s.Committed["g"][tp0].Offset; got != 7 {
		t.Fatalf("committed %d, want 7 from the later record", got)
	}
	s.Delete("g", tp0)
	s.Store("g", tp0, Offset{Offset: 5, RecordOffset: 9})
	if got := s.Committed["g"][tp0].Offset; got != 5 {
		t.Fatalf("committed %d after a tombstone, want 5", got)
	}
}
