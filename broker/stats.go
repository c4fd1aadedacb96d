package broker

import (
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	grp "github.com/gokafka/gokafka/group"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/txn"
)

// The broker keeps its statistics in plain Go: counters it bumps on the hot
// path and snapshots it builds when asked. cmd/gokafka-server turns them
// into Prometheus metrics at scrape time, so this package does not depend
// on a metrics library.

// RequestObserver is told about every request once its response has been
// handed to the socket (or dropped, for acks=0).
type RequestObserver interface {
	ObserveRequest(RequestTiming)
}

// RequestTiming is where one request spent its time, in Kafka's terms:
// Local in the handler, Remote parked for replicas or fetch data, and
// ResponseQueue waiting behind earlier responses of the same connection
// (clients pipeline, and responses leave in request order).
type RequestTiming struct {
	Key                                 kmsg.Key
	Version                             int16
	Response                            kmsg.Response // nil when nothing was sent
	Local, Remote, ResponseQueue, Total time.Duration
}

// counters are the broker-wide event counts.
type counters struct {
	isrShrinks, isrExpands atomic.Int64
	rebalances             atomic.Int64 // completed: a generation began with members
	connectionsCreated     atomic.Int64
	parkedProduce          atomic.Int64
	parkedFetch            atomic.Int64
	storageErrors          atomic.Int64 // answers of KAFKA_STORAGE_ERROR for a failing log
}

// Stats is a snapshot of broker-wide figures.
type Stats struct {
	IsrShrinks, IsrExpands int64
	Rebalances             int64
	ConnectionsCreated     int64
	Connections            map[string]int // open, by listener name
	PurgatoryProduce       int64          // acks=all produces waiting for replicas
	PurgatoryFetch         int64          // fetches waiting for data
	StorageErrors          int64          // KAFKA_STORAGE_ERROR answers for a failing log
	Txn                    txn.Stats      // the transaction coordinator's
	Groups                 grp.Stats      // the group coordinator's
}

// Stats returns the broker-wide figures now.
func (b *Broker) Stats() Stats {
	s := Stats{
		IsrShrinks:         b.counters.isrShrinks.Load(),
		IsrExpands:         b.counters.isrExpands.Load(),
		Rebalances:         b.counters.rebalances.Load(),
		ConnectionsCreated: b.counters.connectionsCreated.Load(),
		PurgatoryProduce:   b.counters.parkedProduce.Load(),
		PurgatoryFetch:     b.counters.parkedFetch.Load(),
		StorageErrors:      b.counters.storageErrors.Load(),
		Connections:        map[string]int{},
		Txn:                b.txns.coord.Stats(),
		Groups:             b.groups.Stats(),
	}
	b.mu.Lock()
	for c := range b.conns {
		s.Connections[c.listener]++
	}
	b.mu.Unlock()
	return s
}

// PartitionStats is one local replica as metrics see it.
type PartitionStats struct {
	klog.TopicPartition
	Leader          bool // this broker leads it
	UnderReplicated bool // led here with an ISR smaller than its replicas
	UnderMinISR     bool // led here with an ISR below min.insync.replicas
	Size            int64
	LogStartOffset  int64
	LogEndOffset    int64
	HighWatermark   int64
	BytesIn         int64 // produced to it while leader
	MessagesIn      int64
	BytesOut        int64 // fetched by consumers (not followers)
}

// PartitionStats returns every local replica's figures.
func (b *Broker) PartitionStats() []PartitionStats {
	parts := b.replicas.All()
	out := make([]PartitionStats, 0, len(parts))
	for _, p := range parts {
		s := PartitionStats{TopicPartition: p.TopicPartition()}
		s.Leader, s.UnderReplicated, s.UnderMinISR = p.ReplicationState()
		s.Size, s.LogStartOffset, s.LogEndOffset = p.Log().Size(), p.Log().LogStartOffset(), p.Log().LogEndOffset()
		s.HighWatermark = p.HighWatermark()
		s.BytesIn, s.MessagesIn, s.BytesOut = p.Stats.BytesIn.Load(), p.Stats.MessagesIn.Load(), p.Stats.BytesOut.Load()
		out = append(out, s)
	}
	return out
}
