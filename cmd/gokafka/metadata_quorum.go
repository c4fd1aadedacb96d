package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadataQuorumCommand is kafka-metadata-quorum.sh: describe --status
// or describe --replication. Kafka's tool takes the connection flags
// before the describe subcommand and its own flags after it
// (--bootstrap-server X describe --status); both orders are accepted.
func metadataQuorumCommand(std *stdio, args []string) error {
	f := newFlags("metadata-quorum describe", std)
	status := f.Bool("status", false, "the quorum's leader, epoch, high watermark, lag and members")
	replication := f.Bool("replication", false, "each voter's and observer's log end offset and lag")
	humanReadable := f.Bool("human-readable", false, "with --replication: timestamps as how long ago")
	sub := slices.Index(args, "describe")
	if sub < 0 {
		if slices.Contains(args, "--help") || slices.Contains(args, "-h") {
			return f.parse([]string{"--help"})
		}
		return usagef("usage: gokafka metadata-quorum --bootstrap-server ... describe --status|--replication")
	}
	if err := f.parse(append(slices.Clone(args[:sub]), args[sub+1:]...)); err != nil {
		return err
	}
	switch {
	case *status && *replication:
		return usagef("Only one of --status or --replication should be specified with describe sub-command")
	case !*status && !*replication:
		return usagef("One of --status or --replication must be specified with describe sub-command")
	case *status && *humanReadable:
		return usagef("The option --human-readable is only supported along with --replication")
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
	leaderAt := slices.IndexFunc(q.CurrentVoters, func(v kmsg.DescribeQuorumResponseTopicPartitionReplicaState) bool { return v.ReplicaID == q.LeaderID })
	if leaderAt < 0 {
		return fmt.Errorf("the quorum's leader %d is not among its voters", q.LeaderID)
	}
	leader := q.CurrentVoters[leaderAt]
	if *replication {
		return printReplication(std.out, q, leader, *humanReadable)
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	// Kafka's figures: the lag of the voter furthest behind (the first
	// one, if several are), and how much longer ago it caught up than the
	// leader did.
	furthest := q.CurrentVoters[0]
	for _, v := range q.CurrentVoters[1:] {
		if v.LogEndOffset < furthest.LogEndOffset {
			furthest = v
		}
	}
	lagMs := int64(-1)
	switch {
	case furthest.ReplicaID == leader.ReplicaID:
		lagMs = 0
	case leader.LastCaughtUpTimestamp >= 0 && furthest.LastCaughtUpTimestamp >= 0:
		lagMs = leader.LastCaughtUpTimestamp - furthest.LastCaughtUpTimestamp
	}
	fmt.Fprintf(std.out, "%-24s%s\n", "ClusterId:", dc.ClusterID)
	fmt.Fprintf(std.out, "%-24s%d\n", "LeaderId:", q.LeaderID)
	fmt.Fprintf(std.out, "%-24s%d\n", "LeaderEpoch:", q.LeaderEpoch)
	fmt.Fprintf(std.out, "%-24s%d\n", "HighWatermark:", q.HighWatermark)
	fmt.Fprintf(std.out, "%-24s%d\n", "MaxFollowerLag:", leader.LogEndOffset-furthest.LogEndOffset)
	fmt.Fprintf(std.out, "%-24s%d\n", "MaxFollowerLagTimeMs:", lagMs)
	fmt.Fprintf(std.out, "%-24s%s\n", "CurrentVoters:", replicaStates(q.CurrentVoters, resp.Nodes))
	fmt.Fprintf(std.out, "%-24s%s\n", "CurrentObservers:", replicaStates(q.Observers, resp.Nodes))
	return nil
}

// printReplication prints Kafka's --replication table: the leader, the
// other voters, then the observers.
func printReplication(w io.Writer, q kmsg.DescribeQuorumResponseTopicPartition, leader kmsg.DescribeQuorumResponseTopicPartitionReplicaState, humanReadable bool) error {
	stamp := func(ms int64) string {
		switch {
		case ms < 0:
			return "-1"
		case humanReadable:
			return fmt.Sprintf("%d ms ago", max(0, time.Now().UnixMilli()-ms))
		}
		return strconv.FormatInt(ms, 10)
	}
	rows := [][]string{{"NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"}}
	row := func(r kmsg.DescribeQuorumResponseTopicPartitionReplicaState, status string) {
		rows = append(rows, []string{strconv.Itoa(int(r.ReplicaID)), uuidString(r.ReplicaDirectoryID),
			strconv.FormatInt(r.LogEndOffset, 10), strconv.FormatInt(leader.LogEndOffset-r.LogEndOffset, 10),
			stamp(r.LastFetchTimestamp), stamp(r.LastCaughtUpTimestamp), status})
	}
	row(leader, "Leader")
	for _, v := range q.CurrentVoters {
		if v.ReplicaID != leader.ReplicaID {
			row(v, "Follower")
		}
	}
	for _, o := range q.Observers {
		row(o, "Observer")
	}
	prettyPrintTable(w, rows)
	return nil
}

// prettyPrintTable is Kafka's ToolsUtils.prettyPrintTable: every cell,
// the last one too, padded to its column's width and followed by a tab.
func prettyPrintTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			fmt.Fprintf(&b, "%-*s\t", widths[i], c)
		}
		fmt.Fprintln(w, b.String())
	}
}

// uuidString writes a Kafka Uuid as Kafka does: URL-safe base64 without
// padding.
func uuidString(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// replicaStates prints voters or observers as Kafka 4's tool does:
// [{"id": 1, "directoryId": "...", "endpoints": ["CONTROLLER://host:9093"]}, ...],
// the directory id only when set and the endpoints only when known.
func replicaStates(rs []kmsg.DescribeQuorumResponseTopicPartitionReplicaState, nodes []kmsg.DescribeQuorumResponseNode) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		s := fmt.Sprintf(`{"id": %d`, r.ReplicaID)
		if r.ReplicaDirectoryID != ([16]byte{}) {
			s += fmt.Sprintf(`, "directoryId": "%s"`, uuidString(r.ReplicaDirectoryID))
		}
		var eps []string
		for _, n := range nodes {
			if n.NodeID == r.ReplicaID {
				for _, l := range n.Listeners {
					host := l.Host
					if strings.Contains(host, ":") {
						host = "[" + host + "]"
					}
					eps = append(eps, fmt.Sprintf(`"%s://%s:%d"`, l.Name, host, l.Port))
				}
			}
		}
		if len(eps) > 0 {
			s += `, "endpoints": [` + strings.Join(eps, ", ") + "]"
		}
		out[i] = s + "}"
	}
	return "[" + strings.Join(out, ", ") + "]"
}
