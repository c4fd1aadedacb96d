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

// ackWait is one partition of an acks=all produce waiting for the high
// watermark to pass its last offset.
type ackWait struct {
	p      *replica.Partition
	offset int64 // the high watermark that commits the batch
	out    *kmsg.ProduceResponseTopicPartition
}

// handleProduce appends each partition's batch and answers at once or, with
// acks=all, once the high watermark passes it. The request's frame is
// recycled when this returns (protocol.RecycleFrame in conn's readLoop), so
// nothing here may keep a slice of req: the log copies the records out.
func handleProduce(b *Broker, c *conn, req *kmsg.ProduceRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.ProduceResponse)
	md := b.coord.Metadata()
	// Sized up front so that pointers into them stay valid for the waits.
	out.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	var waits []ackWait
	failed := false
	fail := func(op *kmsg.ProduceResponseTopicPartition, err error) {
		failed = true
		op.ErrorCode = int16(protocol.Code(err))
		msg := err.Error()
		op.ErrorMessage = &msg
		op.ErrorRecords = recordErrors(err)
		op.BaseOffset = -1
	}
	txnDenied := req.TransactionID != nil && !c.may(authzProduceTxn, *req.TransactionID)
	var ready []produceAppend
	for i, rt := range req.Topics {
		ot := &out.Topics[i]
		*ot = kmsg.NewProduceResponseTopic()
		ot.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		if req.Version >= 13 {
			rt.Topic = topicNameByID(md, rt.TopicID)
		}
		ot.Topic, ot.TopicID = rt.Topic, rt.TopicID
		if code := produceRefusal(c, txnDenied, rt.Topic, req.Version >= 13); code != 0 {
			failed = true
			refuseProduce(ot, rt, code)
			continue
		}
		t := b.topicForProduce(md, rt.Topic)
		for j, rp := range rt.Partitions {
			op := &ot.Partitions[j]
			*op = kmsg.NewProduceResponseTopicPartition()
			op.Partition = rp.Partition
			a, err := b.checkProduce(t, rt.Topic, rp, req)
			if err != nil {
				fail(op, err)
				continue
			}
			a.out = op
			ready = append(ready, a)
		}
	}
	b.verifyTransactional(ready, req)
	for _, a := range ready {
		res, err := b.appendProduce(a, req)
		if err != nil {
			fail(a.out, err)
			continue
		}
		a.out.BaseOffset, a.out.LogAppendTime, a.out.LogStartOffset = res.FirstOffset, res.LogAppendTime, res.LogStartOffset
		if req.Acks == -1 {
			waits = append(waits, ackWait{p: a.p, offset: res.LastOffset + 1, out: a.out})
		}
	}
	switch {
	case req.Acks == 0:
		// No response; a failure closes the connection so the producer
		// notices and refreshes its metadata, as Kafka does.
		resp.closeConn = failed
		resp.complete(nil)
	case len(waits) == 0:
		b.addProduceLeaderHints(b.coord.Metadata(), c.listener, out)
		resp.complete(out)
	default:
		b.awaitAcks(waits, time.Duration(req.TimeoutMillis)*time.Millisecond, func() {
			b.addProduceLeaderHints(b.coord.Metadata(), c.listener, out)
			resp.complete(out)
		})
	}
}

// produceRefusal is the code of a topic the connection may not produce to,
// checked before the topic is looked up or auto-created, as Kafka does. From
// v13 (byID) topics are named by id (KIP-516), and one the metadata does
// not hold has no name: UNKNOWN_TOPIC_ID.
func produceRefusal(c *conn, txnDenied bool, topic string, byID bool) protocol.ErrorCode {
	switch {
	case txnDenied:
		return authzProduceTxn.Error
	case byID && topic == "":
		return protocol.UnknownTopicID
	case !c.may(authzProduce, topic):
		return authzProduce.Error
	}
	return 0
}

// refuseProduce answers every partition of a refused topic with code.
func refuseProduce(ot *kmsg.ProduceResponseTopic, rt kmsg.ProduceRequestTopic, code protocol.ErrorCode) {
	for j, rp := range rt.Partitions {
		ot.Partitions[j] = kmsg.NewProduceResponseTopicPartition()
		ot.Partitions[j].Partition, ot.Partitions[j].ErrorCode, ot.Partitions[j].BaseOffset = rp.Partition, int16(code), -1
	}
}

// topicForProduce looks up the topic, auto-creating it when the broker
// allows (the issue asks for creation on Produce as well as on Metadata).
func (b *Broker) topicForProduce(md *coordinator.Metadata, name string) *coordinator.Topic {
	if t := md.Topic(name); t != nil || !b.cfg.AutoCreateTopics || protocol.ValidTopicName(name) != nil || protocol.IsInternalTopic(name) {
		return t
	}
	b.autoCreateTopics([]string{name})
	return b.coord.Metadata().Topic(name)
}

// produceAppend is one partition's batch of a produce request that
// passed its checks, on its way to the log.
type produceAppend struct {
	p       *replica.Partition
	cfg     klog.Config // the log's, as the records were checked against it
	records []byte
	out     *kmsg.ProduceResponseTopicPartition
	guard   uint64 // the log's verification guard (KIP-890)
	err     error  // the transaction's coordinator refused the batch
}

// checkProduce applies to one partition's records every check that comes
// before the transaction's coordinator is asked.
func (b *Broker) checkProduce(t *coordinator.Topic, name string, rp kmsg.ProduceRequestTopicPartition, req *kmsg.ProduceRequest) (produceAppend, error) {
	var none produceAppend
	if err := protocol.ValidTopicName(name); err != nil {
		return none, err
	}
	switch {
	case req.Acks != 0 && req.Acks != 1 && req.Acks != -1:
		return none, protocol.Errorf(protocol.InvalidRequiredAcks, "acks=%d: must be -1, 0 or 1", req.Acks)
	case protocol.IsInternalTopic(name):
		// Kafka's appendToLocalLog: only the coordinators, which append
		// to their partitions directly, may write internal topics.
		return none, protocol.Errorf(protocol.InvalidTopicException, "Cannot append to internal topic %s", name)
	case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.Partitions):
		return none, protocol.Errorf(protocol.UnknownTopicOrPartition, "%s-%d: no such partition", name, rp.Partition)
	}
	tp := klog.TopicPartition{Topic: name, Partition: rp.Partition}
	p := b.replicas.Get(tp)
	if p == nil {
		if err := b.logs.Offline(tp); err != nil {
			return none, protocol.Errorf(protocol.KafkaStorageError, "%v", err)
		}
	}
	if p == nil || p.TopicID() != t.ID {
		return none, protocol.Errorf(protocol.NotLeaderOrFollower, "%s-%d: no replica on broker %d", name, rp.Partition, b.cfg.NodeID)
	}
	if err := validateProduceRecords(req.Version, rp.Records); err != nil {
		return none, err
	}
	cfg := p.Log().Config()
	if err := protocol.ValidateBatch(rp.Records, batchRules(p, cfg, req)); err != nil {
		return none, err
	}
	return produceAppend{p: p, cfg: cfg, records: rp.Records}, nil
}

// appendProduce appends one partition's checked and verified records.
func (b *Broker) appendProduce(a produceAppend, req *kmsg.ProduceRequest) (klog.AppendResult, error) {
	if a.err != nil {
		return klog.AppendResult{}, a.err
	}
	records := a.records
	if codec, level, ok := storedCodec(a.cfg); ok {
		// The topic's compression.type is not the producer's: Kafka's
		// LogValidator recompresses the batch before the append.
		recompressed, err := protocol.Recompress(records, codec, level)
		if err != nil {
			return klog.AppendResult{}, err
		}
		records = recompressed
	}
	res, err := a.p.AppendLeader(records, req.Acks, klog.AppendOptions{VerificationGuard: a.guard})
	if err == nil {
		a.p.Stats.BytesIn.Add(int64(len(records)))
		a.p.Stats.MessagesIn.Add(res.LastOffset - res.FirstOffset + 1)
	}
	if err != nil && !errors.As(err, new(*protocol.Error)) {
		err = b.storageError("append failed", a.p.TopicPartition(), err)
	}
	return res, err
}

// verifyTransactional is KIP-890: a transactional batch from a producer
// with no transaction open on its partition is appended only once its
// coordinator confirms the partition is in its ongoing transaction (part
// 1), or, for Produce v12+, has added it there (part 2), so that a late
// write cannot open a transaction that no marker will close. It sets each
// batch's guard and the coordinator's refusal, asking once for all the
// partitions of one producer and epoch. ValidateBatch has refused
// transactional batches without a transactional id. As in Kafka's
// ReplicaManager, a coordinator that is busy or moving reads
// NOT_ENOUGH_REPLICAS, which every producer retries without refreshing
// its metadata.
func (b *Broker) verifyTransactional(ready []produceAppend, req *kmsg.ProduceRequest) {
	if req.TransactionID == nil {
		return
	}
	type producer struct {
		id    int64
		epoch int16
	}
	byProducer := map[producer][]int{} // indexes into ready
	var order []producer
	for i, a := range ready {
		h, err := protocol.ParseBatchHeader(a.records)
		if err != nil || !h.IsTransactional() {
			continue
		}
		k := producer{h.ProducerID, h.ProducerEpoch}
		if _, ok := byProducer[k]; !ok {
			order = append(order, k)
		}
		byProducer[k] = append(byProducer[k], i)
	}
	for _, k := range order {
		idx := byProducer[k]
		ps := make([]*replica.Partition, len(idx))
		for n, i := range idx {
			ps[n] = ready[i].p
		}
		for n, r := range b.beginTxnWrites(ps, *req.TransactionID, k.id, k.epoch, produceTxnOperation(req.Version)) {
			a := &ready[idx[n]]
			a.guard, a.err = r.guard, r.err
			switch protocol.Code(r.err) {
			case protocol.ConcurrentTransactions, protocol.NetworkException, protocol.CoordinatorLoadInProgress,
				protocol.CoordinatorNotAvailable, protocol.NotCoordinator:
				a.err = protocol.Errorf(protocol.NotEnoughReplicas, "cannot verify %s is in the transaction: %v", a.p.TopicPartition(), r.err)
			}
		}
	}
}

// storageError logs and counts a failure of a partition's log (a write,
// fsync or read the disk refused) and returns the client's answer,
// KAFKA_STORAGE_ERROR.
func (b *Broker) storageError(what string, tp klog.TopicPartition, err error) error {
	b.counters.storageErrors.Add(1)
	b.log.Error(what, "topic", tp.Topic, "partition", tp.Partition, "err", err)
	return protocol.Errorf(protocol.KafkaStorageError, "%s: %v", tp, err)
}

// validateProduceRecords applies the checks Kafka makes on the request
// itself before the log sees it: produce v3+ carries exactly one v2 batch,
// and zstd needs produce v7+.
func validateProduceRecords(version int16, records []byte) error {
	if len(records) == 0 {
		return protocol.Errorf(protocol.InvalidRecord, "produce v%d must carry one record batch, got none", version)
	}
	h, _, rest, err := protocol.NextBatch(records)
	switch {
	case errors.Is(err, protocol.ErrIncompleteBatch):
		return protocol.Errorf(protocol.CorruptMessage, "record batch is cut short: %v", err)
	case errors.Is(err, protocol.ErrBadMagic):
		return protocol.Errorf(protocol.InvalidRecord, "produce requests with version %d are only allowed to contain record batches with magic version 2", version)
	case err != nil:
		return err
	case len(rest) > 0:
		return protocol.Errorf(protocol.InvalidRecord, "produce v%d may carry exactly one record batch per partition", version)
	case h.Compression() > protocol.CompressionZstd:
		return protocol.Errorf(protocol.UnsupportedCompressionType, "unknown compression codec %d", h.Compression())
	case h.Compression() == protocol.CompressionZstd && version < 7:
		return protocol.Errorf(protocol.UnsupportedCompressionType, "zstd needs produce v7 or later, got v%d", version)
	}
	return nil
}

// batchRules are the partition's rules for a producer's batch.
func batchRules(p *replica.Partition, cfg klog.Config, req *kmsg.ProduceRequest) *protocol.ValidateOptions {
	opts := &protocol.ValidateOptions{TopicPartition: p.TopicPartition().String(), Compacted: cfg.Compacted(), LogAppendTime: cfg.LogAppendTime}
	if req.TransactionID != nil {
		opts.TransactionalID = *req.TransactionID
	}
	return opts
}

// recordErrors lists the records a batch was refused for (KIP-467).
func recordErrors(err error) []kmsg.ProduceResponseTopicPartitionErrorRecord {
	var re *protocol.RecordErrors
	if !errors.As(err, &re) {
		return nil
	}
	out := make([]kmsg.ProduceResponseTopicPartitionErrorRecord, len(re.Records))
	for i := range re.Records {
		out[i] = kmsg.NewProduceResponseTopicPartitionErrorRecord()
		out[i].RelativeOffset, out[i].ErrorMessage = re.Records[i].Index, &re.Records[i].Message
	}
	return out
}

// awaitAcks parks an acks=all produce until every partition's high
// watermark passes its batch, the request times out, or the broker stops.
func (b *Broker) awaitAcks(waits []ackWait, timeout time.Duration, finish func()) {
	if b.checkAcks(waits) {
		finish()
		return
	}
	parts := make([]*replica.Partition, len(waits))
	for i, w := range waits {
		parts[i] = w.p
	}
	expire := func() {
		for _, w := range waits {
			if w.out.ErrorCode == 0 && !w.p.Acked(w.offset) {
				w.out.ErrorCode = int16(protocol.RequestTimedOut)
			}
		}
	}
	b.purgatory.Park(parts, timeout, &b.counters.parkedProduce, func() bool { return b.checkAcks(waits) }, expire, finish)
}

// checkAcks reports whether every wait has an outcome, recording errors for
// partitions that lost leadership or fell below min.insync.replicas.
func (b *Broker) checkAcks(waits []ackWait) bool {
	done := true
	for _, w := range waits {
		if w.out.ErrorCode != 0 {
			continue
		}
		ok, err := w.p.AckState(w.offset)
		if err != nil {
			w.out.ErrorCode = int16(protocol.Code(err))
			continue
		}
		done = done && ok
	}
	return done
}
