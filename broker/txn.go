package broker

import (
	"context"
	"regexp"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/txn"
)

// The transaction coordinator's APIs; the state machine is package txn.
//
// InitProducerId (transactional) v0-5, AddPartitionsToTxn v0-5,
// AddOffsetsToTxn v0-4, EndTxn v0-5, DescribeTransactions v0,
// ListTransactions v0-2.
//
// Behavior:
//   - Each answers once the state change is written to __transaction_state
//     with acks=all. EndTxn's outcome is decided once PrepareCommit or
//     PrepareAbort is written. EndTxn v5+ answers then, as Kafka does: the
//     leaders of the next transaction's partitions wait for the markers
//     before adding them to it. Below v5 it waits up to 100 ms more for the
//     markers (CONCURRENT_TRANSACTIONS meets AddPartitionsToTxn until they
//     are written), so that a client's next transaction rarely backs off.
//   - NOT_COORDINATOR on a broker that does not lead the id's partition,
//     COORDINATOR_LOAD_IN_PROGRESS while it loads it.
//   - AddPartitionsToTxn v0-3 is the client's: unknown or refused topics
//     fail the request, the rest get OPERATION_NOT_ATTEMPTED. v4+ is the
//     brokers' batched form (ClusterAction), VerifyOnly for KIP-890 part 1.
//   - EndTxn v5+ is KIP-890 part 2: every end bumps the epoch, returned.
//   - PRODUCER_FENCED reads INVALID_PRODUCER_EPOCH to clients older than
//     the version that introduced it, as Kafka answers.

// txnRequestTimeout bounds the background work of one request.
const txnRequestTimeout = 30 * time.Second

// answerLater runs f off the connection's reader, so that a write waiting
// for acks=all does not hold up the requests pipelined behind it.
func (b *Broker) answerLater(resp *response, f func(ctx context.Context) kmsg.Response) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := context.WithTimeout(b.ctx, txnRequestTimeout)
		defer cancel()
		resp.complete(f(ctx))
	}()
}

// fencedCode is err's code for a client of version v: PRODUCER_FENCED
// reads INVALID_PRODUCER_EPOCH below version since.
func fencedCode(err error, v, since int16) int16 {
	code := protocol.Code(err)
	if code == protocol.ProducerFenced && v < since {
		code = protocol.InvalidProducerEpoch
	}
	return int16(code)
}

// initTxnProducer is InitProducerId with a transactional id.
func initTxnProducer(b *Broker, req *kmsg.InitProducerIDRequest, resp *response) {
	b.answerLater(resp, func(ctx context.Context) kmsg.Response {
		out := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		pid, epoch, err := b.txns.coord.InitProducerID(ctx, *req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch)
		out.ProducerID, out.ProducerEpoch, out.ErrorCode = pid, epoch, fencedCode(err, req.Version, 4)
		return out
	})
}

func handleAddPartitionsToTxn(b *Broker, c *conn, req *kmsg.AddPartitionsToTxnRequest, resp *response) {
	if req.Version >= 4 {
		handleAddPartitionsBatched(b, c, req, resp)
		return
	}
	out := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	answer := func(code func(t string, p int32) protocol.ErrorCode) *kmsg.AddPartitionsToTxnResponse {
		for _, rt := range req.Topics {
			ot := kmsg.AddPartitionsToTxnResponseTopic{Topic: rt.Topic}
			for _, p := range rt.Partitions {
				ot.Partitions = append(ot.Partitions, kmsg.AddPartitionsToTxnResponseTopicPartition{Partition: p, ErrorCode: int16(code(rt.Topic, p))})
			}
			out.Topics = append(out.Topics, ot)
		}
		return out
	}
	if !c.may(authzAddPartitionsTxn, req.TransactionalID) {
		resp.complete(answer(func(string, int32) protocol.ErrorCode { return authzAddPartitionsTxn.Error }))
		return
	}
	refused := refusedTopics(c, authzAddPartitionsTop, req.Topics, func(t kmsg.AddPartitionsToTxnRequestTopic) string { return t.Topic })
	md := b.coord.Metadata()
	failed := false
	bad := func(t string, p int32) protocol.ErrorCode {
		switch {
		case refused[t]:
			return authzAddPartitionsTop.Error
		case !md.HasPartition(t, p):
			return protocol.UnknownTopicOrPartition
		}
		return protocol.None
	}
	var tps []klog.TopicPartition
	for _, rt := range req.Topics {
		for _, p := range rt.Partitions {
			failed = failed || bad(rt.Topic, p) != protocol.None
			tps = append(tps, klog.TopicPartition{Topic: rt.Topic, Partition: p})
		}
	}
	if failed {
		resp.complete(answer(func(t string, p int32) protocol.ErrorCode {
			if code := bad(t, p); code != protocol.None {
				return code
			}
			return protocol.OperationNotAttempted
		}))
		return
	}
	b.answerLater(resp, func(ctx context.Context) kmsg.Response {
		err := b.txns.coord.AddPartitions(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, tps)
		code := protocol.ErrorCode(fencedCode(err, req.Version, 2))
		return answer(func(string, int32) protocol.ErrorCode { return code })
	})
}

// handleAddPartitionsBatched is AddPartitionsToTxn v4+, sent by partition
// leaders: VerifyOnly asks whether partitions are in the transaction
// already (KIP-890 part 1); otherwise they are added (part 2).
func handleAddPartitionsBatched(b *Broker, c *conn, req *kmsg.AddPartitionsToTxnRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	if !c.may(authzAddPartitionsBroker, "") {
		out.ErrorCode = int16(authzAddPartitionsBroker.Error)
		resp.complete(out)
		return
	}
	b.answerLater(resp, func(ctx context.Context) kmsg.Response {
		for _, rt := range req.Transactions {
			var tps []klog.TopicPartition
			for _, t := range rt.Topics {
				for _, p := range t.Partitions {
					tps = append(tps, klog.TopicPartition{Topic: t.Topic, Partition: p})
				}
			}
			var errs map[klog.TopicPartition]error
			var err error
			if rt.VerifyOnly {
				errs, err = b.txns.coord.Verify(rt.TransactionalID, rt.ProducerID, rt.ProducerEpoch, tps)
			} else {
				err = b.txns.coord.AddPartitionsForWrite(ctx, rt.TransactionalID, rt.ProducerID, rt.ProducerEpoch, tps, b.cfg.Txn.AddPartitionsMaxWait)
			}
			ot := kmsg.AddPartitionsToTxnResponseTransaction{TransactionalID: rt.TransactionalID}
			for _, t := range rt.Topics {
				tt := kmsg.AddPartitionsToTxnResponseTransactionTopic{Topic: t.Topic}
				for _, p := range t.Partitions {
					e := err
					if e == nil {
						e = errs[klog.TopicPartition{Topic: t.Topic, Partition: p}]
					}
					tt.Partitions = append(tt.Partitions, kmsg.AddPartitionsToTxnResponseTransactionTopicPartition{Partition: p, ErrorCode: int16(protocol.Code(e))})
				}
				ot.Topics = append(ot.Topics, tt)
			}
			out.Transactions = append(out.Transactions, ot)
		}
		return out
	})
}

// handleAddOffsetsToTxn adds the group's partition of __consumer_offsets
// to the transaction, for the TxnOffsetCommit that follows.
func handleAddOffsetsToTxn(b *Broker, c *conn, req *kmsg.AddOffsetsToTxnRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if err := c.check(authzAddOffsetsTxn, req.TransactionalID); err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		resp.complete(out)
		return
	}
	if err := c.check(authzAddOffsetsGroup, req.Group); err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		resp.complete(out)
		return
	}
	tp := klog.TopicPartition{Topic: offsetsTopic, Partition: grp.PartitionFor(req.Group, b.groups.PartitionCount())}
	b.answerLater(resp, func(ctx context.Context) kmsg.Response {
		err := b.txns.coord.AddPartitions(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, []klog.TopicPartition{tp})
		out.ErrorCode = fencedCode(err, req.Version, 2)
		return out
	})
}

func handleEndTxn(b *Broker, c *conn, req *kmsg.EndTxnRequest, resp *response) {
	out := req.ResponseKind().(*kmsg.EndTxnResponse)
	out.ProducerID, out.ProducerEpoch = -1, -1
	if err := c.check(authzEndTxn, req.TransactionalID); err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		resp.complete(out)
		return
	}
	b.answerLater(resp, func(ctx context.Context) kmsg.Response {
		pid, epoch, err := b.txns.coord.EndTxn(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit, req.Version >= 5)
		if err == nil {
			out.ProducerID, out.ProducerEpoch = pid, epoch
		}
		out.ErrorCode = fencedCode(err, req.Version, 2)
		return out
	})
}

func handleDescribeTransactions(b *Broker, c *conn, req *kmsg.DescribeTransactionsRequest) *kmsg.DescribeTransactionsResponse {
	out := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID = id
		var m *txn.Metadata
		err := c.check(authzDescribeTxn, id)
		if err == nil {
			m, err = b.txns.coord.Describe(id)
		}
		if err != nil {
			st.ErrorCode = int16(protocol.Code(err))
			out.TransactionStates = append(out.TransactionStates, st)
			continue
		}
		st.State, st.TimeoutMillis, st.StartTimestamp = m.State.String(), m.TimeoutMs, m.StartMs
		st.ProducerID, st.ProducerEpoch = m.ProducerID, m.ProducerEpoch
		for _, tp := range m.SortedPartitions() {
			if n := len(st.Topics); n == 0 || st.Topics[n-1].Topic != tp.Topic {
				st.Topics = append(st.Topics, kmsg.DescribeTransactionsResponseTransactionStateTopic{Topic: tp.Topic})
			}
			last := &st.Topics[len(st.Topics)-1]
			last.Partitions = append(last.Partitions, tp.Partition)
		}
		out.TransactionStates = append(out.TransactionStates, st)
	}
	return out
}

// handleListTransactions lists the transactions this broker coordinates
// that the principal may Describe. Unknown state names are reported and,
// as in Kafka, filter nothing.
func handleListTransactions(b *Broker, c *conn, req *kmsg.ListTransactionsRequest) *kmsg.ListTransactionsResponse {
	out := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	f := txn.Filter{ProducerIDs: req.ProducerIDFilters, MinDurationMs: -1}
	if req.Version >= 1 {
		f.MinDurationMs = req.DurationFilterMillis
	}
	for _, name := range req.StateFilters {
		if s, ok := txn.ParseState(name); ok {
			f.States = append(f.States, s)
		} else {
			out.UnknownStateFilters = append(out.UnknownStateFilters, name)
		}
	}
	if req.Version >= 2 && req.TransactionalIDPattern != nil && *req.TransactionalIDPattern != "" {
		re, err := regexp.Compile(*req.TransactionalIDPattern)
		if err != nil {
			out.ErrorCode = int16(protocol.InvalidRequest)
			return out
		}
		f.Match = re.MatchString
	}
	list, err := b.txns.coord.List(f)
	if err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		return out
	}
	for _, m := range list {
		if !c.may(authzListTxns, m.TransactionalID) {
			continue
		}
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = m.TransactionalID, m.ProducerID, m.State.String()
		out.TransactionStates = append(out.TransactionStates, st)
	}
	return out
}
