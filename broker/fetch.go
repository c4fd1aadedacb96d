package broker

import (
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// fetchTarget is one requested partition resolved against local replicas.
type fetchTarget struct {
	req kmsg.FetchRequestTopicPartition
	p   *partition // nil when err is set
	err error
	out *kmsg.FetchResponseTopicPartition
}

func handleFetch(b *Broker, c *conn, req *kmsg.FetchRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.FetchResponse)
	if req.SessionID != 0 {
		// We never hand out fetch sessions (KIP-227 allows a broker to
		// answer session id 0), so any id is one we do not know.
		out.ErrorCode = int16(protocol.FetchSessionIDNotFound)
		resp.complete(out)
		return
	}
	targets := b.resolveFetch(req, out)
	if id := fetchReplicaID(req); id >= 0 {
		b.noteFollowerFetch(id, targets)
	}
	bytes := b.readFetch(req, targets)
	finish := func() {
		if fetchReplicaID(req) < 0 {
			countBytesOut(targets)
		}
		b.addFetchLeaderHints(b.coord.Metadata(), c.listener, out)
		resp.complete(out)
	}
	if bytes >= int(req.MinBytes) || req.MaxWaitMillis <= 0 || anyFetchError(targets) {
		finish()
		return
	}
	b.parkFetch(req, targets, finish)
}

// resolveFetch builds the response skeleton and finds each partition.
func (b *Broker) resolveFetch(req *kmsg.FetchRequest, out *kmsg.FetchResponse) []*fetchTarget {
	md := b.coord.Metadata()
	var targets []*fetchTarget
	out.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		ot := &out.Topics[i]
		*ot = kmsg.NewFetchResponseTopic()
		ot.Topic, ot.TopicID = rt.Topic, rt.TopicID
		name, known := rt.Topic, true
		if req.Version >= 13 {
			t := md.TopicByID(rt.TopicID)
			if known = t != nil; known {
				name = t.Name
			}
		}
		ot.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			op := &ot.Partitions[j]
			*op = kmsg.NewFetchResponseTopicPartition()
			op.Partition = rp.Partition
			op.HighWatermark, op.LastStableOffset, op.LogStartOffset = -1, -1, -1
			// Empty, not null: librdkafka rejects a null record set
			// ("invalid MessageSetSize -1"), and Kafka never sends one.
			op.RecordBatches = []byte{}
			ft := &fetchTarget{req: rp, out: op}
			if known {
				ft.p, ft.err = b.replicas.local(md, name, rp.Partition)
			} else {
				ft.err = protocol.Errorf(protocol.UnknownTopicID, "unknown topic id")
			}
			targets = append(targets, ft)
		}
	}
	return targets
}

// fetchReplicaID is the broker id of a follower's fetch, -1 for consumers.
func fetchReplicaID(req *kmsg.FetchRequest) int32 {
	if req.Version >= 15 {
		return req.ReplicaState.ID
	}
	return req.ReplicaID
}

// noteFollowerFetch records each partition's fetch offset as the follower's
// log end offset, which may move the high watermark or let the follower
// rejoin the ISR.
func (b *Broker) noteFollowerFetch(id int32, targets []*fetchTarget) {
	now := time.Now()
	for _, ft := range targets {
		if ft.p != nil && ft.p.followerFetched(id, ft.req.CurrentLeaderEpoch, ft.req.FetchOffset, now) {
			b.replicas.changeISR(ft.p, id)
		}
	}
}

// readFetch reads every partition into the response and returns the number
// of record bytes gathered. It may run several times for a parked fetch;
// each run replaces the previous answer.
func (b *Broker) readFetch(req *kmsg.FetchRequest, targets []*fetchTarget) int {
	budget := req.MaxBytes
	if req.Version < 3 || budget <= 0 {
		budget = 1<<31 - 1
	}
	total := 0
	follower := fetchReplicaID(req)
	md, now := b.coord.Metadata(), time.Now()
	for _, ft := range targets {
		if ft.p == nil {
			ft.out.ErrorCode = int16(protocol.Code(ft.err))
			continue
		}
		maxBytes, minOne := min(ft.req.PartitionMaxBytes, budget), total == 0
		throttled := follower >= 0 && b.throttled(md, ft.p, leaderThrottledReplicas, follower)
		if throttled && b.leaderQuota.exceeded(now) {
			maxBytes, minOne = 0, false // watermarks only, until the quota refills
		}
		n, err := readPartition(ft, req.IsolationLevel, follower >= 0, maxBytes, minOne)
		if throttled {
			b.leaderQuota.record(n, now)
		}
		ft.err = err
		ft.out.ErrorCode = int16(protocol.Code(err))
		total += n
		budget -= int32(min(n, int(budget)))
	}
	return total
}

// readPartition fills one partition's answer: watermarks, then whole
// batches from the fetch offset up to the high watermark (or the last
// stable offset for read_committed; the log end for a follower), as the
// file holds them.
func readPartition(ft *fetchTarget, isolation int8, follower bool, maxBytes int32, minOneBatch bool) (int, error) {
	p, op := ft.p, ft.out
	op.RecordBatches = []byte{} // a re-read after a long-poll starts afresh; never null
	if err := p.checkLeaderEpoch(ft.req.CurrentLeaderEpoch); err != nil {
		return 0, err
	}
	if !p.isLeader() {
		leader, _ := p.state()
		return 0, protocol.Errorf(protocol.NotLeaderOrFollower, "%s: leader is %d", p.tp, leader)
	}
	hw, lso := p.HighWatermark(), p.LastStableOffset()
	op.HighWatermark, op.LastStableOffset, op.LogStartOffset = hw, lso, p.log.LogStartOffset()
	limit := hw
	switch {
	case follower:
		limit = p.log.LogEndOffset()
	case isolation == 1:
		limit = lso
	}
	offset := ft.req.FetchOffset
	if offset < op.LogStartOffset || offset > p.log.LogEndOffset() {
		return 0, protocol.Errorf(protocol.OffsetOutOfRange, "%s: offset %d is outside [%d, %d]",
			p.tp, offset, op.LogStartOffset, p.log.LogEndOffset())
	}
	if offset >= limit || maxBytes <= 0 && !minOneBatch {
		return 0, nil
	}
	res, err := p.log.Read(offset, maxBytes, limit, minOneBatch)
	if err != nil {
		return 0, err
	}
	if len(res.Records) > 0 {
		op.RecordBatches = res.Records
	}
	return len(res.Records), nil
}

// countBytesOut adds what a consumer fetch sends to its partitions'
// counters (Kafka's BytesOutPerSec leaves replication out).
func countBytesOut(targets []*fetchTarget) {
	for _, ft := range targets {
		if ft.p != nil {
			ft.p.stats.bytesOut.Add(int64(len(ft.out.RecordBatches)))
		}
	}
}

func anyFetchError(targets []*fetchTarget) bool {
	for _, ft := range targets {
		if ft.err != nil {
			return true
		}
	}
	return false
}

// parkFetch waits for min bytes or max wait, woken by appends and
// high-watermark moves on the fetched partitions (Kafka's delayed fetch).
func (b *Broker) parkFetch(req *kmsg.FetchRequest, targets []*fetchTarget, finish func()) {
	parts := make([]*partition, len(targets))
	for i, ft := range targets {
		parts[i] = ft.p
	}
	enough := func() bool { return b.readFetch(req, targets) >= int(req.MinBytes) || anyFetchError(targets) }
	expire := func() { b.readFetch(req, targets) }
	b.park(parts, time.Duration(req.MaxWaitMillis)*time.Millisecond, &b.counters.parkedFetch, enough, expire, finish)
}
