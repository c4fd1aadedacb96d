package auth

import (
	"net"
	"sync"
	"time"
)

// Refusals rate-limits the log lines about connections refused before
// they authenticated (a failed TLS handshake, a bad SASL exchange, a
// stranger on the controller listener): one line per source address per
// period, so that a stranger knocking in a loop cannot flood the log, yet
// every source that tried shows up with a count of what was left out.
// Ports are not part of the source, since each attempt comes from a new
// one.
type Refusals struct {
	period time.Duration
	mu     sync.Mutex
	seen   map[string]refusal
}

type refusal struct {
	last       time.Time
	suppressed int // refusals since the last line
}

// refusalsMax bounds the sources remembered; past it, new sources share
// one line per period under the name OtherSources.
const refusalsMax = 4096

// OtherSources stands for the sources beyond what Refusals remembers.
const OtherSources = "(other sources)"

// NewRefusals logs each source at most once per period.
func NewRefusals(period time.Duration) *Refusals {
	return &Refusals{period: period, seen: map[string]refusal{}}
}

// Note records a refusal from addr at now. It reports whether to log it,
// the source to name (addr without its port) and how many refusals from
// that source were not logged since its last line.
func (r *Refusals) Note(addr net.Addr, now time.Time) (log bool, source string, suppressed int) {
	source = addr.String()
	if h, _, err := net.SplitHostPort(source); err == nil {
		source = h
	}
	return r.NoteKey(source, now)
}

// NoteKey is Note for a source already named by key, such as a repeated
// log line with the peer it is about; a key beyond what Refusals remembers
// comes back as OtherSources.
func (r *Refusals) NoteKey(key string, now time.Time) (log bool, source string, suppressed int) {
	source = key
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[source]; !ok && len(r.seen) >= refusalsMax {
		r.forgetBefore(now.Add(-r.period))
		if len(r.seen) >= refusalsMax {
			source = OtherSources
		}
	}
	e := r.seen[source]
	if !e.last.IsZero() && now.Sub(e.last) < r.period {
		e.suppressed++
		r.seen[source] = e
		return false, source, 0
	}
	r.seen[source] = refusal{last: now}
	return true, source, e.suppressed
}

// forgetBefore drops sources last logged before t; called under r.mu.
func (r *Refusals) forgetBefore(t time.Time) {
	for source, e := range r.seen {
		if e.last.Before(t) {
			delete(r.seen, source)
		}
	}
}
