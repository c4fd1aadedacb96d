package broker

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/replica"
)

// fetchTarget is one requested partition resolved against local replicas.
type fetchTarget struct {
	req kmsg.FetchRequestTopicPartition
	p   *replica.Partition // nil when err is set
	err error
	out *kmsg.FetchResponseTopicPartition
	// slice holds the batches read for a connection that sends them from
	// the file (sendfile.go); out then carries a marker in their place.
	slice klog.Slice
}

// Fetch, every version the table in protocol/versions.go serves.
//
// Behavior:
//   - The response carries at most min(request max_bytes, fetch.max.bytes)
//     record bytes (fetch.max.bytes alone before v3), each partition at most
//     its partition max_bytes; the first batch of the first partition with
//     data is returned whole even when larger, so a consumer always
//     progresses (batches are bounded by max.message.bytes on append).
//   - min_bytes is capped by that limit. A fetch that finds less waits up to
//     max_wait_ms (Kafka's DelayedFetch): it holds its positions, not data,
//     counts the bytes that become readable on its partitions, reads once
//     when it completes, and is dropped when its connection closes.
//   - v7+ fetch sessions (KIP-227), fetch_sessions.go: an incremental fetch
//     reads every partition of its session and answers those that changed.
//   - read_committed (isolation level 1) reads up to the last stable offset
//     and lists the aborted transactions that overlap the batches returned
//     (an empty list, never null), for the consumer to drop their records.
//     Markers are delivered as the control batches they are; clients skip
//     them.
func handleFetch(b *Broker, c *conn, req *kmsg.FetchRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.FetchResponse)
	session, code := b.fetchSessions.newContext(req, b.coord.Metadata(), fetchReplicaID(req) >= 0, time.Now())
	if code != protocol.None {
		out.ErrorCode = int16(code)
		resp.complete(out)
		return
	}
	targets := b.resolveFetch(c, req, out)
	if id := fetchReplicaID(req); id >= 0 {
		b.noteFollowerFetch(id, targets)
	}
	sendfile := c.sendsFiles()
	finish := func() {
		b.readFetch(req, targets, sendfile)
		if fetchReplicaID(req) < 0 {
			countBytesOut(targets)
		}
		resp.attachSlices(targets)
		b.fetchSessions.respond(session, req, out, b.coord.Metadata(), time.Now())
		b.addFetchLeaderHints(b.coord.Metadata(), c.listener, out)
		resp.complete(out)
		select {
		case <-c.quit: // the connection closed as the fetch completed
			resp.closeSlices()
		default:
		}
	}
	if req.MaxWaitMillis <= 0 || anyFetchError(targets) {
		finish()
		return
	}
	df := b.newDelayedFetch(req, targets)
	if df.ready() {
		finish()
		return
	}
	// The fetch dies with its connection, as Kafka forgets a closed
	// channel's delayed requests; its finish reads, off the purgatory.
	op := &replica.DelayedOp{Parts: df.partitions(), Deadline: time.Now().Add(time.Duration(req.MaxWaitMillis) * time.Millisecond),
		Parked: &b.counters.parkedFetch, Done: df.ready, Expire: func() {}, Finish: finish, Async: true, Gone: c.quit}
	c.parkedFetch.Store(op)
	b.purgatory.Add(op)
}

// fetchMaxBytes is the response limit: the request's max_bytes (v3+), never
// above fetch.max.bytes.
func (b *Broker) fetchMaxBytes(req *kmsg.FetchRequest) int32 {
	if req.Version < 3 {
		return b.cfg.FetchMaxBytes
	}
	return max(min(req.MaxBytes, b.cfg.FetchMaxBytes), 0)
}

// fetchMinBytes is min_bytes capped by the response limit, as in Kafka, so
// that no fetch waits for more than it may carry.
func (b *Broker) fetchMinBytes(req *kmsg.FetchRequest) int {
	return int(min(req.MinBytes, b.fetchMaxBytes(req)))
}

// resolveFetch builds the response skeleton and finds each partition the
// connection may read.
func (b *Broker) resolveFetch(c *conn, req *kmsg.FetchRequest, out *kmsg.FetchResponse) []*fetchTarget {
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
		denied := known && !c.mayFetch(req, name)
		for j, rp := range rt.Partitions {
			op := &ot.Partitions[j]
			*op = kmsg.NewFetchResponseTopicPartition()
			op.Partition = rp.Partition
			op.HighWatermark, op.LastStableOffset, op.LogStartOffset = -1, -1, -1
			// Empty, not null: librdkafka rejects a null record set
			// ("invalid MessageSetSize -1"), and Kafka never sends one.
			op.RecordBatches = []byte{}
			ft := &fetchTarget{req: rp, out: op}
			switch {
			case denied:
				ft.err = authzFetch.refused()
			case known:
				ft.p, ft.err = b.replicas.Local(md, name, rp.Partition)
			default:
				ft.err = protocol.Errorf(protocol.UnknownTopicID, "unknown topic id")
			}
			targets = append(targets, ft)
		}
	}
	return targets
}

// mayFetch checks one topic of a fetch: a follower needs ClusterAction on
// the cluster, a consumer Read on the topic; both refusals are
// TOPIC_AUTHORIZATION_FAILED, as in Kafka.
func (c *conn) mayFetch(req *kmsg.FetchRequest, topic string) bool {
	if fetchReplicaID(req) >= 0 {
		return c.may(authzFetchFollower, topic)
	}
	return c.may(authzFetch, topic)
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
	now, eligible := time.Now(), b.replicas.ISREligible(id)
	for _, ft := range targets {
		if ft.p == nil {
			continue
		}
		if req, seq, join := ft.p.FollowerFetched(id, ft.req.CurrentLeaderEpoch, ft.req.FetchOffset, eligible, b.cfg.ReplicaLagTimeMax, now); join {
			b.replicas.ChangeISR(ft.p, req, seq)
		}
	}
}

// readFetch reads every partition into the response. It runs once per
// fetch, when the fetch answers: a parked fetch has only counted bytes.
// With sendfile the record bytes stay in their files, as slices, up to
// maxSlices partitions: each slice holds a file descriptor until the
// response is written, and a follower's fetch may name thousands of
// partitions.
func (b *Broker) readFetch(req *kmsg.FetchRequest, targets []*fetchTarget, sendfile bool) {
	budget := b.fetchMaxBytes(req)
	total, slices := 0, 0
	follower := fetchReplicaID(req)
	md, now := b.coord.Metadata(), time.Now()
	for _, ft := range targets {
		if ft.p == nil {
			ft.out.ErrorCode = int16(protocol.Code(ft.err))
			continue
		}
		maxBytes, minOne := min(ft.req.PartitionMaxBytes, budget), total == 0
		throttled, held := b.heldByQuota(md, ft.p, follower, now)
		if held {
			maxBytes, minOne = 0, false // watermarks only, until the quota refills
		}
		n, err := b.readPartition(ft, req.IsolationLevel, follower >= 0, maxBytes, minOne, sendfile && slices < maxSlices)
		if ft.slice.Len > 0 {
			slices++
		}
		if throttled {
			b.leaderQuota.record(n, now)
		}
		ft.err = err
		ft.out.ErrorCode = int16(protocol.Code(err))
		total += n
		budget -= int32(min(n, int(budget)))
	}
}

// maxSlices bounds the partitions of one fetch response sent from their
// files; the rest are copied.
const maxSlices = 64

// heldByQuota reports whether a follower's fetch of p counts against the
// leader's replication throttle, and whether that quota is spent for now
// (the fetch then gets watermarks only).
func (b *Broker) heldByQuota(md *coordinator.Metadata, p *replica.Partition, follower int32, now time.Time) (throttled, held bool) {
	throttled = follower >= 0 && b.throttled(md, p, leaderThrottledReplicas, follower) // md unused for consumers
	return throttled, throttled && b.leaderQuota.exceeded(now)
}

// readPartition fills one partition's answer: watermarks, then whole
// batches from the fetch offset up to the high watermark (or the last
// stable offset for read_committed; the log end for a follower), as the
// file holds them: in ft.slice with sendfile, unless read_committed needs
// the batches' offsets to list aborted transactions.
func (b *Broker) readPartition(ft *fetchTarget, isolation int8, follower bool, maxBytes int32, minOneBatch, sendfile bool) (int, error) {
	p, op := ft.p, ft.out
	op.RecordBatches = []byte{} // never null
	op.AbortedTransactions = nil
	readCommitted := isolation == 1 && !follower
	if readCommitted {
		op.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
	}
	limit, err := fetchLimit(ft, isolation, follower)
	if err != nil {
		return 0, err
	}
	offset := ft.req.FetchOffset
	if offset >= limit || maxBytes <= 0 && !minOneBatch {
		return 0, nil
	}
	var res klog.ReadResult
	if sendfile && !readCommitted {
		ft.slice, err = p.Log().ReadSlice(offset, maxBytes, limit, minOneBatch)
	} else {
		res, err = p.Log().Read(offset, maxBytes, limit, minOneBatch)
	}
	if err != nil && !errors.As(err, new(*protocol.Error)) {
		return 0, b.storageError("read failed", p.TopicPartition(), err)
	}
	if err != nil {
		return 0, err
	}
	if len(res.Records) > 0 {
		op.RecordBatches = res.Records
		if readCommitted {
			op.AbortedTransactions = abortedTransactions(p, offset, res.Records)
		}
	}
	return len(res.Records) + int(ft.slice.Len), nil
}

// abortedTransactions lists, for a read_committed consumer, the aborted
// transactions whose records may be among the batches read from offset.
func abortedTransactions(p *replica.Partition, offset int64, records []byte) []kmsg.FetchResponseTopicPartitionAbortedTransaction {
	upper := offset
	for rest := records; len(rest) > 0; {
		h, _, next, err := protocol.NextBatch(rest)
		if err != nil {
			break
		}
		upper, rest = h.LastOffset()+1, next
	}
	txns := p.Log().AbortedTransactions(offset, upper)
	out := make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, len(txns))
	for i, t := range txns {
		out[i] = kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
		out[i].ProducerID, out[i].FirstOffset = t.ProducerID, t.FirstOffset
	}
	return out
}

// fetchLimit checks that the partition can serve the fetch (leader, epoch,
// offset in range), fills in its watermarks and returns the offset the
// fetch may read up to: the high watermark, the last stable offset for
// read_committed, the log end for a follower.
func fetchLimit(ft *fetchTarget, isolation int8, follower bool) (int64, error) {
	p, op := ft.p, ft.out
	if err := p.CheckLeaderEpoch(ft.req.CurrentLeaderEpoch); err != nil {
		return 0, err
	}
	// Followers go on fetching from a leader whose lease ran out: only a
	// leader that holds it serves what they copy to clients, and an ISR
	// that kept up outlasts a controller's outage.
	if leader, _ := p.State(); leader != p.NodeID() || !follower && !p.IsLeader() {
		return 0, protocol.Errorf(protocol.NotLeaderOrFollower, "%s: leader is %d, lease held %v", p.TopicPartition(), leader, p.LeaseHeld())
	}
	hw, lso := p.HighWatermark(), p.LastStableOffset()
	op.HighWatermark, op.LastStableOffset, op.LogStartOffset = hw, lso, p.Log().LogStartOffset()
	limit := hw
	switch {
	case follower:
		limit = p.Log().LogEndOffset()
	case isolation == 1:
		limit = lso
	}
	offset := ft.req.FetchOffset
	if offset < op.LogStartOffset || offset > p.Log().LogEndOffset() {
		err := protocol.Errorf(protocol.OffsetOutOfRange, "%s: offset %d is outside [%d, %d]",
			p.TopicPartition(), offset, op.LogStartOffset, p.Log().LogEndOffset())
		if !follower {
			// Kafka answers a consumer's error with unknown watermarks;
			// a follower keeps the log start, which it restarts from.
			op.HighWatermark, op.LastStableOffset, op.LogStartOffset = -1, -1, -1
		}
		return 0, err
	}
	return limit, nil
}

// countBytesOut adds what a consumer fetch sends to its partitions'
// counters (Kafka's BytesOutPerSec leaves replication out).
func countBytesOut(targets []*fetchTarget) {
	for _, ft := range targets {
		if ft.p != nil {
			ft.p.Stats.BytesOut.Add(int64(len(ft.out.RecordBatches)) + ft.slice.Len)
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

// delayedFetch is a fetch waiting for min bytes (Kafka's DelayedFetch). It
// holds positions, never record data: it counts the bytes between where
// each partition's fetch starts and its read limit (high watermark, last
// stable offset, log end for a follower) from segment positions, and the
// partitions are read once, when it completes.
type delayedFetch struct {
	b        *Broker
	req      *kmsg.FetchRequest
	targets  []*fetchTarget
	follower int32
	need     int64
	// Per target: where its fetch offset lies, and the last read limit
	// seen with its position, so that a kick that moved nothing reads
	// nothing.
	start, limitPos []klog.Position
	limits          []int64
}

func (b *Broker) newDelayedFetch(req *kmsg.FetchRequest, targets []*fetchTarget) *delayedFetch {
	df := &delayedFetch{b: b, req: req, targets: targets, follower: fetchReplicaID(req), need: int64(b.fetchMinBytes(req)),
		start: make([]klog.Position, len(targets)), limitPos: make([]klog.Position, len(targets)), limits: make([]int64, len(targets))}
	for i := range df.limits {
		df.limits[i] = -1
	}
	return df
}

// partitions are the fetched partitions, whose appends and high-watermark
// moves wake the fetch.
func (df *delayedFetch) partitions() []*replica.Partition {
	parts := make([]*replica.Partition, len(df.targets))
	for i, ft := range df.targets {
		parts[i] = ft.p
	}
	return parts
}

// ready reports whether the fetch can complete: a partition errs (leader
// moved, offset out of range), a position cannot be counted (a segment
// rolled, or a read failed: the read tells), or the bytes below the read
// limits, each partition's up to its max_bytes, reach min bytes.
func (df *delayedFetch) ready() bool {
	var md *coordinator.Metadata // only a follower's fetch is throttled
	if df.follower >= 0 {
		md = df.b.coord.Metadata()
	}
	now := time.Now()
	var total int64
	for i, ft := range df.targets {
		limit, err := fetchLimit(ft, df.req.IsolationLevel, df.follower >= 0)
		if err != nil {
			return true
		}
		if limit <= ft.req.FetchOffset {
			continue
		}
		if _, held := df.b.heldByQuota(md, ft.p, df.follower, now); held {
			continue
		}
		n, ok := df.readable(i, limit)
		if !ok {
			return true
		}
		total += min(n, int64(max(ft.req.PartitionMaxBytes, 0)))
	}
	return total >= df.need
}

// readable counts the bytes from target i's fetch offset up to limit.
func (df *delayedFetch) readable(i int, limit int64) (int64, bool) {
	ft := df.targets[i]
	if df.limits[i] < 0 {
		start, err := ft.p.Log().PositionOf(ft.req.FetchOffset)
		if err != nil {
			return 0, false
		}
		df.start[i] = start
	}
	if limit != df.limits[i] {
		pos, err := ft.p.Log().PositionOf(limit)
		if err != nil {
			return 0, false
		}
		df.limits[i], df.limitPos[i] = limit, pos
	}
	return df.start[i].BytesTo(df.limitPos[i])
}
