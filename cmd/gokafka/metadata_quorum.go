package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadataQuorumCommand is kafka-metadata-quorum.sh: describe --status
// or describe --replication.
func metadataQuorumCommand(std *stdio, args []string) error {
	f := newFlags("metadata-quorum describe", std)
	status := f.Bool("status", false, "the quorum's leader, epoch, high watermark, lag and members")
	replication := f.Bool("replication", false, "each voter's and observer's log end offset and lag")
	if len(args) == 0 || args[0] != "describe" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return f.parse(args)
		}
		return usagef("usage: gokafka metadata-quorum describe --status|--replication --bootstrap-server ...")
	}
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if count(*status, *replication) != 1 {
		return usagef("exactly one of --status and --replication is needed")
	}
	cl, _, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: "__cluster_metadata", Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Errorf("DescribeQuorum answered without the metadata partition")
	}
	q := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(q.ErrorCode); err != nil {
		return err
	}
	var leader kmsg.DescribeQuorumResponseTopicPartitionReplicaState
	for _, v := range q.CurrentVoters {
		if v.ReplicaID == q.LeaderID {
			leader = v
		}
	}
	if *replication {
		tw := tabwriter.NewWriter(std.out, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "NodeId\tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus")
		row := func(r kmsg.DescribeQuorumResponseTopicPartitionReplicaState, status string) {
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%s\n", r.ReplicaID, r.LogEndOffset, max(0, leader.LogEndOffset-r.LogEndOffset),
				r.LastFetchTimestamp, r.LastCaughtUpTimestamp, status)
		}
		row(leader, "Leader")
		for _, v := range q.CurrentVoters {
			if v.ReplicaID != q.LeaderID {
				row(v, "Follower")
			}
		}
		for _, o := range q.Observers {
			row(o, "Observer")
		}
		return tw.Flush()
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	var maxLag, maxLagMs int64
	for _, v := range q.CurrentVoters {
		maxLag = max(maxLag, leader.LogEndOffset-v.LogEndOffset)
		if v.LastCaughtUpTimestamp >= 0 {
			maxLagMs = max(maxLagMs, leader.LastCaughtUpTimestamp-v.LastCaughtUpTimestamp)
		}
	}
	fmt.Fprintf(std.out, "%-24s%s\n", "ClusterId:", dc.ClusterID)
	fmt.Fprintf(std.out, "%-24s%d\n", "LeaderId:", q.LeaderID)
	fmt.Fprintf(std.out, "%-24s%d\n", "LeaderEpoch:", q.LeaderEpoch)
	fmt.Fprintf(std.out, "%-24s%d\n", "HighWatermark:", q.HighWatermark)
	fmt.Fprintf(std.out, "%-24s%d\n", "MaxFollowerLag:", maxLag)
	fmt.Fprintf(std.out, "%-24s%d\n", "MaxFollowerLagTimeMs:", maxLagMs)
	fmt.Fprintf(std.out, "%-24s%s\n", "CurrentVoters:", replicaIDs(q.CurrentVoters))
	fmt.Fprintf(std.out, "%-24s%s\n", "CurrentObservers:", replicaIDs(q.Observers))
	return nil
}

func replicaIDs(rs []kmsg.DescribeQuorumResponseTopicPartitionReplicaState) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = strconv.Itoa(int(r.ReplicaID))
	}
	return "[" + strings.Join(ids, ",") + "]"
}
