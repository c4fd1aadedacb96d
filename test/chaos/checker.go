package chaos

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Anomaly is one broken guarantee, with where and when it was seen.
type Anomaly struct {
	TP
	Offset int64
	Value  string
	At     time.Time // when its record was acknowledged or the fact observed; zero if unknown
	Detail string
}

func (a Anomaly) String() string {
	s := fmt.Sprintf("%s@%d %s: %s", a.TP, a.Offset, a.Value, a.Detail)
	if !a.At.IsZero() {
		s += " (at " + a.At.Format("15:04:05.000") + ")"
	}
	return s
}

// Report is what Check found. Every list is empty in a correct run.
type Report struct {
	Acked           int
	Lost            []Anomaly // acknowledged, in no replica
	Moved           []Anomaly // acknowledged at one partition and offset, found at another
	Duplicated      []Anomaly // a value at more than one place
	Reordered       []Anomaly // a producer's values out of its order within a partition
	Divergent       []Anomaly // replicas of a partition that differ, one per partition
	PhantomReads    []Anomaly // given to a consumer, not in the final log there
	AbortedReads    []Anomaly // aborted data given to a read_committed consumer
	CommitBackwards []Anomaly // a committed offset below one acknowledged or read earlier, for good
	CommitAboveHW   []Anomaly // a committed offset above the high watermark
	HWBackwards     []Anomaly // a high watermark below one a client saw earlier, in no older leader epoch
	ServerErrors    []Anomaly // panic, fatal error or data race in a server's log
	Faults          []FaultStats

	// Stale reads: a deposed leader or group coordinator that has not yet
	// learned so (cut off, then healed, before it caught up with the
	// metadata log) answering from its old state. A client that sends its
	// leader epoch (KIP-320) is refused such a high watermark; committed
	// offsets carry no epoch, and a later read gave the newer offset back.
	// Kafka has the same window; they are reported, not counted as broken.
	StaleHW      []Anomaly
	StaleCommits []Anomaly
}

// FaultStats is what one fault did: the records acknowledged while it was
// the latest to strike, the anomalies whose records were acknowledged
// then, the longest time a partition it affected acknowledged nothing,
// and how long after the heal every such partition acknowledged again.
type FaultStats struct {
	Fault
	Acked, Lost, Duplicated, Reordered, Divergent int
	LongestUnavailable                            time.Duration
	Unavailable                                   TP // the partition unavailable longest
	Recovery                                      time.Duration
	// The longest unavailability of a partition the struck node followed.
	LongestFollowerStall time.Duration
	Stalled              TP
}

// Clean reports whether nothing was broken.
func (r *Report) Clean() bool { return len(r.Problems()) == 0 }

type namedList struct {
	name string
	list []Anomaly
}

// Problems lists every anomaly, one line each, capped per kind: of the
// records themselves, of the servers' logs, and of committed offsets and
// high watermarks as clients were shown them.
func (r *Report) Problems() []string {
	return lines([]namedList{
		{"lost", r.Lost}, {"moved", r.Moved}, {"duplicated", r.Duplicated}, {"reordered", r.Reordered},
		{"divergent", r.Divergent}, {"phantom read", r.PhantomReads}, {"aborted read", r.AbortedReads},
		{"server log", r.ServerErrors},
		{"commit backwards", r.CommitBackwards}, {"commit above high watermark", r.CommitAboveHW},
		{"high watermark backwards", r.HWBackwards},
	})
}

// Stale lists the stale reads, one line each, capped per kind.
func (r *Report) Stale() []string {
	return lines([]namedList{{"stale high watermark", r.StaleHW}, {"stale committed offset", r.StaleCommits}})
}

func lines(kinds []namedList) []string {
	var out []string
	for _, k := range kinds {
		for i, a := range k.list {
			if i == 10 {
				out = append(out, fmt.Sprintf("%s: %d more", k.name, len(k.list)-i))
				break
			}
			out = append(out, k.name+": "+a.String())
		}
	}
	return out
}

// Check compares the history of a run with the state it left. It is pure:
// the same inputs give the same report.
func Check(h History, f Final) Report {
	r := Report{Acked: len(h.Acks)}
	ref := referenceLogs(f)
	r.Divergent = divergent(f, h.Acks)
	r.Lost, r.Moved, r.Duplicated = placement(h.Acks, ref)
	r.Reordered = reordered(ref, h.Acks)
	r.PhantomReads = phantomReads(append(slices.Clone(h.Reads), h.CommittedReads...), ref)
	r.AbortedReads = abortedReads(h.CommittedReads, h.Aborted)
	r.CommitBackwards, r.StaleCommits, r.CommitAboveHW = commits(h.Commits, h.HWs, f.HW)
	r.HWBackwards, r.StaleHW = hwBackwards(h.HWs)
	r.ServerErrors = serverErrors(f.ServerLog)
	r.Faults = faultStats(h, &r)
	return r
}

// referenceLogs picks, per partition, the longest replica's log: the one
// that lost least, against which placement is judged (divergence between
// replicas is reported on its own).
func referenceLogs(f Final) map[TP][]Record {
	ref := map[TP][]Record{}
	for tp, reps := range f.Replicas {
		for _, id := range sortedIDs(reps) {
			if len(reps[id]) > len(ref[tp]) || ref[tp] == nil {
				ref[tp] = reps[id]
			}
		}
	}
	return ref
}

func sortedIDs(reps map[int32][]Record) []int32 {
	ids := make([]int32, 0, len(reps))
	for id := range reps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// divergent compares every replica of a partition with its lowest-id one
// and reports the first offset where they part.
func divergent(f Final, acks []Ack) []Anomaly {
	ackedAt := ackTimes(acks)
	var out []Anomaly
	for _, tp := range sortedTPs(f.Replicas) {
		reps := f.Replicas[tp]
		ids := sortedIDs(reps)
		for _, id := range ids[1:] {
			a, b := reps[ids[0]], reps[id]
			i := 0
			for i < len(a) && i < len(b) && a[i] == b[i] {
				i++
			}
			if i == len(a) && i == len(b) {
				continue
			}
			an := Anomaly{TP: tp, Detail: fmt.Sprintf("replica %d has %s, replica %d has %s",
				ids[0], describeAt(a, i), id, describeAt(b, i))}
			if i < len(a) {
				an.Offset, an.Value, an.At = a[i].Offset, a[i].Value, ackedAt[a[i].Value]
			} else {
				an.Offset, an.Value, an.At = b[i].Offset, b[i].Value, ackedAt[b[i].Value]
			}
			out = append(out, an)
			break
		}
	}
	return out
}

func describeAt(log []Record, i int) string {
	if i >= len(log) {
		return fmt.Sprintf("nothing past %d records", len(log))
	}
	return fmt.Sprintf("%s at %d", log[i].Value, log[i].Offset)
}

func ackTimes(acks []Ack) map[string]time.Time {
	m := make(map[string]time.Time, len(acks))
	for _, a := range acks {
		m[a.Value] = a.At
	}
	return m
}

func sortedTPs[V any](m map[TP]V) []TP {
	tps := make([]TP, 0, len(m))
	for tp := range m {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b TP) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return tps
}

type place struct {
	TP
	Offset int64
}

// placement finds every acknowledged value in the reference logs: lost if
// it is nowhere, moved if not where it was acknowledged; and any value held
// at more than one place.
func placement(acks []Ack, ref map[TP][]Record) (lost, moved, dup []Anomaly) {
	where := map[string][]place{}
	for _, tp := range sortedTPs(ref) {
		for _, rec := range ref[tp] {
			where[rec.Value] = append(where[rec.Value], place{tp, rec.Offset})
		}
	}
	ackedAt := ackTimes(acks)
	for _, a := range acks {
		ps := where[a.Value]
		switch {
		case len(ps) == 0:
			lost = append(lost, Anomaly{TP: a.TP, Offset: a.Offset, Value: a.Value, At: a.At, Detail: "acknowledged, in no replica"})
		case !slices.Contains(ps, place{a.TP, a.Offset}):
			moved = append(moved, Anomaly{TP: a.TP, Offset: a.Offset, Value: a.Value, At: a.At,
				Detail: fmt.Sprintf("acknowledged here, found at %s@%d", ps[0].TP, ps[0].Offset)})
		}
	}
	values := make([]string, 0, len(where))
	for v, ps := range where {
		if len(ps) > 1 {
			values = append(values, v)
		}
	}
	sort.Strings(values)
	for _, v := range values {
		ps := where[v]
		dup = append(dup, Anomaly{TP: ps[1].TP, Offset: ps[1].Offset, Value: v, At: ackedAt[v],
			Detail: fmt.Sprintf("also at %s@%d", ps[0].TP, ps[0].Offset)})
	}
	return lost, moved, dup
}

// reordered checks that within each partition every producer's sequence
// numbers rise.
func reordered(ref map[TP][]Record, acks []Ack) []Anomaly {
	ackedAt := ackTimes(acks)
	var out []Anomaly
	for _, tp := range sortedTPs(ref) {
		last := map[int]int64{}
		for _, rec := range ref[tp] {
			p, seq, ok := ParseValue(rec.Value)
			if !ok {
				continue
			}
			if prev, seen := last[p]; seen && seq <= prev {
				out = append(out, Anomaly{TP: tp, Offset: rec.Offset, Value: rec.Value, At: ackedAt[rec.Value],
					Detail: fmt.Sprintf("after %s", Value(p, prev))})
			}
			last[p] = max(last[p], seq)
		}
	}
	return out
}

// phantomReads finds records a consumer was given that the final log does
// not hold at that offset: data read above a high watermark that was later
// truncated away, or a log that changed under a reader.
func phantomReads(reads []Read, ref map[TP][]Record) []Anomaly {
	var out []Anomaly
	for _, rd := range reads {
		log := ref[rd.TP]
		i, found := slices.BinarySearchFunc(log, rd.Offset, func(r Record, o int64) int { return cmp.Compare(r.Offset, o) })
		if !found || log[i].Value != rd.Value {
			out = append(out, Anomaly{TP: rd.TP, Offset: rd.Offset, Value: rd.Value, Detail: "read, not in the final log there"})
		}
	}
	return out
}

// abortedReads finds values of aborted transactions that a read_committed
// consumer was given.
func abortedReads(reads []Read, aborted []string) []Anomaly {
	isAborted := make(map[string]bool, len(aborted))
	for _, v := range aborted {
		isAborted[v] = true
	}
	var out []Anomaly
	for _, rd := range reads {
		if isAborted[rd.Value] {
			out = append(out, Anomaly{TP: rd.TP, Offset: rd.Offset, Value: rd.Value, Detail: "aborted, read with read_committed"})
		}
	}
	return out
}

// commits checks the group's committed offsets in real-time order: none
// below one acknowledged or read back before its request was sent, unless
// it is a read back that a later read or commit of the partition corrects
// (a stale read, see Report); and none above the high watermark a client
// was shown next, after it was answered, by a leader not yet deposed (the
// high watermark never falls, so it bounds every earlier one). A commit
// whose request was under way while another was answered is ordered with
// it neither way (see Commit).
func commits(cs []Commit, hws []HWSample, final map[TP]int64) (backwards, stale, aboveHW []Anomaly) {
	bySent := slices.Clone(cs)
	slices.SortStableFunc(bySent, func(a, b Commit) int { return a.sent().Compare(b.sent()) })
	byAnswer := slices.Clone(cs)
	slices.SortStableFunc(byAnswer, func(a, b Commit) int { return a.At.Compare(b.At) })
	hwByTP := samplesByTP(trusted(hws))
	highest := map[TP]Commit{} // of the commits answered before the one at hand was sent
	answered := 0
	for i, c := range bySent {
		for ; answered < len(byAnswer) && byAnswer[answered].At.Before(c.sent()); answered++ {
			a := byAnswer[answered]
			if prev, ok := highest[a.TP]; !ok || a.Offset > prev.Offset {
				highest[a.TP] = a
			}
		}
		if prev, ok := highest[c.TP]; ok && c.Offset < prev.Offset {
			a := Anomaly{TP: c.TP, Offset: c.Offset, At: c.At,
				Detail: fmt.Sprintf("%s %d (sent %s) after %s %d at %s", commitKind(c), c.Offset, c.sent().Format("15:04:05.000"),
					commitKind(prev), prev.Offset, prev.At.Format("15:04:05.000"))}
			if !c.Acked && corrected(bySent[i+1:], c.TP, prev.Offset) {
				stale = append(stale, a)
			} else {
				backwards = append(backwards, a)
			}
		}
		bound, ok := final[c.TP]
		samples := hwByTP[c.TP]
		if i := sort.Search(len(samples), func(i int) bool { return !samples[i].At.Before(c.At) }); i < len(samples) {
			bound, ok = samples[i].HW, true
		}
		if ok && c.Offset > bound {
			aboveHW = append(aboveHW, Anomaly{TP: c.TP, Offset: c.Offset, At: c.At,
				Detail: fmt.Sprintf("committed %d, high watermark %d", c.Offset, bound)})
		}
	}
	return backwards, stale, aboveHW
}

func commitKind(c Commit) string {
	if !c.Acked {
		return "read back"
	}
	return "committed by " + c.By
}

// corrected reports whether a later commit of tp, acknowledged or read
// back, is at least offset again.
func corrected(later []Commit, tp TP, offset int64) bool {
	return slices.ContainsFunc(later, func(c Commit) bool { return c.TP == tp && c.Offset >= offset })
}

// trusted drops the samples a deposed leader answered: those in a leader
// epoch older than one seen before for the partition.
func trusted(hws []HWSample) []HWSample {
	var out []HWSample
	for _, ss := range samplesByTP(hws) {
		epoch := int32(-1)
		for _, s := range ss {
			if s.Epoch >= epoch {
				out = append(out, s)
			}
			epoch = max(epoch, s.Epoch)
		}
	}
	return out
}

func samplesByTP(hws []HWSample) map[TP][]HWSample {
	m := map[TP][]HWSample{}
	for _, s := range hws {
		m[s.TP] = append(m[s.TP], s)
	}
	for _, ss := range m {
		slices.SortStableFunc(ss, func(a, b HWSample) int { return a.At.Compare(b.At) })
	}
	return m
}

// hwBackwards reports every sample below the highest seen before it.
// One answered in a leader epoch older than one seen before came from a
// deposed leader and is stale (see Report); one in the same or a newer
// epoch is a high watermark that went backwards.
func hwBackwards(hws []HWSample) (backwards, stale []Anomaly) {
	byTP := samplesByTP(hws)
	for _, tp := range sortedTPs(byTP) {
		high, epoch := HWSample{HW: -1}, int32(-1)
		for _, s := range byTP[tp] {
			if s.HW < high.HW {
				a := Anomaly{TP: tp, Offset: s.HW, At: s.At,
					Detail: fmt.Sprintf("high watermark %d in epoch %d after %d in epoch %d", s.HW, s.Epoch, high.HW, high.Epoch)}
				if s.Epoch < epoch {
					stale = append(stale, a)
				} else {
					backwards = append(backwards, a)
				}
			}
			if s.HW > high.HW {
				high = s
			}
			epoch = max(epoch, s.Epoch)
		}
	}
	return backwards, stale
}

// serverTrouble is what a server must never log: a Go panic (recovered
// ones are logged as bugs with a panic field), the runtime's fatal errors,
// and the race detector's reports.
var serverTrouble = regexp.MustCompile(`panic|fatal error|DATA RACE`)

func serverErrors(logs map[string]string) []Anomaly {
	names := make([]string, 0, len(logs))
	for n := range logs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Anomaly
	for _, n := range names {
		for line := range strings.Lines(logs[n]) {
			if serverTrouble.MatchString(line) {
				out = append(out, Anomaly{Detail: fmt.Sprintf("%s: %.300s", n, strings.TrimSpace(line))})
			}
		}
	}
	return out
}

// faultStats attributes each acknowledgement and each anomaly to the last
// fault that struck before its record was acknowledged, and measures each
// fault's unavailability and recovery from the acknowledgement times.
func faultStats(h History, r *Report) []FaultStats {
	faults := slices.Clone(h.Faults)
	slices.SortStableFunc(faults, func(a, b Fault) int { return a.Start.Compare(b.Start) })
	stats := make([]FaultStats, len(faults))
	owner := func(at time.Time) int {
		if at.IsZero() {
			return -1
		}
		return sort.Search(len(faults), func(i int) bool { return faults[i].Start.After(at) }) - 1
	}
	count := func(list []Anomaly, field func(*FaultStats) *int) {
		for _, a := range list {
			if i := owner(a.At); i >= 0 {
				*field(&stats[i])++
			}
		}
	}
	for _, a := range h.Acks {
		if i := owner(a.At); i >= 0 {
			stats[i].Acked++
		}
	}
	count(r.Lost, func(s *FaultStats) *int { return &s.Lost })
	count(r.Moved, func(s *FaultStats) *int { return &s.Lost })
	count(r.Duplicated, func(s *FaultStats) *int { return &s.Duplicated })
	count(r.Reordered, func(s *FaultStats) *int { return &s.Reordered })
	count(r.Divergent, func(s *FaultStats) *int { return &s.Divergent })
	ackTimesByTP := map[TP][]time.Time{}
	for _, a := range h.Acks {
		ackTimesByTP[a.TP] = append(ackTimesByTP[a.TP], a.At)
	}
	for _, ts := range ackTimesByTP {
		slices.SortFunc(ts, time.Time.Compare)
	}
	for i, f := range faults {
		stats[i].Fault = f
		tps := f.Affected
		if len(tps) == 0 {
			tps = h.Partitions
		}
		for _, tp := range tps {
			gap, rec := unavailability(ackTimesByTP[tp], f.Start, f.Healed, h.End)
			if gap > stats[i].LongestUnavailable {
				stats[i].LongestUnavailable, stats[i].Unavailable = gap, tp
			}
			stats[i].Recovery = max(stats[i].Recovery, rec)
		}
		for _, tp := range f.Followed {
			if gap, _ := unavailability(ackTimesByTP[tp], f.Start, f.Healed, h.End); gap > stats[i].LongestFollowerStall {
				stats[i].LongestFollowerStall, stats[i].Stalled = gap, tp
			}
		}
	}
	return stats
}

// unavailability is, for one partition's sorted acknowledgement times, the
// longest stretch without one that overlaps [start, healed], counted from
// start at the earliest; and the time from healed to the first one after
// it (end if none came).
func unavailability(acks []time.Time, start, healed, end time.Time) (longest, recovery time.Duration) {
	prev := start
	i := sort.Search(len(acks), func(i int) bool { return acks[i].After(start) })
	for ; i < len(acks) && !prev.After(healed); i++ {
		longest = max(longest, acks[i].Sub(prev))
		prev = acks[i]
	}
	if !prev.After(healed) {
		longest = max(longest, end.Sub(prev))
	}
	j := sort.Search(len(acks), func(i int) bool { return acks[i].After(healed) })
	if j < len(acks) {
		recovery = acks[j].Sub(healed)
	} else {
		recovery = end.Sub(healed)
	}
	return longest, max(recovery, 0)
}
