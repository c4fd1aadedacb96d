package txn

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// fakeLog is __transaction_state: what was written, by partition.
type fakeLog struct {
	mu   sync.Mutex
	recs map[int32][]Record
	fail error // the next write fails with it
}

func (l *fakeLog) Write(_ context.Context, part, _ int32, key, value []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fail; err != nil {
		l.fail = nil
		return err
	}
	if l.recs == nil {
		l.recs = map[int32][]Record{}
	}
	l.recs[part] = append(l.recs[part], Record{Offset: int64(len(l.recs[part])), Key: key, Value: value})
	return nil
}

func (l *fakeLog) records(part int32) []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Record(nil), l.recs[part]...)
}

// last decodes the latest record written for id.
func (l *fakeLog) last(t *testing.T, id string) *Metadata {
	t.Helper()
	var last *Metadata
	found := false
	for _, r := range l.records(0) {
		rid, m, err := DecodeRecord(r.Key, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if rid == id {
			last, found = m, true
		}
	}
	if !found {
		t.Fatalf("nothing written for %q", id)
	}
	return last
}

// fakeMarkers records markers; fail says how a send to tp fails.
type fakeMarkers struct {
	mu      sync.Mutex
	sent    []Marker
	written map[klog.TopicPartition][]Marker
	fail    func(tp klog.TopicPartition, attempt int) error
	tries   map[klog.TopicPartition]int
}

func (f *fakeMarkers) Send(_ context.Context, m Marker, tps []klog.TopicPartition) map[klog.TopicPartition]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.written == nil {
		f.written, f.tries = map[klog.TopicPartition][]Marker{}, map[klog.TopicPartition]int{}
	}
	f.sent = append(f.sent, m)
	out := map[klog.TopicPartition]error{}
	for _, tp := range tps {
		f.tries[tp]++
		var err error
		if f.fail != nil {
			err = f.fail(tp, f.tries[tp])
		}
		if err == nil {
			f.written[tp] = append(f.written[tp], m)
		}
		out[tp] = err
	}
	return out
}

func (f *fakeMarkers) markers(tp klog.TopicPartition) []Marker {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Marker(nil), f.written[tp]...)
}

type fakeIDs struct {
	mu   sync.Mutex
	next int64
}

func (f *fakeIDs) Generate(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	return 1000 + f.next, nil
}

type fakeCluster struct{ gone map[klog.TopicPartition]bool }

func (f fakeCluster) PartitionExists(tp klog.TopicPartition) bool { return !f.gone[tp] }

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type harness struct {
	*Coordinator
	log     *fakeLog
	markers *fakeMarkers
	clock   *clock
	cluster fakeCluster
	phases  *fakePhases
}

// fakePhases counts the phases observed.
type fakePhases struct {
	mu sync.Mutex
	n  map[Phase]int
}

func (f *fakePhases) ObservePhase(p Phase, _ time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n[p]++
}

func (f *fakePhases) counts() map[Phase]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.n)
}

// newHarness returns a coordinator of one partition (0), loaded in leader
// epoch 7, over fakes.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{log: &fakeLog{}, markers: &fakeMarkers{}, clock: &clock{now: time.UnixMilli(1_700_000_000_000)},
		cluster: fakeCluster{gone: map[klog.TopicPartition]bool{}}, phases: &fakePhases{n: map[Phase]int{}}}
	h.Coordinator = h.newCoordinator()
	h.StartLoad(0, 7)
	h.FinishLoad(0, 7, nil)
	t.Cleanup(h.Close)
	return h
}

func (h *harness) newCoordinator() *Coordinator {
	cfg := DefaultConfig()
	cfg.MaxTimeout = time.Minute
	return New(cfg, Deps{Writer: h.log, Markers: h.markers, IDs: &fakeIDs{}, Cluster: h.cluster,
		PartitionOf: func(string) int32 { return 0 }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: h.clock.Now,
		Phases: h.phases})
}

// settled waits until id is in state.
func (h *harness) settled(t *testing.T, id string, want State) *Metadata {
	t.Helper()
	var m *Metadata
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m, err = h.Describe(id); err == nil && m.State == want && !m.pending {
			return m
		}
	}
	t.Fatalf("%q never reached %s: last %+v, %v", id, want, m, err)
	return nil
}

func wantCode(t *testing.T, err error, code protocol.ErrorCode) {
	t.Helper()
	if got := protocol.Code(err); got != code {
		t.Fatalf("error %v (code %d), want code %d", err, got, code)
	}
}

var errNotLeader = protocol.Errorf(protocol.NotLeaderOrFollower, "not the leader")

func tp(topic string, p int32) klog.TopicPartition {
	return klog.TopicPartition{Topic: topic, Partition: p}
}

func fmtMarkers(ms []Marker) string { return fmt.Sprintf("%+v", ms) }
