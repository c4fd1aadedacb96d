package broker

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// producerIDs hands out producer ids from blocks that the controller
// allocates through Raft, so ids stay unique across brokers and restarts.
type producerIDs struct {
	coord  *coordinator.Coordinator
	nodeID int32

	mu   sync.Mutex
	next int64
	end  int64 // exclusive
}

func newProducerIDs(coord *coordinator.Coordinator, nodeID int32) *producerIDs {
	return &producerIDs{coord: coord, nodeID: nodeID}
}

func (p *producerIDs) generate(ctx context.Context) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next >= p.end {
		first, count, err := p.coord.AllocateProducerIDs(ctx, p.nodeID)
		if err != nil {
			return -1, err
		}
		p.next, p.end = first, first+int64(count)
	}
	id := p.next
	p.next++
	return id, nil
}

// initProducerRefusal checks an InitProducerId: Write on its
// transactional id, or for an idempotent producer IdempotentWrite on the
// cluster or Write on any topic (KIP-679).
func (c *conn) initProducerRefusal(req *kmsg.InitProducerIDRequest) protocol.ErrorCode {
	switch {
	case req.TransactionalID != nil:
		if !c.may(authzInitTxn, *req.TransactionalID) {
			return authzInitTxn.Error
		}
	case !c.may(authzInitIdempotent, "") && !c.mayAny(authzInitAnyTopic):
		return authzInitIdempotent.Error
	}
	return 0
}

// handleInitProducerID hands a transactional producer to the transaction
// coordinator (txn.go) and serves idempotent producers here. A producer
// without a transactional id always gets a fresh id with epoch 0, as in
// Kafka, even when it names its old id (KIP-360 epoch bumps apply to
// transactions).
func handleInitProducerID(b *Broker, c *conn, req *kmsg.InitProducerIDRequest, out *response) {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if code := c.initProducerRefusal(req); code != 0 {
		resp.ErrorCode = int16(code)
		out.complete(resp)
		return
	}
	if req.TransactionalID != nil {
		initTxnProducer(b, req, out)
		return
	}
	out.complete(idempotentProducer(b, resp))
}

func idempotentProducer(b *Broker, resp *kmsg.InitProducerIDResponse) *kmsg.InitProducerIDResponse {
	ctx, cancel := context.WithTimeout(b.ctx, metadataChangeTimeout)
	defer cancel()
	id, err := b.producers.generate(ctx)
	if err != nil {
		resp.ErrorCode = int16(protocol.CoordinatorNotAvailable)
		b.log.Warn("cannot allocate producer id", "err", err)
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}
