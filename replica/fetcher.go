package replica

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// A fetcher replicates every partition this broker follows from one leader
// over one connection, with Kafka's Fetch (carrying our broker id) and,
// after each leader change, OffsetForLeaderEpoch to find where to truncate.
type fetcher struct {
	rm     *Manager
	leader int32
	stop   chan struct{}
	conn   Peer
	// held are the partitions whose last truncation or fetch failed,
	// with when they are asked for again: one partition's error (its
	// leader moved, its epoch not known there yet) holds back that
	// partition for fetcherBackoff, as Kafka's fetcher delays it, instead
	// of the thousands that share the connection (issue 16).
	held map[*Partition]time.Time
}

const (
	fetcherMaxWait    = 500 * time.Millisecond
	fetcherBackoff    = 100 * time.Millisecond
	fetcherPartMax    = 1 << 20
	fetcherRequestMax = 16 << 20
)

// syncFetchers runs one fetcher per leader that this broker follows and
// stops the others. It is called after every reconcile.
func (rm *Manager) syncFetchers() {
	need := map[int32]bool{}
	for _, leader := range rm.byLeader.leaders() {
		if leader != rm.cfg.NodeID {
			need[leader] = true
		}
	}
	rm.fetchMu.Lock()
	defer rm.fetchMu.Unlock()
	for id, f := range rm.fetchers {
		if !need[id] {
			close(f.stop)
			delete(rm.fetchers, id)
		}
	}
	for id := range need {
		if rm.fetchers[id] == nil {
			f := &fetcher{rm: rm, leader: id, stop: make(chan struct{}), held: map[*Partition]time.Time{}}
			if rm.spawnLocked(f.run) {
				rm.fetchers[id] = f
			}
		}
	}
}

// partitions lists the replicas this fetcher serves now; the slice is
// shared and must not be changed.
func (f *fetcher) partitions() []*Partition { return f.rm.byLeader.ledBy(f.leader) }

func (f *fetcher) run() {
	defer func() {
		if f.conn != nil {
			f.conn.Close()
		}
	}()
	for {
		select {
		case <-f.stop:
			return
		case <-f.rm.stopCh:
			return
		default:
		}
		if err := f.round(); err != nil {
			if f.conn != nil {
				f.conn.Close()
				f.conn = nil
			}
			f.rm.log.Debug("replica fetcher", "leader", f.leader, "err", err)
			select {
			case <-f.stop:
				return
			case <-f.rm.stopCh:
				return
			case <-time.After(fetcherBackoff):
			}
		}
	}
}

// round truncates the partitions that need it, then fetches once.
func (f *fetcher) round() error {
	parts := f.partitions()
	if len(parts) == 0 {
		time.Sleep(fetcherBackoff)
		return nil
	}
	now := time.Now()
	for p, until := range f.held {
		if !now.Before(until) {
			delete(f.held, p)
		}
	}
	if f.conn == nil {
		conn, err := f.rm.host.DialLeader(f.leader)
		if err != nil {
			return err
		}
		f.conn = conn
	}
	if err := f.truncate(parts); err != nil {
		return err
	}
	return f.fetch(parts)
}

// truncate asks the leader where our latest epoch ends on its side and cuts
// our log there (KIP-101/279), for every partition with a new leader.
func (f *fetcher) truncate(parts []*Partition) error {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.Version, req.ReplicaID = 4, f.rm.cfg.NodeID
	var asked []*Partition
	for _, p := range parts {
		p.mu.RLock()
		need, epoch := p.needsTruncation, p.leaderEpoch
		p.mu.RUnlock()
		if _, held := f.held[p]; !need || held {
			continue
		}
		latest := p.log.LatestEpoch()
		if latest < 0 {
			p.TruncateForLeader(-1, -1) // nothing of ours to disagree about
			continue
		}
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = p.tp.Topic
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = p.tp.Partition, epoch, latest
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		asked = append(asked, p)
	}
	if len(asked) == 0 {
		return nil
	}
	resp, err := f.conn.Request(req, 10*time.Second)
	if err != nil {
		return err
	}
	for i, rt := range resp.(*kmsg.OffsetForLeaderEpochResponse).Topics {
		for _, rp := range rt.Partitions {
			if i >= len(asked) {
				break
			}
			p := asked[i]
			if rp.ErrorCode != 0 {
				f.hold(p, fmt.Errorf("OffsetForLeaderEpoch: %w", protocol.Errorf(protocol.ErrorCode(rp.ErrorCode), "from leader %d", f.leader)))
				continue
			}
			before := p.log.LogEndOffset()
			if err := p.TruncateForLeader(rp.LeaderEpoch, rp.EndOffset); err != nil {
				f.hold(p, err)
				continue
			}
			if after := p.log.LogEndOffset(); after < before {
				f.rm.log.Info("truncated to the new leader's log", "topic", p.tp.Topic, "partition", p.tp.Partition,
					"from", before, "to", after, "leader", f.leader)
			}
		}
	}
	return nil
}

// fetch sends one Fetch for every partition that is ready and appends what
// comes back.
func (f *fetcher) fetch(parts []*Partition) error {
	// Our fetch offset is our log end, which the leader counts toward its
	// high watermark: with flush.before.ack it must be on disk first.
	if err := klog.WaitDurable(f.rm.ctx, logsOf(parts)); err != nil {
		return err
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID = 12, f.rm.cfg.NodeID
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = int32(fetcherMaxWait/time.Millisecond), 1, fetcherRequestMax
	req.SessionEpoch = -1
	byTP := map[klog.TopicPartition]*Partition{}
	epochs := map[klog.TopicPartition]int32{} // as asked: a reply for another epoch is stale
	host, md, now := f.rm.host, f.rm.ctrl.Metadata(), time.Now()
	held := 0 // partitions the follower throttle holds back this round
	for _, p := range parts {
		p.mu.RLock()
		need, epoch := p.needsTruncation, p.leaderEpoch
		p.mu.RUnlock()
		if _, failed := f.held[p]; need || failed {
			continue
		}
		if host.FollowerThrottled(md, p) && host.FollowerQuotaExceeded(now) {
			held++
			continue
		}
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = p.tp.Topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch = p.tp.Partition, epoch
		rp.FetchOffset, rp.LogStartOffset, rp.PartitionMaxBytes = p.log.LogEndOffset(), p.log.LogStartOffset(), fetcherPartMax
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		byTP[p.tp], epochs[p.tp] = p, epoch
	}
	if len(byTP) == 0 {
		// Everything is held back (the throttle, an error) or waits for
		// a truncation that failed: ask again later, not at once.
		time.Sleep(fetcherBackoff)
		return nil
	}
	resp, err := f.conn.Request(req, fetcherMaxWait+10*time.Second)
	if err != nil {
		return err
	}
	fr := resp.(*kmsg.FetchResponse)
	if fr.ErrorCode != 0 {
		return protocol.Errorf(protocol.ErrorCode(fr.ErrorCode), "fetch from leader %d", f.leader)
	}
	for _, rt := range fr.Topics {
		for _, rp := range rt.Partitions {
			tp := klog.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}
			p := byTP[tp]
			if p == nil {
				continue
			}
			if host.FollowerThrottled(md, p) {
				host.FollowerQuotaRecord(len(rp.RecordBatches), now)
			}
			if err := f.handlePartition(p, epochs[tp], &rp); err != nil {
				f.hold(p, err)
			}
		}
	}
	return nil
}

// hold keeps p out of this fetcher's requests for fetcherBackoff after err.
func (f *fetcher) hold(p *Partition, err error) {
	f.rm.log.Debug("replica fetcher: partition held back", "leader", f.leader, "topic", p.tp.Topic, "partition", p.tp.Partition, "err", err)
	f.held[p] = time.Now().Add(fetcherBackoff)
}

func logsOf(parts []*Partition) []*klog.Log {
	out := make([]*klog.Log, len(parts))
	for i, p := range parts {
		out[i] = p.log
	}
	return out
}

func (f *fetcher) handlePartition(p *Partition, epoch int32, rp *kmsg.FetchResponseTopicPartition) error {
	switch code := protocol.ErrorCode(rp.ErrorCode); code {
	case protocol.None:
		return p.AppendAsFollower(f.leader, epoch, rp.RecordBatches, rp.HighWatermark, rp.LogStartOffset)
	case protocol.OffsetOutOfRange:
		p.mu.Lock()
		defer p.mu.Unlock()
		if leo := p.log.LogEndOffset(); rp.LogStartOffset > leo {
			// Retention on the leader deleted everything we would fetch
			// next: start over at its log start, as Kafka does.
			f.rm.log.Info("replica behind the leader's log start; restarting it there",
				"topic", p.tp.Topic, "partition", p.tp.Partition, "from", leo, "to", rp.LogStartOffset)
			return p.log.TruncateFullyAndStartAt(rp.LogStartOffset)
		}
		// Our log runs past the leader's: find the divergence again.
		p.needsTruncation = true
		return nil
	default:
		// NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH and the like: the
		// metadata is about to tell us who leads; back off until then.
		return protocol.Errorf(code, "%s: fetch from leader %d", p.tp, f.leader)
	}
}
