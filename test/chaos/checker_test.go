package chaos

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// synthetic is a clean run: two producers writing 20 values each
// alternately to two partitions of three replicas, one acknowledgement
// every 100 ms, a consumer that read and committed everything, rising high
// watermarks, and one fault from 1 s to 2 s that took partition 0's leader.
func synthetic() (History, Final) {
	tps := []TP{{"t", 0}, {"t", 1}}
	h := History{Partitions: tps, End: t0.Add(5 * time.Second)}
	logs := map[TP][]Record{}
	for i := range 40 {
		tp := tps[i%2]
		v := Value(i%2+1, int64(i/2))
		off := int64(len(logs[tp]))
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		logs[tp] = append(logs[tp], Record{off, v})
		h.Acks = append(h.Acks, Ack{TP: tp, Offset: off, Value: v, At: at})
		h.Reads = append(h.Reads, Read{TP: tp, Offset: off, Value: v})
		h.HWs = append(h.HWs, HWSample{TP: tp, HW: off + 1, At: at})
		h.Commits = append(h.Commits, Commit{TP: tp, Offset: off + 1, At: at.Add(time.Millisecond), Acked: true})
	}
	h.Faults = []Fault{{Nemesis: "kill-leader", Start: t0.Add(time.Second), Healed: t0.Add(2 * time.Second), Affected: tps[:1], Followed: tps[1:]}}
	f := Final{Replicas: map[TP]map[int32][]Record{}, HW: map[TP]int64{}, ServerLog: map[string]string{
		"node-1": "time=x level=INFO msg=\"metadata quorum ready\"\n",
	}}
	for _, tp := range tps {
		f.Replicas[tp] = map[int32][]Record{}
		for id := int32(1); id <= 3; id++ {
			f.Replicas[tp][id] = slices.Clone(logs[tp])
		}
		f.HW[tp] = int64(len(logs[tp]))
	}
	return h, f
}

func TestCheckCleanHistory(t *testing.T) {
	h, f := synthetic()
	r := Check(h, f)
	if !r.Clean() {
		t.Fatalf("a clean history reported: %v", r.Problems())
	}
	if r.Acked != 40 || len(r.Faults) != 1 || r.Faults[0].Acked != 30 { // from 1 s on, the last fault to strike
		t.Fatalf("acked %d, faults %+v", r.Acked, r.Faults)
	}
	// Acknowledgements every 200 ms on partition 0.
	if got := r.Faults[0].LongestUnavailable; got != 200*time.Millisecond {
		t.Errorf("longest unavailability %v, want 200ms", got)
	}
}

// TestCheckCatchesPlantedAnomalies plants each anomaly in the clean
// history and asserts that the checker reports it, under its own name, and
// nothing else.
func TestCheckCatchesPlantedAnomalies(t *testing.T) {
	p0, p1 := TP{"t", 0}, TP{"t", 1}
	everywhere := func(f Final, tp TP, edit func([]Record) []Record) {
		for id, log := range f.Replicas[tp] {
			f.Replicas[tp][id] = edit(slices.Clone(log))
		}
	}
	for _, tc := range []struct {
		name  string
		plant func(h *History, f *Final)
		kind  func(r *Report) []Anomaly
		also  []string // other kinds the plant also breaks, by construction
	}{
		{"lost", func(h *History, f *Final) {
			// The last record of partition 0 gone from every replica.
			everywhere(*f, p0, func(l []Record) []Record { return l[:len(l)-1] })
		}, func(r *Report) []Anomaly { return r.Lost }, []string{"phantom read"}},
		{"moved", func(h *History, f *Final) {
			// The first acknowledgement named a place another record holds.
			h.Acks[0].TP, h.Acks[0].Offset = p1, 7
		}, func(r *Report) []Anomaly { return r.Moved }, nil},
		{"duplicated", func(h *History, f *Final) {
			// Partition 0's last value written to partition 1 as well.
			last := f.Replicas[p0][1][19].Value
			everywhere(*f, p1, func(l []Record) []Record { return append(l, Record{int64(len(l)), last}) })
		}, func(r *Report) []Anomaly { return r.Duplicated }, nil},
		{"reordered", func(h *History, f *Final) {
			// Producer 1's values 3 and 4 written in the wrong order; the
			// acknowledgements say where each went.
			everywhere(*f, p0, func(l []Record) []Record {
				l[3].Value, l[4].Value = l[4].Value, l[3].Value
				return l
			})
			for i := range h.Acks {
				if a := &h.Acks[i]; a.TP == p0 && (a.Offset == 3 || a.Offset == 4) {
					a.Offset = 7 - a.Offset
				}
			}
			for i := range h.Reads {
				if rd := &h.Reads[i]; rd.TP == p0 && (rd.Offset == 3 || rd.Offset == 4) {
					rd.Offset = 7 - rd.Offset
				}
			}
		}, func(r *Report) []Anomaly { return r.Reordered }, nil},
		{"divergent", func(h *History, f *Final) {
			// One follower kept a record the others truncated.
			f.Replicas[p1][3] = append(f.Replicas[p1][3], Record{20, Value(9, 0)})
		}, func(r *Report) []Anomaly { return r.Divergent }, nil},
		{"phantom read", func(h *History, f *Final) {
			h.Reads = append(h.Reads, Read{TP: p0, Offset: 20, Value: Value(9, 1)})
		}, func(r *Report) []Anomaly { return r.PhantomReads }, nil},
		{"commit backwards", func(h *History, f *Final) {
			// A member's commit acknowledged below an earlier one.
			h.Commits = append(h.Commits, Commit{TP: p1, Offset: 3, At: t0.Add(4500 * time.Millisecond), Acked: true})
		}, func(r *Report) []Anomaly { return r.CommitBackwards }, nil},
		{"commit above high watermark", func(h *History, f *Final) {
			h.Commits = append(h.Commits, Commit{TP: p0, Offset: 25, At: t0.Add(4500 * time.Millisecond), Acked: true})
		}, func(r *Report) []Anomaly { return r.CommitAboveHW }, nil},
		{"high watermark backwards", func(h *History, f *Final) {
			// A new leader (epoch 1) answering below what epoch 0 gave.
			h.HWs = append(h.HWs, HWSample{TP: p1, HW: 12, Epoch: 1, At: t0.Add(4 * time.Second)})
			// The last commit, at 3.901 s, is judged by this sample too.
		}, func(r *Report) []Anomaly { return r.HWBackwards }, []string{"commit above high watermark"}},
		{"commit backwards", func(h *History, f *Final) {
			// Read back low after the group acknowledged higher, and never
			// read back higher again: the commit was lost.
			h.Commits = append(h.Commits, Commit{TP: p1, Offset: 5, At: t0.Add(4500 * time.Millisecond)})
		}, func(r *Report) []Anomaly { return r.CommitBackwards }, nil},
		{"aborted read", func(h *History, f *Final) {
			// The last value of partition 1 was written in a transaction
			// that aborted, yet a read_committed consumer was given it.
			last := f.Replicas[p1][1][19]
			h.Acks = slices.DeleteFunc(h.Acks, func(a Ack) bool { return a.Value == last.Value })
			h.Aborted = append(h.Aborted, last.Value)
			h.CommittedReads = append(h.CommittedReads, Read{TP: p1, Offset: last.Offset, Value: last.Value})
		}, func(r *Report) []Anomaly { return r.AbortedReads }, nil},
		{"server log", func(h *History, f *Final) {
			f.ServerLog["node-2"] = "level=ERROR msg=\"BUG: handler panicked\" panic=\"index out of range\"\n"
			f.ServerLog["node-3"] = "WARNING: DATA RACE\nRead at 0x00c by goroutine 7:\n"
		}, func(r *Report) []Anomaly { return r.ServerErrors }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, f := synthetic()
			tc.plant(&h, &f)
			r := Check(h, f)
			if len(tc.kind(&r)) == 0 || len(r.Stale()) > 0 {
				t.Fatalf("planted %s not reported; report: %v", tc.name, r.Problems())
			}
			for _, p := range r.Problems() {
				kind, _, _ := strings.Cut(p, ":")
				if kind != tc.name && !slices.Contains(tc.also, kind) {
					t.Errorf("planting %s also reported %s", tc.name, p)
				}
			}
		})
	}
}

// TestCheckAttributesToFaults puts a lost record in the fault's stay and
// a long silence on partition 0 inside it, and reads both back from the
// fault's row.
func TestCheckAttributesToFaults(t *testing.T) {
	h, f := synthetic()
	// Partition 0 acknowledges nothing from 1.0 s to 2.6 s.
	var acks []Ack
	for _, a := range h.Acks {
		if a.TP != (TP{"t", 0}) || a.At.Before(t0.Add(time.Second)) || !a.At.Before(t0.Add(2600*time.Millisecond)) {
			acks = append(acks, a)
		}
	}
	h.Acks = acks
	// One acknowledgement at 1.5 s on partition 1 is missing from the log.
	lost := Ack{TP: TP{"t", 1}, Offset: 99, Value: Value(7, 0), At: t0.Add(1500 * time.Millisecond)}
	h.Acks = append(h.Acks, lost)
	r := Check(h, f)
	if len(r.Lost) != 1 || r.Lost[0].Value != lost.Value {
		t.Fatalf("lost %v", r.Lost)
	}
	fs := r.Faults[0]
	if fs.Lost != 1 {
		t.Errorf("fault's lost = %d, want 1", fs.Lost)
	}
	if fs.LongestUnavailable != 1600*time.Millisecond {
		t.Errorf("longest unavailability %v, want 1.6s", fs.LongestUnavailable)
	}
	if fs.Recovery != 600*time.Millisecond {
		t.Errorf("recovery %v, want 600ms (healed at 2 s, first ack at 2.6 s)", fs.Recovery)
	}
	if keys := slices.Collect(maps.Keys(f.Replicas)); len(keys) != 2 {
		t.Fatalf("replicas %v", keys)
	}
}

// TestCheckMeasuresFollowerStall silences partition 1, which the struck
// node followed, from 1.0 s to 2.3 s, and reads the stall back from the
// fault's row, apart from the unavailability of the partition it led.
func TestCheckMeasuresFollowerStall(t *testing.T) {
	h, f := synthetic()
	h.Acks = slices.DeleteFunc(h.Acks, func(a Ack) bool {
		return a.TP == TP{"t", 1} && !a.At.Before(t0.Add(time.Second)) && a.At.Before(t0.Add(2300*time.Millisecond))
	})
	fs := Check(h, f).Faults[0]
	if fs.LongestFollowerStall != 1300*time.Millisecond || fs.Stalled != (TP{"t", 1}) {
		t.Errorf("follower stall %v on %s, want 1.3s on t-1", fs.LongestFollowerStall, fs.Stalled)
	}
	if fs.LongestUnavailable != 200*time.Millisecond {
		t.Errorf("longest unavailability of the led partition %v, want 200ms", fs.LongestUnavailable)
	}
}

func TestValueRoundTrip(t *testing.T) {
	p, seq, ok := ParseValue(Value(12, 345))
	if !ok || p != 12 || seq != 345 {
		t.Fatalf("ParseValue(Value(12, 345)) = %d %d %v", p, seq, ok)
	}
	for _, bad := range []string{"", "p1-2", "p001-00000000000x", "x001-000000000001", "p001-000000000001z"} {
		if _, _, ok := ParseValue(bad); ok {
			t.Errorf("ParseValue(%q) accepted", bad)
		}
	}
}

// TestCheckStaleReads plants the answers of a deposed leader and a deposed
// group coordinator, each corrected later, and sees them reported as
// stale and not as broken guarantees.
func TestCheckStaleReads(t *testing.T) {
	h, f := synthetic()
	p1 := TP{"t", 1}
	h.HWs = append(h.HWs,
		HWSample{TP: p1, HW: 25, Epoch: 1, At: t0.Add(4 * time.Second)},         // the new leader
		HWSample{TP: p1, HW: 18, Epoch: 0, At: t0.Add(4100 * time.Millisecond)}, // the old one, healed
	)
	h.Commits = append(h.Commits,
		Commit{TP: p1, Offset: 12, At: t0.Add(4200 * time.Millisecond)},
		Commit{TP: p1, Offset: 20, At: t0.Add(4700 * time.Millisecond)},
		// Below the new leader's high watermark, above the old one's.
		Commit{TP: p1, Offset: 20, At: t0.Add(4050 * time.Millisecond), Acked: true},
	)
	f.HW[p1] = 25
	r := Check(h, f)
	if !r.Clean() {
		t.Fatalf("stale reads reported as broken: %v", r.Problems())
	}
	if len(r.StaleHW) != 1 || len(r.StaleCommits) != 1 {
		t.Fatalf("stale reads: %v", r.Stale())
	}
}

// TestCheckOverlappingCommits replays what seed 4's one-way-leader runs
// reported as commits going backwards (kgo-5374… generation 1, 16606 after
// a read back of 16624): the coordinator stored 16606 and then 16624, but
// the OffsetFetch that read 16624 back had been sent 1.7 s earlier and was
// retried while the coordinator moved, and was stamped with when it was
// sent. Ordered by when each request went out and was answered, nothing
// went backwards; a commit sent after a higher one was answered still did.
func TestCheckOverlappingCommits(t *testing.T) {
	at := func(ms int) time.Time { return t0.Add(4*time.Second + time.Duration(ms)*time.Millisecond) }
	p1 := TP{"t", 1}
	overlapping := []Commit{
		{TP: p1, Offset: 30, Sent: at(0), At: at(1700)},                 // read back, retried meanwhile
		{TP: p1, Offset: 25, Sent: at(1500), At: at(1680), Acked: true}, // stored first
		{TP: p1, Offset: 30, Sent: at(1681), At: at(1690), Acked: true},
	}
	h, f := synthetic()
	h.Commits = append(h.Commits, overlapping...)
	f.HW[p1] = 40
	h.HWs = append(h.HWs, HWSample{TP: p1, HW: 40, At: at(1800)})
	if r := Check(h, f); !r.Clean() || len(r.Stale()) > 0 {
		t.Fatalf("overlapping commits reported: %v %v", r.Problems(), r.Stale())
	}

	// The same commit of 25 sent after the read back of 30 was answered.
	h.Commits = append(h.Commits, Commit{TP: p1, Offset: 25, Sent: at(1750), At: at(1760), Acked: true})
	r := Check(h, f)
	if len(r.CommitBackwards) != 1 || r.CommitBackwards[0].Offset != 25 {
		t.Fatalf("a commit sent after a higher one was answered: backwards %v, all %v", r.CommitBackwards, r.Problems())
	}
}
