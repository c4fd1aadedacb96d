package broker

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// ackWait is one partition of an acks=all produce waiting for the high
// watermark to pass its last offset.
type ackWait struct {
	p      *partition
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
	txnDenied := req.TransactionID != nil && !c.may(authzProduceTxn, *req.TransactionID)
	for i, rt := range req.Topics {
		ot := &out.Topics[i]
		*ot = kmsg.NewProduceResponseTopic()
		ot.Topic = rt.Topic
		ot.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		if code := produceRefusal(c, txnDenied, rt.Topic); code != 0 {
			failed = true
			refuseProduce(ot, rt, code)
			continue
		}
		t := b.topicForProduce(md, rt.Topic)
		for j, rp := range rt.Partitions {
			op := &ot.Partitions[j]
			*op = kmsg.NewProduceResponseTopicPartition()
			op.Partition = rp.Partition
			p, res, err := b.produceToPartition(t, rt.Topic, rp, req)
			if err != nil {
				failed = true
				op.ErrorCode = int16(protocol.Code(err))
				msg := err.Error()
				op.ErrorMessage = &msg
				op.ErrorRecords = recordErrors(err)
				op.BaseOffset = -1
				continue
			}
			op.BaseOffset, op.LogAppendTime, op.LogStartOffset = res.FirstOffset, res.LogAppendTime, res.LogStartOffset
			if req.Acks == -1 {
				waits = append(waits, ackWait{p: p, offset: res.LastOffset + 1, out: op})
			}
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
// checked before the topic is looked up or auto-created, as Kafka does.
func produceRefusal(c *conn, txnDenied bool, topic string) protocol.ErrorCode {
	switch {
	case txnDenied:
		return authzProduceTxn.Error
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

// produceToPartition validates and appends one partition's records.
func (b *Broker) produceToPartition(t *coordinator.Topic, name string, rp kmsg.ProduceRequestTopicPartition, req *kmsg.ProduceRequest) (*partition, klog.AppendResult, error) {
	var res klog.AppendResult
	if err := protocol.ValidTopicName(name); err != nil {
		return nil, res, err
	}
	switch {
	case req.Acks != 0 && req.Acks != 1 && req.Acks != -1:
		return nil, res, protocol.Errorf(protocol.InvalidRequiredAcks, "acks=%d: must be -1, 0 or 1", req.Acks)
	case protocol.IsInternalTopic(name):
		// Kafka's appendToLocalLog: only the coordinators, which append
		// to their partitions directly, may write internal topics.
		return nil, res, protocol.Errorf(protocol.InvalidTopicException, "Cannot append to internal topic %s", name)
	case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.Partitions):
		return nil, res, protocol.Errorf(protocol.UnknownTopicOrPartition, "%s-%d: no such partition", name, rp.Partition)
	}
	tp := klog.TopicPartition{Topic: name, Partition: rp.Partition}
	p := b.replicas.get(tp)
	if p == nil {
		if err := b.logs.Offline(tp); err != nil {
			return nil, res, protocol.Errorf(protocol.KafkaStorageError, "%v", err)
		}
	}
	if p == nil || p.topicID != t.ID {
		return nil, res, protocol.Errorf(protocol.NotLeaderOrFollower, "%s-%d: no replica on broker %d", name, rp.Partition, b.cfg.NodeID)
	}
	if err := validateProduceRecords(req.Version, rp.Records); err != nil {
		return nil, res, err
	}
	cfg := p.log.Config()
	if err := protocol.ValidateBatch(rp.Records, batchRules(p, cfg, req)); err != nil {
		return nil, res, err
	}
	guard, err := b.verifyTransactional(p, rp.Records, req)
	if err != nil {
		return nil, res, err
	}
	if codec, level, ok := storedCodec(cfg); ok {
		// The topic's compression.type is not the producer's: Kafka's
		// LogValidator recompresses the batch before the append.
		recompressed, err := protocol.Recompress(rp.Records, codec, level)
		if err != nil {
			return nil, res, err
		}
		rp.Records = recompressed
	}
	res, err = p.appendLeader(rp.Records, req.Acks, klog.AppendOptions{VerificationGuard: guard})
	if err == nil {
		p.stats.bytesIn.Add(int64(len(rp.Records)))
		p.stats.messagesIn.Add(res.LastOffset - res.FirstOffset + 1)
	}
	if err != nil && !errors.As(err, new(*protocol.Error)) {
		err = b.storageError("append failed", tp, err)
	}
	return p, res, err
}

// storageError logs and counts a failure of a partition's log (a write,
// fsync or read the disk refused) and returns the client's answer,
// KAFKA_STORAGE_ERROR.
func (b *Broker) storageError(what string, tp klog.TopicPartition, err error) error {
	b.counters.storageErrors.Add(1)
	b.log.Error(what, "topic", tp.Topic, "partition", tp.Partition, "err", err)
	return protocol.Errorf(protocol.KafkaStorageError, "%s: %v", tp, err)
}

// verifyTransactional is KIP-890: a transactional batch from a producer
// with no transaction open on this partition is appended only once its
// coordinator confirms the partition is in its ongoing transaction (part
// 1), or, for Produce v12+, has added it there (part 2), so that a late
// write cannot open a transaction that no marker will close. It returns
// the log's guard for the append. ValidateBatch has refused transactional
// batches without a transactional id. As in Kafka's ReplicaManager, a
// coordinator that is busy or moving reads NOT_ENOUGH_REPLICAS, which
// every producer retries without refreshing its metadata.
func (b *Broker) verifyTransactional(p *partition, records []byte, req *kmsg.ProduceRequest) (uint64, error) {
	h, err := protocol.ParseBatchHeader(records)
	if err != nil || !h.IsTransactional() || req.TransactionID == nil {
		return 0, nil
	}
	guard, err := b.beginTxnWrite(p, *req.TransactionID, h.ProducerID, h.ProducerEpoch, produceTxnOperation(req.Version))
	switch protocol.Code(err) {
	case protocol.ConcurrentTransactions, protocol.NetworkException, protocol.CoordinatorLoadInProgress,
		protocol.CoordinatorNotAvailable, protocol.NotCoordinator:
		err = protocol.Errorf(protocol.NotEnoughReplicas, "cannot verify %s is in the transaction: %v", p.tp, err)
	}
	return guard, err
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
func batchRules(p *partition, cfg klog.Config, req *kmsg.ProduceRequest) *protocol.ValidateOptions {
	opts := &protocol.ValidateOptions{TopicPartition: p.tp.String(), Compacted: cfg.Compacted(), LogAppendTime: cfg.LogAppendTime}
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
	parts := make([]*partition, len(waits))
	for i, w := range waits {
		parts[i] = w.p
	}
	expire := func() {
		for _, w := range waits {
			if w.out.ErrorCode == 0 && !w.p.acked(w.offset) {
				w.out.ErrorCode = int16(protocol.RequestTimedOut)
			}
		}
	}
	b.park(parts, timeout, &b.counters.parkedProduce, func() bool { return b.checkAcks(waits) }, expire, finish)
}

// checkAcks reports whether every wait has an outcome, recording errors for
// partitions that lost leadership or fell below min.insync.replicas.
func (b *Broker) checkAcks(waits []ackWait) bool {
	done := true
	for _, w := range waits {
		if w.out.ErrorCode != 0 {
			continue
		}
		ok, err := w.p.ackState(w.offset)
		if err != nil {
			w.out.ErrorCode = int16(protocol.Code(err))
			continue
		}
		done = done && ok
	}
	return done
}
