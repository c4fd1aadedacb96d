package broker

import (
	"time"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/replica"
)

// replicaHost is the broker as its replica manager sees it (replica.Host):
// the configs of its logs, its ISR metrics, the group and transaction
// coordinators that follow the leadership of their topics, its peer
// connections and its follower throttle.
type replicaHost struct{ b *Broker }

// newReplicaManager is the replica manager of b, reconciling against coord.
func newReplicaManager(b *Broker, coord *coordinator.Coordinator) *replica.Manager {
	cfg := replica.Config{NodeID: b.cfg.NodeID, ReplicaLagTimeMax: b.cfg.ReplicaLagTimeMax,
		MetadataChangeTimeout: metadataChangeTimeout, Internal: []string{offsetsTopic, txnTopic}}
	return replica.New(b.ctx, cfg, b.logs, coord, replicaHost{b}, b.lease, b.log)
}

func (h replicaHost) ApplyConfigs(md *coordinator.Metadata) { h.b.applyDynamicConfigs(md) }

func (h replicaHost) LogConfig(t *coordinator.Topic) (klog.Config, error) {
	return topicLogConfig(h.b.logs.Defaults(), t.Configs)
}

// MinISR is the topic's min.insync.replicas, else the broker's.
func (h replicaHost) MinISR(t *coordinator.Topic) int {
	if v, ok := t.Configs["min.insync.replicas"]; ok {
		if n, err := parseMinISR(v); err == nil {
			return n
		}
	}
	return h.b.defaultMinISR()
}

func (h replicaHost) ISRChanged(shrank, grew bool) {
	if shrank {
		h.b.counters.isrShrinks.Add(1)
	}
	if grew {
		h.b.counters.isrExpands.Add(1)
	}
}

// StateApplied loads the transaction and group coordinators' state of a
// partition of their topic this broker leads, and unloads it elsewhere.
func (h replicaHost) StateApplied(p *replica.Partition, st coordinator.Partition) {
	b, tp := h.b, p.TopicPartition()
	switch tp.Topic {
	case txnTopic:
		if st.Leader == b.cfg.NodeID {
			b.txns.scheduleLoad(p)
		} else {
			b.txns.coord.Unload(tp.Partition)
		}
	case offsetsTopic:
		if st.Leader == b.cfg.NodeID {
			b.groups.Load(tp.Partition, st.LeaderEpoch)
		} else {
			b.groups.Unload(tp.Partition)
		}
	}
}

func (h replicaHost) DialLeader(id int32) (replica.Peer, error) {
	addr, err := h.b.peerAddr(id)
	if err != nil {
		return nil, err
	}
	pc, err := dialPeer(addr, h.b.cfg.NodeID, h.b.cfg.Peer)
	if err != nil {
		return nil, err // not a nil *peer in a non-nil interface
	}
	return pc, nil
}

func (h replicaHost) FollowerThrottled(md *coordinator.Metadata, p *replica.Partition) bool {
	return h.b.throttled(md, p, followerThrottledReplicas, h.b.cfg.NodeID)
}

func (h replicaHost) FollowerQuotaExceeded(now time.Time) bool {
	return h.b.followerQuota.exceeded(now)
}

func (h replicaHost) FollowerQuotaRecord(n int, now time.Time) { h.b.followerQuota.record(n, now) }
