package console

import (
	"context"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type clusterView struct {
	ClusterID  string
	Controller int32
	Brokers    []kadm.BrokerDetail
	Topics     int
	Partitions int
	Quorum     *quorumView
	QuorumErr  string
}

// quorumView is DescribeQuorum's answer for the metadata log, with each
// replica's lag behind the leader's log end offset, as
// kafka-metadata-quorum.sh describe --replication shows it.
type quorumView struct {
	Leader        int32
	Epoch         int32
	HighWatermark int64
	Replicas      []quorumReplica
}

type quorumReplica struct {
	ID        int32
	Role      string // Leader, Follower or Observer
	LogEnd    int64
	Lag       int64  // -1: unknown
	LastFetch string // how long ago, or "-"
}

func (c *Console) clusterPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	md, err := s.adm.Metadata(ctx)
	if err != nil {
		c.fail(w, r, "cluster", s, nil, err)
		return
	}
	v := clusterView{ClusterID: md.Cluster, Controller: md.Controller, Brokers: md.Brokers, Topics: len(md.Topics)}
	for _, t := range md.Topics {
		v.Partitions += len(t.Partitions)
	}
	v.Quorum, err = describeQuorum(ctx, s.cl)
	if err != nil {
		v.QuorumErr = err.Error()
	}
	c.render(w, r, http.StatusOK, "cluster", s, v, "")
}

func describeQuorum(ctx context.Context, cl *kgo.Client) (*quorumView, error) {
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rt.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return nil, kerr.UnknownServerError
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		return nil, err
	}
	q := &quorumView{Leader: p.LeaderID, Epoch: p.LeaderEpoch, HighWatermark: p.HighWatermark}
	var leaderEnd int64
	for _, v := range p.CurrentVoters {
		if v.ReplicaID == p.LeaderID {
			leaderEnd = v.LogEndOffset
		}
	}
	add := func(rs []kmsg.DescribeQuorumResponseTopicPartitionReplicaState, observer bool) {
		for _, rep := range rs {
			role := "Follower"
			switch {
			case observer:
				role = "Observer"
			case rep.ReplicaID == p.LeaderID:
				role = "Leader"
			}
			last := "-"
			if rep.LastFetchTimestamp > 0 {
				last = time.Since(time.UnixMilli(rep.LastFetchTimestamp)).Round(time.Millisecond).String() + " ago"
			}
			lag := int64(-1) // the leader has not heard from it
			if rep.LogEndOffset >= 0 {
				lag = max(leaderEnd-rep.LogEndOffset, 0)
			}
			q.Replicas = append(q.Replicas, quorumReplica{ID: rep.ReplicaID, Role: role, LogEnd: rep.LogEndOffset, Lag: lag, LastFetch: last})
		}
	}
	add(p.CurrentVoters, false)
	add(p.Observers, true)
	return q, nil
}
