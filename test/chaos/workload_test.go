package chaos

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Workload sizes: each producer writes one record every producerEvery to
// the next partition that has fewer than maxOutstanding unacknowledged,
// so that a partition without a leader never stalls the others, and the
// gaps between acknowledgements of a healthy partition stay in
// milliseconds.
const (
	producers      = 4
	producerEvery  = 4 * time.Millisecond
	maxOutstanding = 500
	group          = "chaos"
)

// workload runs the clients of a run and records what they saw.
type workload struct {
	c      *cluster
	tps    []TP
	txnTPs []TP // the transactional workload's partitions; none: no such workload
	acks   kgo.Acks

	mu  sync.Mutex
	rec History

	stop    chan struct{}
	wg      sync.WaitGroup
	clients []*kgo.Client // producers, flushed at the end
}

func newWorkload(c *cluster, tps []TP, acks kgo.Acks) *workload {
	return &workload{c: c, tps: tps, acks: acks, stop: make(chan struct{}), rec: History{Partitions: tps}}
}

func (w *workload) record(fn func(h *History)) {
	w.mu.Lock()
	fn(&w.rec)
	w.mu.Unlock()
}

func (w *workload) topics() []string { return topicNames(w.tps) }

// topicNames lists the topics of tps, which come grouped by topic.
func topicNames(tps []TP) []string {
	var out []string
	for _, tp := range tps {
		if len(out) == 0 || out[len(out)-1] != tp.Topic {
			out = append(out, tp.Topic)
		}
	}
	return out
}

// start runs the producers, the consumer group and the samplers.
func (w *workload) start() {
	for id := range producers {
		opts := []kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(w.acks),
			kgo.MaxBufferedRecords(len(w.tps) * maxOutstanding * 2), kgo.ProducerLinger(5 * time.Millisecond),
			// A leader cut off answers nothing: give up on it as soon
			// as a SIGKILLed one's refused connection would, near
			// enough, so that unavailability measures the cluster.
			kgo.ProduceRequestTimeout(2 * time.Second), kgo.RequestTimeoutOverhead(time.Second),
			kgo.DialTimeout(time.Second)}
		if w.acks != kgo.AllISRAcks() {
			opts = append(opts, kgo.DisableIdempotentWrite())
		}
		cl := w.c.client(opts...)
		w.clients = append(w.clients, cl)
		w.wg.Add(1)
		go w.produce(id+1, cl)
	}
	for range 2 {
		// Not closed with the test but by consume, so that its last
		// commit is recorded before finish returns.
		sent := &commitSent{}
		committed := func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			w.committed(sent.last(), req, resp, err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(w.c.seeds...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(w.topics()...),
			kgo.AutoCommitInterval(500*time.Millisecond), kgo.FetchMaxWait(500*time.Millisecond),
			kgo.AutoCommitCallback(committed), kgo.WithHooks(sent))
		if err != nil {
			w.c.t.Fatal(err)
		}
		w.wg.Add(1)
		go w.consume(cl)
	}
	if len(w.txnTPs) > 0 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(w.c.seeds...), kgo.ConsumeTopics(topicNames(w.txnTPs)...),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			w.c.t.Fatal(err)
		}
		w.wg.Add(2)
		go w.transact()
		go w.consumeCommitted(cl)
	}
	w.wg.Add(2)
	go w.every(kadm.NewClient(w.c.client()), 250*time.Millisecond, w.sampleHW)
	go w.every(kadm.NewClient(w.c.client()), 500*time.Millisecond, w.sampleCommits)
}

// finish stops every client, gives the producers time to have what they
// sent acknowledged, and returns the history.
func (w *workload) finish() History {
	w.record(func(h *History) { h.End = time.Now() })
	close(w.stop)
	w.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, cl := range w.clients {
		cl.Flush(ctx)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rec
}

func (w *workload) produce(id int, cl *kgo.Client) {
	defer w.wg.Done()
	outstanding := make([]atomic.Int32, len(w.tps))
	tick := time.NewTicker(producerEvery)
	defer tick.Stop()
	var seq int64
	next := 0
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		for k := range len(w.tps) {
			i := (next + k) % len(w.tps)
			if outstanding[i].Load() >= maxOutstanding {
				continue
			}
			tp, v := w.tps[i], Value(id, seq)
			seq, next = seq+1, i+1
			outstanding[i].Add(1)
			cl.Produce(context.Background(), &kgo.Record{Topic: tp.Topic, Partition: tp.Partition, Value: []byte(v)},
				func(r *kgo.Record, err error) {
					outstanding[i].Add(-1)
					if err == nil {
						at := time.Now()
						w.record(func(h *History) { h.Acks = append(h.Acks, Ack{TP: tp, Offset: r.Offset, Value: v, At: at}) })
					}
				})
			break
		}
	}
}

// consume is one member of the group: it records what it reads and each
// commit the coordinator acknowledges.
func (w *workload) consume(cl *kgo.Client) {
	defer w.wg.Done()
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-w.stop; cancel() }()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		var reads []Read
		fs.EachRecord(func(r *kgo.Record) {
			reads = append(reads, Read{TP: TP{r.Topic, r.Partition}, Offset: r.Offset, Value: string(r.Value)})
		})
		w.record(func(h *History) { h.Reads = append(h.Reads, reads...) })
	}
}

// commitSent is a consumer's hook that notes when it last wrote an
// OffsetCommit request. A group member has one commit in flight at a time
// (kgo issues the next only once the previous is answered) and retries it
// over coordinator moves, so when a commit is answered this is when its
// last attempt went out.
type commitSent struct{ at atomic.Int64 } // unix nanoseconds

var _ kgo.HookBrokerWrite = (*commitSent)(nil)

func (s *commitSent) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err == nil && key == int16(kmsg.OffsetCommit) {
		s.at.Store(time.Now().UnixNano())
	}
}

func (s *commitSent) last() time.Time { return time.Unix(0, s.at.Load()) }

// committed records the partitions of an acknowledged commit whose last
// attempt was sent at sent.
func (w *workload) committed(sent time.Time, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	if err != nil {
		return
	}
	at := time.Now()
	offsets := map[TP]int64{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			offsets[TP{t.Topic, p.Partition}] = p.Offset
		}
	}
	w.record(func(h *History) {
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if off, ok := offsets[TP{t.Topic, p.Partition}]; ok && p.ErrorCode == 0 {
					h.Commits = append(h.Commits, Commit{TP: TP{t.Topic, p.Partition}, Offset: off, Sent: sent, At: at,
						Acked: true, By: fmt.Sprintf("%s generation %d", req.MemberID, req.Generation)})
				}
			}
		}
	})
}

// every runs fn each period until the workload stops.
func (w *workload) every(adm *kadm.Client, period time.Duration, fn func(adm *kadm.Client)) {
	defer w.wg.Done()
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
			fn(adm)
		}
	}
}

// sampleHW records each partition's high watermark as ListOffsets(latest)
// gives it, stamped with when the request was sent.
func (w *workload) sampleHW(adm *kadm.Client) {
	at := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	offs, err := adm.ListEndOffsets(ctx, w.topics()...)
	if err != nil {
		return
	}
	var s []HWSample
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			s = append(s, HWSample{TP: TP{o.Topic, o.Partition}, HW: o.Offset, Epoch: o.LeaderEpoch, At: at})
		}
	})
	w.record(func(h *History) { h.HWs = append(h.HWs, s...) })
}

// sampleCommits records the group's committed offsets as OffsetFetch
// reads them back, stamped with when the request was sent and answered:
// kadm retries it while the coordinator moves or loads, so the answer may
// hold commits acknowledged long after it was sent.
func (w *workload) sampleCommits(adm *kadm.Client) {
	sent := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return
	}
	at := time.Now()
	var cs []Commit
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			cs = append(cs, Commit{TP: TP{o.Topic, o.Partition}, Offset: o.At, Sent: sent, At: at})
		}
	})
	w.record(func(h *History) { h.Commits = append(h.Commits, cs...) })
}
