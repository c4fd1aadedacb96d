package broker

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/clock"
	"github.com/gokafka/gokafka/coordinator"
	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/replica"
	"github.com/gokafka/gokafka/txn"
)

// The broker's side of the transaction coordinator (package txn): the
// __transaction_state topic, the seams txn writes and sends markers
// through, and loading on leadership. The handlers are in txn.go.

const txnTopic = "__transaction_state"

// txnWriteTimeout bounds an acks=all write of transaction state; past it
// the client is told COORDINATOR_NOT_AVAILABLE and retries.
const txnWriteTimeout = 5 * time.Second

// markerTimeout bounds one WriteTxnMarkers round trip to a leader.
const markerTimeout = 10 * time.Second

type txnCoordinator struct {
	b     *Broker
	coord *txn.Coordinator
	peers *peerConns // markers and verifications to other brokers

	complained atomic.Int64 // ms, when ensureTopic last logged that it cannot create the topic
}

func newTxnCoordinator(b *Broker) *txnCoordinator {
	tc := &txnCoordinator{b: b, peers: &peerConns{b: b, conns: map[int32]*peerConn{}}}
	tc.coord = txn.New(b.cfg.Txn, txn.Deps{
		Writer:      txnLogWriter{b},
		Markers:     markerSender{b, tc.peers},
		IDs:         producerIDSource{b.producers},
		Cluster:     clusterView{b},
		PartitionOf: func(id string) int32 { return grp.PartitionFor(id, tc.partitionCount()) },
		Logger:      b.log.With("component", "txn"),
		Now:         clock.Now,
		Phases:      b.cfg.TxnPhases,
	})
	return tc
}

func (tc *txnCoordinator) partitionCount() int32 {
	if t := tc.b.coord.Metadata().Topic(txnTopic); t != nil {
		return int32(len(t.Partitions))
	}
	return tc.b.cfg.Txn.Partitions
}

// ensureTopic creates __transaction_state on first use, compacted, with
// the transaction.state.log.* settings.
func (tc *txnCoordinator) ensureTopic(ctx context.Context) (*coordinator.Topic, error) {
	cfg := tc.b.cfg.Txn
	return tc.b.ensureInternalTopic(ctx, coordinator.CreateTopicSpec{
		Name:              txnTopic,
		NumPartitions:     cfg.Partitions,
		ReplicationFactor: cfg.ReplicationFactor,
		Configs: map[string]string{"cleanup.policy": "compact", "compression.type": "uncompressed",
			"min.insync.replicas": strconv.Itoa(cfg.MinISR),
			"segment.bytes":       strconv.FormatInt(cfg.SegmentBytes, 10)},
	}, "transaction.state.log.replication.factor", &tc.complained)
}

// ensureInternalTopic creates an internal topic on first use. With fewer
// live brokers than its replication factor it says so plainly, once a
// minute (clients retry), under the key that sets the factor.
func (b *Broker) ensureInternalTopic(ctx context.Context, spec coordinator.CreateTopicSpec, rfKey string, complained *atomic.Int64) (*coordinator.Topic, error) {
	if t := b.coord.Metadata().Topic(spec.Name); t != nil {
		return t, nil
	}
	r := b.createTopics(ctx, []coordinator.CreateTopicSpec{spec}, false)[0]
	if r.Err != nil && protocol.Code(r.Err) != protocol.TopicAlreadyExists {
		if now, last := time.Now().UnixMilli(), complained.Load(); now-last > 60000 && complained.CompareAndSwap(last, now) {
			b.log.Error("cannot create "+spec.Name+"; its coordinator is unavailable until it exists",
				rfKey, spec.ReplicationFactor, "err", r.Err)
		}
		return nil, protocol.Errorf(protocol.CoordinatorNotAvailable, "creating %s: %v", spec.Name, r.Err)
	}
	if t := b.coord.Metadata().Topic(spec.Name); t != nil {
		return t, nil
	}
	return nil, protocol.Errorf(protocol.CoordinatorNotAvailable, "%s is being created", spec.Name)
}

// leaderOf returns the leader of transactional id's partition, creating
// the topic first if needed (FindCoordinator).
func (tc *txnCoordinator) leaderOf(ctx context.Context, id string) (int32, error) {
	t, err := tc.ensureTopic(ctx)
	if err != nil {
		return -1, err
	}
	leader := t.Partitions[grp.PartitionFor(id, int32(len(t.Partitions)))].Leader
	if leader < 0 {
		return -1, protocol.Errorf(protocol.CoordinatorNotAvailable, "the partition of transactional id %q has no leader", id)
	}
	return leader, nil
}

// scheduleLoad starts loading a partition of __transaction_state this
// broker now leads, once per leader epoch. The replica manager calls it on
// every leadership change. A read that fails is tried again every second
// while the leadership lasts: its ids answer COORDINATOR_LOAD_IN_PROGRESS
// meanwhile, which clients retry.
func (tc *txnCoordinator) scheduleLoad(p *replica.Partition) {
	leader, epoch := p.State()
	if leader != tc.b.cfg.NodeID || !tc.coord.StartLoad(p.TopicPartition().Partition, epoch) {
		return
	}
	tc.b.wg.Add(1)
	go func() {
		defer tc.b.wg.Done()
		// As the group coordinator does: only what the ISR holds, once the
		// start of this epoch is committed, so that the state never holds
		// records of the old epoch that a truncation may take back.
		if err := p.AwaitEpochStart(tc.b.ctx, epoch); err != nil {
			return // deposed or stopping: the replica manager unloads it
		}
		for {
			recs, err := readRecords(p.Log(), p.HighWatermark(), tc.b.log)
			if err == nil {
				tc.coord.FinishLoad(p.TopicPartition().Partition, epoch, recs)
				return
			}
			tc.b.log.Error("cannot load transaction coordinator state; trying again", "partition", p.TopicPartition().Partition, "err", err)
			select {
			case <-tc.b.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			if l, e := p.State(); l != tc.b.cfg.NodeID || e != epoch {
				return // the replica manager unloads it
			}
		}
	}()
}

// readRecords reads a partition of an internal topic up to end. A
// corrupt batch header, past which no batch boundary can be found, ends
// it with what it has, so that bad bytes never keep a coordinator loading.
func readRecords(l *klog.Log, end int64, logger *slog.Logger) ([]txn.Record, error) {
	var out []txn.Record
	read := func(from int64) ([]byte, error) {
		res, err := l.Read(from, 1<<20, end, true)
		return res.Records, err
	}
	_, err := protocol.ReadBatches(read, l.LogStartOffset(), end, func(h *protocol.BatchHeader, batch []byte) {
		err := protocol.EachRecord(batch, func(r protocol.RecordView) {
			out = append(out, txn.Record{Offset: h.BaseOffset + int64(r.OffsetDelta),
				Key: append([]byte(nil), r.Key...), Value: cloneValue(r.Value)})
		})
		if err != nil {
			logger.Error("load skips a batch it cannot read", "topic", l.TopicPartition().Topic,
				"partition", l.TopicPartition().Partition, "offset", h.BaseOffset, "err", err)
		}
	})
	var bad *protocol.StoredBatchError
	if errors.As(err, &bad) {
		logger.Error("load stops at a corrupt batch", "topic", l.TopicPartition().Topic,
			"partition", l.TopicPartition().Partition, "offset", bad.Offset, "err", bad.Err)
		return out, nil
	}
	return out, err
}

// cloneValue copies a record value, keeping nil (a tombstone) nil.
func cloneValue(v []byte) []byte {
	if v == nil {
		return nil
	}
	return append([]byte{}, v...)
}

// txnLogWriter appends transaction state with acks=all.
type txnLogWriter struct{ b *Broker }

func (w txnLogWriter) Write(ctx context.Context, part, epoch int32, key, value []byte) error {
	p := w.b.replicas.Get(klog.TopicPartition{Topic: txnTopic, Partition: part})
	if p == nil {
		return protocol.Errorf(protocol.NotLeaderOrFollower, "%s-%d is not here", txnTopic, part)
	}
	if _, e := p.State(); e != epoch {
		return protocol.Errorf(protocol.NotLeaderOrFollower, "%s-%d is in leader epoch %d, not %d", txnTopic, part, e, epoch)
	}
	res, err := p.AppendAsLeader(protocol.BuildBatch(clock.Now().UnixMilli(), []protocol.KV{{Key: key, Value: value}}), -1)
	if err != nil {
		return err
	}
	var out kmsg.ProduceResponseTopicPartition
	done := make(chan struct{})
	w.b.awaitAcks([]ackWait{{p: p, offset: res.LastOffset + 1, out: &out}}, txnWriteTimeout, func() { close(done) })
	select {
	case <-done:
	case <-ctx.Done():
		return protocol.Errorf(protocol.RequestTimedOut, "stopped waiting for %s-%d", txnTopic, part)
	}
	if out.ErrorCode != 0 {
		return protocol.Errorf(protocol.ErrorCode(out.ErrorCode), "writing %s-%d", txnTopic, part)
	}
	return nil
}

// markerSender sends WriteTxnMarkers to each partition's leader, this
// broker included, over the inter-broker listener.
type markerSender struct {
	b     *Broker
	peers *peerConns
}

func (s markerSender) Send(ctx context.Context, m txn.Marker, tps []klog.TopicPartition) map[klog.TopicPartition]error {
	out := make(map[klog.TopicPartition]error, len(tps))
	byLeader := map[int32][]klog.TopicPartition{}
	md := s.b.coord.Metadata()
	for _, tp := range tps {
		t := md.Topic(tp.Topic)
		switch {
		case t == nil || tp.Partition < 0 || int(tp.Partition) >= len(t.Partitions):
			out[tp] = protocol.Errorf(protocol.UnknownTopicOrPartition, "%s is not in the metadata", tp)
		case t.Partitions[tp.Partition].Leader < 0:
			out[tp] = protocol.Errorf(protocol.NotLeaderOrFollower, "%s has no leader", tp)
		default:
			l := t.Partitions[tp.Partition].Leader
			byLeader[l] = append(byLeader[l], tp)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for leader, tps := range byLeader {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := s.sendTo(leader, m, tps)
			mu.Lock()
			defer mu.Unlock()
			for tp, err := range res {
				out[tp] = err
			}
		}()
	}
	wg.Wait()
	return out
}

// sendTo writes one marker to tps, all led by leader.
func (s markerSender) sendTo(leader int32, m txn.Marker, tps []klog.TopicPartition) map[klog.TopicPartition]error {
	out := make(map[klog.TopicPartition]error, len(tps))
	fail := func(err error) map[klog.TopicPartition]error {
		for _, tp := range tps {
			out[tp] = err
		}
		s.b.log.Debug("transaction markers not sent", "leader", leader, "transactional_id", m.TransactionalID, "err", err)
		return out
	}
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.Version = 1
	mk := kmsg.NewWriteTxnMarkersRequestMarker()
	mk.ProducerID, mk.ProducerEpoch, mk.Committed, mk.CoordinatorEpoch = m.ProducerID, m.ProducerEpoch, m.Commit, m.CoordinatorEpoch
	byTopic := map[string]int{}
	for _, tp := range tps {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(mk.Topics)
			byTopic[tp.Topic] = i
			mk.Topics = append(mk.Topics, kmsg.WriteTxnMarkersRequestMarkerTopic{Topic: tp.Topic})
		}
		mk.Topics[i].Partitions = append(mk.Topics[i].Partitions, tp.Partition)
	}
	req.Markers = append(req.Markers, mk)
	resp, err := s.peers.request(leader, req, markerTimeout)
	if err != nil {
		return fail(err)
	}
	for _, rm := range resp.(*kmsg.WriteTxnMarkersResponse).Markers {
		for _, t := range rm.Topics {
			for _, p := range t.Partitions {
				tp := klog.TopicPartition{Topic: t.Topic, Partition: p.Partition}
				out[tp] = nil
				if p.ErrorCode != 0 {
					out[tp] = protocol.Errorf(protocol.ErrorCode(p.ErrorCode), "leader %d writing the marker of %s", leader, tp)
				}
			}
		}
	}
	return out
}

type producerIDSource struct{ p *producerIDs }

func (s producerIDSource) Generate(ctx context.Context) (int64, error) { return s.p.generate(ctx) }

type clusterView struct{ b *Broker }

func (v clusterView) PartitionExists(tp klog.TopicPartition) bool {
	t := v.b.coord.Metadata().Topic(tp.Topic)
	return t != nil && tp.Partition >= 0 && int(tp.Partition) < len(t.Partitions)
}

// txnOperation is what a partition leader asks of a transactional
// write's coordinator before the write opens a transaction on the
// partition (Kafka's TransactionSupportedOperation), by request version.
type txnOperation int8

const (
	// txnVerify (Produce v3-10, TxnOffsetCommit v0-4): verify only
	// (KIP-890 part 1); TRANSACTION_ABORTABLE reads INVALID_TXN_STATE, the
	// error these clients know.
	txnVerify txnOperation = iota
	// txnVerifyAbortable (Produce v11): verify only; the client knows
	// TRANSACTION_ABORTABLE (KIP-1050).
	txnVerifyAbortable
	// txnAdd (Produce v12+, TxnOffsetCommit v5+): KIP-890 part 2, the
	// client sends no AddPartitionsToTxn or AddOffsetsToTxn and the leader
	// adds the partition to the transaction.
	txnAdd
)

// produceTxnOperation is Kafka's produceRequestVersionToTransactionSupportedOperation.
func produceTxnOperation(v int16) txnOperation {
	switch {
	case v >= 12:
		return txnAdd
	case v == 11:
		return txnVerifyAbortable
	}
	return txnVerify
}

// beginTxnWrite is what a leader does before appending a transactional
// batch of producer pid at epoch to p: nothing when the producer's
// transaction is open here already, else op with its coordinator. It
// returns the log's guard for the append (a marker written during the
// round trip voids it) and the coordinator's refusal as Kafka's
// AddPartitionsToTxnManager hands it on: PRODUCER_FENCED reads
// INVALID_PRODUCER_EPOCH, which producers expect here.
func (b *Broker) beginTxnWrite(p *replica.Partition, id string, pid int64, epoch int16, op txnOperation) (uint64, error) {
	out := b.beginTxnWrites([]*replica.Partition{p}, id, pid, epoch, op)
	return out[0].guard, out[0].err
}

// txnBegin is one partition's outcome of beginTxnWrites.
type txnBegin struct {
	guard uint64
	err   error
}

// beginTxnWrites is beginTxnWrite for the partitions of one request, all
// written by producer pid at epoch: the coordinator is asked once for all
// that need it, as Kafka's AddPartitionsToTxnManager batches them, so that
// the first produce of a transaction costs one round trip and one write of
// its state, not one per partition.
func (b *Broker) beginTxnWrites(ps []*replica.Partition, id string, pid int64, epoch int16, op txnOperation) []txnBegin {
	out := make([]txnBegin, len(ps))
	if b.verifyTxn == nil {
		return out
	}
	var ask []klog.TopicPartition
	for i, p := range ps {
		if out[i].guard = p.Log().StartVerification(pid, epoch, op == txnAdd); out[i].guard != 0 {
			ask = append(ask, p.TopicPartition())
		}
	}
	if len(ask) == 0 {
		return out // its transaction is open on every one
	}
	start := time.Now()
	errs := b.verifyTxn(b.ctx, id, pid, epoch, ask, op == txnAdd)
	if o := b.cfg.TxnPhases; o != nil {
		o.ObservePhase(txn.PhaseVerify, time.Since(start))
	}
	for i, p := range ps {
		if out[i].guard == 0 {
			continue
		}
		err := errs[p.TopicPartition()]
		switch protocol.Code(err) {
		case protocol.ProducerFenced:
			err = protocol.Errorf(protocol.InvalidProducerEpoch, "%v", err)
		case protocol.TransactionAbortable:
			if op == txnVerify {
				err = protocol.Errorf(protocol.InvalidTxnState, "%v", err)
			}
		}
		out[i].err = err
	}
	return out
}

// verifyTxn asks the coordinator of transactionalID, itself when that is
// this broker or another with AddPartitionsToTxn v5, whether tps are in
// producer pid's ongoing transaction (KIP-890 part 1, VerifyOnly), or with
// add to add them there (part 2). It answers for every partition of tps:
// nil lets the leader append.
func (tc *txnCoordinator) verifyTxn(ctx context.Context, id string, pid int64, epoch int16, tps []klog.TopicPartition, add bool) map[klog.TopicPartition]error {
	out := make(map[klog.TopicPartition]error, len(tps))
	all := func(err error) map[klog.TopicPartition]error {
		for _, tp := range tps {
			out[tp] = err
		}
		return out
	}
	leader, err := tc.leaderOf(ctx, id)
	if err != nil {
		return all(err)
	}
	if leader == tc.b.cfg.NodeID {
		if add {
			return all(tc.coord.AddPartitionsForWrite(ctx, id, pid, epoch, tps, tc.b.cfg.Txn.AddPartitionsMaxWait))
		}
		res, err := tc.coord.Verify(id, pid, epoch, tps)
		if err != nil {
			return all(err)
		}
		return res
	}
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 5
	tr := kmsg.NewAddPartitionsToTxnRequestTransaction()
	tr.TransactionalID, tr.ProducerID, tr.ProducerEpoch, tr.VerifyOnly = id, pid, epoch, !add
	for _, tp := range tps {
		if n := len(tr.Topics); n == 0 || tr.Topics[n-1].Topic != tp.Topic {
			tr.Topics = append(tr.Topics, kmsg.AddPartitionsToTxnRequestTransactionTopic{Topic: tp.Topic})
		}
		last := &tr.Topics[len(tr.Topics)-1]
		last.Partitions = append(last.Partitions, tp.Partition)
	}
	req.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{tr}
	kresp, err := tc.peers.request(leader, req, markerTimeout)
	if err != nil {
		return all(protocol.Errorf(protocol.NotCoordinator, "verifying with broker %d: %v", leader, err))
	}
	resp := kresp.(*kmsg.AddPartitionsToTxnResponse)
	if resp.ErrorCode != 0 {
		// Kafka keeps CLUSTER_AUTHORIZATION_FAILED from the client: the
		// write was not verified, which INVALID_TXN_STATE says.
		code := protocol.ErrorCode(resp.ErrorCode)
		if code == protocol.ClusterAuthorizationFailed {
			code = protocol.InvalidTxnState
		}
		return all(protocol.Errorf(code, "coordinator %d", leader))
	}
	answered := map[klog.TopicPartition]error{}
	for _, t := range resp.Transactions {
		for _, rt := range t.Topics {
			for _, p := range rt.Partitions {
				tp := klog.TopicPartition{Topic: rt.Topic, Partition: p.Partition}
				answered[tp] = nil
				if p.ErrorCode != 0 {
					answered[tp] = protocol.Errorf(protocol.ErrorCode(p.ErrorCode), "coordinator %d: %s is not in the transaction of %q", leader, tp, id)
				}
			}
		}
	}
	for _, tp := range tps {
		err, ok := answered[tp]
		if !ok {
			err = protocol.Errorf(protocol.NotCoordinator, "coordinator %d did not answer for %s", leader, tp)
		}
		out[tp] = err
	}
	return out
}

// peerConns keeps a connection to each other broker for the coordinator's
// requests, one request at a time on each, so that a transaction does not
// pay a dial per leader for its markers and verifications.
type peerConns struct {
	b     *Broker
	mu    sync.Mutex
	conns map[int32]*peerConn
}

type peerConn struct {
	mu sync.Mutex
	p  *peer // nil until dialled, and after a failure
}

// request sends req to broker id. A kept connection that fails (the peer
// restarted, or closed it as idle) is replaced by a fresh one, once.
func (pc *peerConns) request(id int32, req kmsg.Request, timeout time.Duration) (kmsg.Response, error) {
	pc.mu.Lock()
	c := pc.conns[id]
	if c == nil {
		c = &peerConn{}
		pc.conns[id] = c
	}
	pc.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.p != nil
	for {
		if c.p == nil {
			addr, err := pc.b.peerAddr(id)
			if err != nil {
				return nil, err
			}
			if c.p, err = dialPeer(addr, pc.b.cfg.NodeID, pc.b.cfg.Peer); err != nil {
				return nil, err
			}
		}
		resp, err := c.p.Request(req, timeout)
		if err == nil {
			return resp, nil
		}
		c.p.Close()
		c.p = nil
		if !kept {
			return nil, err
		}
		kept = false
	}
}

// close closes every kept connection.
func (pc *peerConns) close() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, c := range pc.conns {
		c.mu.Lock()
		if c.p != nil {
			c.p.Close()
			c.p = nil
		}
		c.mu.Unlock()
	}
}
