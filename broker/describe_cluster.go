package broker

import (
	"slices"
	"syscall"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
)

// DescribeCluster and DescribeLogDirs: what kafka-broker-api-versions,
// kadm and kafka-log-dirs.sh ask about the cluster and the disks.

// handleDescribeCluster lists the live brokers on the request's listener.
// The controller named is this broker, which forwards every controller
// operation, as a KRaft broker does.
func handleDescribeCluster(b *Broker, c *conn, req *kmsg.DescribeClusterRequest) *kmsg.DescribeClusterResponse {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	md := b.coord.Metadata()
	resp.ClusterID, resp.ControllerID, resp.EndpointType = md.ClusterID, b.cfg.NodeID, req.EndpointType
	resp.ClusterAuthorizedOperations = -2147483648 // not computed, as when not asked for
	for _, mb := range b.brokerList(md, c.listener) {
		resp.Brokers = append(resp.Brokers, kmsg.DescribeClusterResponseBroker{NodeID: mb.NodeID, Host: mb.Host, Port: mb.Port, Rack: mb.Rack})
	}
	return resp
}

// handleDescribeLogDirs reports each log directory with the size of the
// partitions it holds (all, or those asked for) and how far each replica
// is behind its high watermark (followers) or log end (leaders, 0).
func handleDescribeLogDirs(b *Broker, c *conn, req *kmsg.DescribeLogDirsRequest) *kmsg.DescribeLogDirsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
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
	for _, p := range b.replicas.all() {
		if !wanted(p.tp) {
			continue
		}
		d := dirs[p.log.Dir()]
		if d == nil {
			continue
		}
		lag := int64(0)
		if !p.isLeader() {
			lag = max(0, p.HighWatermark()-p.log.LogEndOffset())
		}
		i := slices.IndexFunc(d.Topics, func(t kmsg.DescribeLogDirsResponseDirTopic) bool { return t.Topic == p.tp.Topic })
		if i < 0 {
			d.Topics = append(d.Topics, kmsg.DescribeLogDirsResponseDirTopic{Topic: p.tp.Topic})
			i = len(d.Topics) - 1
		}
		d.Topics[i].Partitions = append(d.Topics[i].Partitions,
			kmsg.DescribeLogDirsResponseDirTopicPartition{Partition: p.tp.Partition, Size: p.log.Size(), OffsetLag: lag})
	}
	for _, d := range b.logs.Dirs() {
		resp.Dirs = append(resp.Dirs, *dirs[d])
	}
	return resp
}
