package replica

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/gokafka/gokafka/coordinator"
)

// AlterPartition, the leader's side (Kafka's AlterPartitionManager): the
// ISR changes this broker's partitions ask for are queued and sent to the
// controller together, one request at a time, every change pending when
// the previous request ends going in the next. A partition has at most one
// change in flight (Partition.isrChangeInFlight), so a returning follower
// of thousands of partitions costs a handful of requests and Raft entries,
// not one of each per partition.

// isrChange is one partition's queued ISR change, request seq of it.
type isrChange struct {
	p   *Partition
	req coordinator.AlterPartition
	seq uint64
}

// isrSender queues ISR changes and sends them in batches.
type isrSender struct {
	rm *Manager

	mu      sync.Mutex
	pending []isrChange
	stopped bool
	kick    chan struct{} // a send is due; capacity 1
}

func newISRSender(rm *Manager) *isrSender {
	return &isrSender{rm: rm, kick: make(chan struct{}, 1)}
}

// ChangeISR queues the ISR that nextISR (or a follower's fetch, for a join)
// computed as request seq of p. Only the committed change counts: the
// Partition adopts it from the metadata.
func (rm *Manager) ChangeISR(p *Partition, req coordinator.AlterPartition, seq uint64) {
	s := rm.isr
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		p.isrChangeEnded(seq, false, false)
		return
	}
	s.pending = append(s.pending, isrChange{p, req, seq})
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default: // a send is already due
	}
}

// run sends batches until the replica manager stops; what is queued then
// ends unsent, its outcome unknown. Each answered batch is settled on a
// goroutine of its own, in order, while the next is sent: settling waits
// for this broker's reconcile of the changes, which on a busy node took
// longer than the controller's commit (issue 16: a returning follower's
// 20,000 joins waited 18 s for their second request), and no partition
// has a change in two batches at once.
func (s *isrSender) run() {
	defer s.rm.wg.Done()
	answered, settled := make(chan answer, settleQueue), make(chan struct{})
	go func() {
		defer close(settled)
		for a := range answered {
			s.settle(a)
		}
	}()
	defer func() {
		close(answered)
		<-settled
	}()
	for {
		select {
		case <-s.rm.stopCh:
			s.mu.Lock()
			s.stopped = true
			left := s.pending
			s.pending = nil
			s.mu.Unlock()
			for _, ch := range left {
				ch.p.isrChangeEnded(ch.seq, false, false)
			}
			return
		case <-s.kick:
		}
		for batch := s.take(); len(batch) > 0; batch = s.take() {
			answered <- s.send(batch)
		}
	}
}

// take removes up to one request's worth of queued changes, in topic and
// partition order so that the request groups them by topic.
func (s *isrSender) take() []isrChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(len(s.pending), coordinator.MaxAlterPartitions)
	batch := slices.Clone(s.pending[:n])
	s.pending = slices.Delete(s.pending, 0, n)
	slices.SortFunc(batch, func(a, b isrChange) int {
		return cmp.Or(cmp.Compare(a.req.Topic, b.req.Topic), cmp.Compare(a.req.Partition, b.req.Partition))
	})
	return batch
}

// settleQueue bounds the answered batches waiting to be settled: past
// it, sending waits.
const settleQueue = 8

// answer is the controller's answer to one batch of changes.
type answer struct {
	batch   []isrChange
	refused []bool
	// known is whether this broker's image is known to hold every
	// outcome once reconciled; false when the request failed or a
	// change was refused and the barrier that follows failed too.
	known bool
}

// send asks the controller for one batch of changes. A refused change, or
// a request whose outcome is unknown (a timeout may still commit), brings
// the image up to date with a barrier, so that settling drops the maximal
// ISRs only once the image holds the outcome.
func (s *isrSender) send(batch []isrChange) answer {
	rm := s.rm
	reqs := make([]coordinator.AlterPartition, len(batch))
	for i, ch := range batch {
		reqs[i] = ch.req
	}
	var errs []error
	err := rm.withMetadataTimeout(func(ctx context.Context) (err error) {
		errs, err = rm.ctrl.AlterPartitions(ctx, reqs)
		return err
	})
	refused := make([]bool, len(batch))
	nRefused, first := 0, -1
	for i := range batch {
		if refused[i] = err != nil || errs[i] != nil; !refused[i] {
			continue
		}
		nRefused++
		if first < 0 {
			first = i
		}
		if err == nil {
			err := errs[i]
			rm.log.Debug("ISR change refused", "topic", reqs[i].Topic, "partition", reqs[i].Partition, "isr", reqs[i].ISR, "err", err)
		}
	}
	known := nRefused == 0
	if nRefused > 0 && rm.ctx.Err() == nil {
		why := err
		if why == nil {
			why = errs[first]
		}
		// One line per request, naming the first refusal: a returning
		// broker's thousands of changes must not flood the log (issue 17).
		rm.log.Warn("ISR change refused", "refused", nRefused, "sent", len(batch),
			"topic", reqs[first].Topic, "partition", reqs[first].Partition, "isr", reqs[first].ISR, "err", why)
		known = rm.withMetadataTimeout(rm.ctrl.Barrier) == nil // its own time: the request's may be spent
	}
	return answer{batch, refused, known}
}

// settle brings the local replicas in line with the image that holds a's
// outcomes and ends each change; a refused partition backs off
// (isrRetryBackoff) before it asks again.
func (s *isrSender) settle(a answer) {
	s.rm.Reconcile(s.rm.ctrl.Metadata())
	for i, ch := range a.batch {
		ch.p.isrChangeEnded(ch.seq, a.known, a.refused[i])
	}
}
