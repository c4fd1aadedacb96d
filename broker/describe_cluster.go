package broker

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// DescribeCluster, DescribeLogDirs and DescribeQuorum: what kadm,
// kafka-log-dirs.sh and kafka-metadata-quorum.sh ask about the cluster,
// its disks and its Raft quorum.

// handleDescribeCluster lists the live brokers on the request's listener,
// and from v2 the fenced ones too when asked (KIP-1073), marked so. The
// controller named is this broker, which forwards every controller
// operation, as a KRaft broker does. From v1 the endpoint type asked must
// be the brokers' (KIP-919): controllers are MISMATCHED_ENDPOINT_TYPE here,
// anything else UNSUPPORTED_ENDPOINT_TYPE.
func handleDescribeCluster(b *Broker, c *conn, req *kmsg.DescribeClusterRequest) *kmsg.DescribeClusterResponse {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	if req.Version >= 1 && req.EndpointType != endpointTypeBrokers {
		code, msg := protocol.UnsupportedEndpointType, fmt.Sprintf("Unsupported endpoint type %d", req.EndpointType)
		if req.EndpointType == endpointTypeControllers {
			code, msg = protocol.MismatchedEndpointType, "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
		}
		resp.ErrorCode, resp.ErrorMessage, resp.EndpointType = int16(code), &msg, req.EndpointType
		return resp
	}
	md := b.coord.Metadata()
	resp.ClusterID, resp.ControllerID, resp.EndpointType = md.ClusterID, b.cfg.NodeID, req.EndpointType
	resp.ClusterAuthorizedOperations = notRequested
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = 0
		if c.may(authzClusterOps, "") {
			resp.ClusterAuthorizedOperations = c.authorizedOperations(resCluster, clusterName)
		}
	}
	for _, mb := range b.brokerList(md, c.listener, req.IncludeFencedBrokers) {
		resp.Brokers = append(resp.Brokers, kmsg.DescribeClusterResponseBroker{NodeID: mb.NodeID, Host: mb.Host, Port: mb.Port, Rack: mb.Rack,
			IsFenced: md.Broker(mb.NodeID).Fenced})
	}
	return resp
}

// KIP-919's endpoint types, as DescribeCluster v1+ asks for them.
const (
	endpointTypeBrokers     int8 = 1
	endpointTypeControllers int8 = 2
)

// handleDescribeLogDirs reports each log directory with the size of the
// partitions it holds (all, or those asked for) and how far each replica
// is behind its high watermark (followers) or log end (leaders, 0).
func handleDescribeLogDirs(b *Broker, c *conn, req *kmsg.DescribeLogDirsRequest) *kmsg.DescribeLogDirsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !c.may(authzDescribeLogDirs, "") {
		resp.ErrorCode = int16(authzDescribeLogDirs.Error) // v3+; before, no directories
		return resp
	}
	wanted := func(tp klog.TopicPartition) bool {
		if req.Topics == nil {
			return true
		}
		for _, t := range req.Topics {
			if t.Topic == tp.Topic && slices.Contains(t.Partitions, tp.Partition) {
				return true
			}
		}
		return false
	}
	dirs := map[string]*kmsg.DescribeLogDirsResponseDir{}
	for _, d := range b.logs.Dirs() {
		out := kmsg.NewDescribeLogDirsResponseDir()
		out.Dir = d
		var fs syscall.Statfs_t
		if syscall.Statfs(d, &fs) == nil {
			out.TotalBytes, out.UsableBytes = int64(fs.Blocks)*fs.Bsize, int64(fs.Bavail)*fs.Bsize
		}
		dirs[d] = &out
	}
	for _, p := range b.replicas.All() {
		if !wanted(p.TopicPartition()) {
			continue
		}
		d := dirs[p.Log().Dir()]
		if d == nil {
			continue
		}
		lag := int64(0)
		if !p.IsLeader() {
			lag = max(0, p.HighWatermark()-p.Log().LogEndOffset())
		}
		i := slices.IndexFunc(d.Topics, func(t kmsg.DescribeLogDirsResponseDirTopic) bool { return t.Topic == p.TopicPartition().Topic })
		if i < 0 {
			d.Topics = append(d.Topics, kmsg.DescribeLogDirsResponseDirTopic{Topic: p.TopicPartition().Topic})
			i = len(d.Topics) - 1
		}
		d.Topics[i].Partitions = append(d.Topics[i].Partitions,
			kmsg.DescribeLogDirsResponseDirTopicPartition{Partition: p.TopicPartition().Partition, Size: p.Log().Size(), OffsetLag: lag})
	}
	for _, d := range b.logs.Dirs() {
		resp.Dirs = append(resp.Dirs, *dirs[d])
	}
	return resp
}

// handleDescribeQuorum answers for the metadata quorum (__cluster_metadata
// partition 0, as KRaft names it) from the active controller.
func handleDescribeQuorum(b *Broker, c *conn, req *kmsg.DescribeQuorumRequest) *kmsg.DescribeQuorumResponse {
	resp := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
	if !c.may(authzDescribeQuorum, "") {
		resp.ErrorCode = int16(authzDescribeQuorum.Error)
		return resp
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	for _, rt := range req.Topics {
		ot := kmsg.DescribeQuorumResponseTopic{Topic: rt.Topic}
		for _, rp := range rt.Partitions {
			op := kmsg.NewDescribeQuorumResponseTopicPartition()
			op.Partition = rp.Partition
			if rt.Topic != "__cluster_metadata" || rp.Partition != 0 {
				op.ErrorCode = int16(protocol.UnknownTopicOrPartition)
				ot.Partitions = append(ot.Partitions, op)
				continue
			}
			q, err := b.coord.DescribeQuorum(ctx)
			if err != nil {
				op.ErrorCode = int16(protocol.Code(err))
				ot.Partitions = append(ot.Partitions, op)
				continue
			}
			op.LeaderID, op.LeaderEpoch, op.HighWatermark = q.LeaderID, q.LeaderEpoch, q.HighWatermark
			op.CurrentVoters, op.Observers = replicaStates(q.Voters), replicaStates(q.Observers)
			ot.Partitions = append(ot.Partitions, op)
		}
		resp.Topics = append(resp.Topics, ot)
	}
	if req.Version >= 2 {
		resp.Nodes = b.quorumNodes()
	}
	return resp
}

// quorumNodes lists the voters' controller endpoints for DescribeQuorum
// v2 (KIP-853), from controller.quorum.voters and the first of
// controller.listener.names, as kafka-metadata-quorum prints them. The
// voters have no directory ids: gokafka's Raft log has none.
func (b *Broker) quorumNodes() []kmsg.DescribeQuorumResponseNode {
	var voters, listener string
	for _, sc := range b.cfg.ServerConfigs {
		switch sc.Name {
		case "controller.quorum.voters":
			voters = sc.Value
		case "controller.listener.names":
			listener, _, _ = strings.Cut(strings.ToUpper(sc.Value), ",")
		}
	}
	var nodes []kmsg.DescribeQuorumResponseNode
	for _, v := range strings.Split(voters, ",") {
		id, addr, _ := strings.Cut(strings.TrimSpace(v), "@")
		host, port, err := net.SplitHostPort(addr)
		n, err2 := strconv.ParseInt(id, 10, 32)
		p, err3 := strconv.ParseUint(port, 10, 16)
		if err != nil || err2 != nil || err3 != nil {
			continue // validated at start-up; nothing to show otherwise
		}
		nodes = append(nodes, kmsg.DescribeQuorumResponseNode{NodeID: int32(n),
			Listeners: []kmsg.DescribeQuorumResponseNodeListener{{Name: listener, Host: host, Port: uint16(p)}}})
	}
	return nodes
}

func replicaStates(ps []coordinator.ReplicaProgress) []kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
	out := make([]kmsg.DescribeQuorumResponseTopicPartitionReplicaState, 0, len(ps))
	for _, p := range ps {
		out = append(out, kmsg.DescribeQuorumResponseTopicPartitionReplicaState{ReplicaID: p.ID,
			LogEndOffset: p.LogEndOffset, LastFetchTimestamp: p.LastFetch, LastCaughtUpTimestamp: p.LastCaughtUp})
	}
	return out
}
