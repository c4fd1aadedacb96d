package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// reassignmentFile is kafka-reassign-partitions.sh's JSON.
type reassignmentFile struct {
	Version    int                 `json:"version"`
	Partitions []reassignPartition `json:"partitions"`
}

// reassignPartition is one partition of the file; log_dirs names each
// replica's directory ("any": the broker chooses), printed as Kafka 4
// prints it and otherwise not used: moves between directories are not
// supported.
type reassignPartition struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Replicas  []int32  `json:"replicas"`
	LogDirs   []string `json:"log_dirs,omitempty"`
}

// reassignPartitionsCommand is kafka-reassign-partitions.sh with
// --execute, --verify (with the bytes copied so far) and --cancel.
func reassignPartitionsCommand(std *stdio, args []string) error {
	f := newFlags("reassign-partitions", std)
	file := f.String("reassignment-json-file", "", "REQUIRED: the partitions and their new replicas, as kafka-reassign-partitions.sh takes them")
	execute := f.Bool("execute", false, "start the reassignment")
	verify := f.Bool("verify", false, "say whether each reassignment has completed, and how far the copy is")
	cancelIt := f.Bool("cancel", false, "cancel the reassignments in the file")
	generate := f.Bool("generate", false, "propose an assignment of --topics-to-move-json-file's topics over --broker-list")
	topicsToMove := f.String("topics-to-move-json-file", "", `with --generate: {"topics": [{"topic": T}, ...], "version": 1}`)
	brokerList := f.String("broker-list", "", "with --generate: the brokers to spread replicas over, as 1,2,3")
	throttle := f.Int64("throttle", -1, "with --execute: cap the copying at this many bytes/sec per broker, leader and follower side (run --verify until complete to remove it)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *throttle != -1 && (!*execute || *throttle < 0) {
		return usagef("--throttle takes a number of bytes/sec, 0 or more, with --execute")
	}
	if *generate {
		if count(*execute, *verify, *cancelIt) != 0 || *topicsToMove == "" || *brokerList == "" {
			return usagef("--generate needs --topics-to-move-json-file and --broker-list, and no other action")
		}
		_, adm, ctx, done, err := f.open()
		if err != nil {
			return err
		}
		defer done()
		return generateReassignment(std, adm, ctx, *topicsToMove, *brokerList)
	}
	if count(*execute, *verify, *cancelIt) != 1 || *file == "" {
		return usagef("--reassignment-json-file and exactly one of --execute, --verify, --cancel are needed")
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var plan reassignmentFile
	if err := json.Unmarshal(data, &plan); err != nil {
		return usagef("%s: %v", *file, err)
	}
	cl, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	if *verify {
		return verifyReassignment(std, cl, adm, ctx, plan)
	}
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	for _, p := range plan.Partitions {
		i := slices.IndexFunc(req.Topics, func(t kmsg.AlterPartitionAssignmentsRequestTopic) bool { return t.Topic == p.Topic })
		if i < 0 {
			req.Topics = append(req.Topics, kmsg.AlterPartitionAssignmentsRequestTopic{Topic: p.Topic})
			i = len(req.Topics) - 1
		}
		rp := kmsg.AlterPartitionAssignmentsRequestTopicPartition{Partition: p.Partition, Replicas: p.Replicas}
		if *cancelIt {
			rp.Replicas = nil
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	if *execute {
		current, err := printCurrent(std, adm, ctx, plan)
		if err != nil {
			return err
		}
		if *throttle >= 0 {
			if err := setThrottles(std, adm, ctx, current, plan, *throttle); err != nil {
				return err
			}
		}
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	var failed []string
	var ok []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			name := fmt.Sprintf("%s-%d", t.Topic, p.Partition)
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", name, err))
			} else {
				ok = append(ok, name)
			}
		}
	}
	if len(ok) > 0 {
		if *cancelIt {
			fmt.Fprintf(std.out, "Successfully cancelled partition reassignment%s for: %s\n", plural(len(ok)), strings.Join(ok, ","))
		} else {
			fmt.Fprintf(std.out, "Successfully started partition reassignment%s for %s\n", plural(len(ok)), strings.Join(ok, ","))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("reassignment failed for %s", strings.Join(failed, "; "))
	}
	return nil
}

// printCurrent prints the replicas before the change, for a rollback,
// and returns them.
func printCurrent(std *stdio, adm *kadm.Client, ctx context.Context, plan reassignmentFile) (reassignmentFile, error) {
	current, err := currentAssignment(adm, ctx, plan.Partitions)
	if err != nil {
		return current, err
	}
	out, _ := json.Marshal(current)
	fmt.Fprintf(std.out, "Current partition replica assignment\n\n%s\n\nSave this to use as the --reassignment-json-file option during rollback\n", out)
	return current, nil
}

// currentAssignment gives the partitions' replicas now and, as Kafka 4's
// tool does, the directory each replica lives in.
func currentAssignment(adm *kadm.Client, ctx context.Context, parts []reassignPartition) (reassignmentFile, error) {
	current := reassignmentFile{Version: 1, Partitions: []reassignPartition{}}
	var topics []string
	for _, p := range parts {
		if !slices.Contains(topics, p.Topic) {
			topics = append(topics, p.Topic)
		}
	}
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return current, err
	}
	set := kadm.TopicsSet{}
	for _, p := range parts {
		set.Add(p.Topic, p.Partition)
	}
	dirs, err := adm.DescribeAllLogDirs(ctx, set)
	if err != nil {
		return current, err
	}
	for _, p := range parts {
		pd, ok := md.Topics[p.Topic].Partitions[p.Partition]
		if !ok {
			return current, fmt.Errorf("partition %s-%d does not exist", p.Topic, p.Partition)
		}
		entry := reassignPartition{Topic: p.Topic, Partition: p.Partition, Replicas: pd.Replicas}
		for _, b := range pd.Replicas {
			dir := "any"
			for _, d := range dirs[b] {
				if _, ok := d.Topics.Lookup(p.Topic, p.Partition); ok {
					dir = d.Dir
				}
			}
			entry.LogDirs = append(entry.LogDirs, dir)
		}
		current.Partitions = append(current.Partitions, entry)
	}
	return current, nil
}

// generateReassignment is --generate: the current assignment of the
// topics in --topics-to-move-json-file and a proposal that spreads their
// replicas over --broker-list, round-robin from a random broker as
// Kafka's rack-unaware assignment does.
func generateReassignment(std *stdio, adm *kadm.Client, ctx context.Context, topicsFile, brokerList string) error {
	var in struct {
		Topics []struct {
			Topic string `json:"topic"`
		} `json:"topics"`
	}
	data, err := os.ReadFile(topicsFile)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return usagef("%s: %v", topicsFile, err)
	}
	brokers, err := parseBrokerList(brokerList)
	if err != nil {
		return err
	}
	var topics []string
	for _, t := range in.Topics {
		topics = append(topics, t.Topic)
	}
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return err
	}
	var parts []reassignPartition
	for _, name := range topics {
		td, ok := md.Topics[name]
		if !ok || td.Err != nil {
			return fmt.Errorf("Topic %s not found", name)
		}
		for _, p := range td.Partitions.Sorted() {
			parts = append(parts, reassignPartition{Topic: name, Partition: p.Partition, Replicas: p.Replicas})
		}
	}
	current, err := currentAssignment(adm, ctx, parts)
	if err != nil {
		return err
	}
	proposed := reassignmentFile{Version: 1, Partitions: []reassignPartition{}}
	start := rand.IntN(len(brokers))
	for i, p := range parts {
		rf := len(p.Replicas)
		if rf > len(brokers) {
			return fmt.Errorf("Replication factor: %d larger than available brokers: %d.", rf, len(brokers))
		}
		np := reassignPartition{Topic: p.Topic, Partition: p.Partition}
		for r := range rf {
			np.Replicas = append(np.Replicas, brokers[(start+i+r)%len(brokers)])
			np.LogDirs = append(np.LogDirs, "any")
		}
		proposed.Partitions = append(proposed.Partitions, np)
	}
	cur, _ := json.Marshal(current)
	prop, _ := json.Marshal(proposed)
	fmt.Fprintf(std.out, "Current partition replica assignment\n%s\n\nProposed partition reassignment configuration\n%s\n", cur, prop)
	return nil
}

// plural is the "s" Kafka's tools add to a noun for n things but one.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (f reassignmentFile) topics() []string {
	var topics []string
	for _, p := range f.Partitions {
		if !slices.Contains(topics, p.Topic) {
			topics = append(topics, p.Topic)
		}
	}
	return topics
}

// The configs a throttled reassignment sets, as Kafka's tool: the rates
// on every broker involved, and per topic the replicas that copy: the
// current ones on the leader side, the new ones on the follower side.
const (
	leaderRate       = "leader.replication.throttled.rate"
	followerRate     = "follower.replication.throttled.rate"
	leaderReplicas   = "leader.replication.throttled.replicas"
	followerReplicas = "follower.replication.throttled.replicas"
)

func setThrottles(std *stdio, adm *kadm.Client, ctx context.Context, current, plan reassignmentFile, rate int64) error {
	leader, follower := map[string][]string{}, map[string][]string{}
	var brokers []int32
	for i, p := range plan.Partitions {
		was := current.Partitions[i].Replicas
		for _, b := range was {
			leader[p.Topic] = append(leader[p.Topic], fmt.Sprintf("%d:%d", p.Partition, b))
		}
		for _, b := range p.Replicas {
			if !slices.Contains(was, b) {
				follower[p.Topic] = append(follower[p.Topic], fmt.Sprintf("%d:%d", p.Partition, b))
			}
		}
		for _, b := range append(slices.Clone(was), p.Replicas...) {
			if !slices.Contains(brokers, b) {
				brokers = append(brokers, b)
			}
		}
	}
	for _, topic := range plan.topics() {
		l, fl := strings.Join(leader[topic], ","), strings.Join(follower[topic], ",")
		rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: leaderReplicas, Value: &l}, {Name: followerReplicas, Value: &fl}}, topic)
		if err := firstAlterError(rs, err); err != nil {
			return fmt.Errorf("setting the throttled replicas of %s: %w", topic, err)
		}
	}
	v := strconv.FormatInt(rate, 10)
	rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: leaderRate, Value: &v}, {Name: followerRate, Value: &v}}, brokers...)
	if err := firstAlterError(rs, err); err != nil {
		return fmt.Errorf("setting the throttle rate: %w", err)
	}
	fmt.Fprintf(std.out, "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n")
	fmt.Fprintf(std.out, "The inter-broker throttle limit was set to %d B/s\n", rate)
	return nil
}

// clearThrottles removes every throttle config a throttled --execute set.
func clearThrottles(std *stdio, adm *kadm.Client, ctx context.Context, md kadm.Metadata, plan reassignmentFile) error {
	del := []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: leaderRate}, {Op: kadm.DeleteConfig, Name: followerRate}}
	ids := md.Brokers.NodeIDs()
	if err := firstAlterError(adm.AlterBrokerConfigs(ctx, del, ids...)); err != nil {
		return fmt.Errorf("clearing the throttle rates: %w", err)
	}
	slices.Sort(ids)
	fmt.Fprintf(std.out, "Clearing broker-level throttles on broker%s %s\n", plural(len(ids)), joinIDs(ids))
	del = []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: leaderReplicas}, {Op: kadm.DeleteConfig, Name: followerReplicas}}
	topics := plan.topics()
	fmt.Fprintf(std.out, "Clearing topic-level throttles on topic%s %s\n", plural(len(topics)), strings.Join(topics, ","))
	for _, topic := range topics {
		if err := firstAlterError(adm.AlterTopicConfigs(ctx, del, topic)); err != nil {
			return fmt.Errorf("clearing the throttled replicas of %s: %w", topic, err)
		}
	}
	return nil
}

func firstAlterError(rs kadm.AlterConfigsResponses, err error) error {
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Err != nil {
			return fmt.Errorf("%s: %w: %s", r.Name, r.Err, r.ErrMessage)
		}
	}
	return nil
}

// verifyReassignment says per partition whether it is done; one still
// copying shows how many bytes its new replicas hold of the leader's.
func verifyReassignment(std *stdio, cl *kgo.Client, adm *kadm.Client, ctx context.Context, plan reassignmentFile) error {
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	adding := map[string][]int32{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			adding[fmt.Sprintf("%s-%d", t.Topic, p.Partition)] = p.AddingReplicas
		}
	}
	md, err := adm.Metadata(ctx)
	if err != nil {
		return err
	}
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		return err
	}
	size := func(broker int32, topic string, partition int32) int64 {
		var n int64
		for _, d := range dirs[broker] {
			if p, ok := d.Topics[topic][partition]; ok {
				n += p.Size
			}
		}
		return n
	}
	fmt.Fprintln(std.out, "Status of partition reassignment:")
	complete := len(adding) == 0 // none in flight anywhere, as Kafka's tool demands
	for _, p := range plan.Partitions {
		name := fmt.Sprintf("%s-%d", p.Topic, p.Partition)
		add, running := adding[name]
		if !running {
			pd := md.Topics[p.Topic].Partitions[p.Partition]
			if slices.Equal(pd.Replicas, p.Replicas) {
				fmt.Fprintf(std.out, "Reassignment of partition %s is completed.\n", name)
			} else {
				fmt.Fprintf(std.out, "There is no active reassignment of partition %s, but replica set is %v rather than %v.\n", name, pd.Replicas, p.Replicas)
			}
			continue
		}
		leader := md.Topics[p.Topic].Partitions[p.Partition].Leader
		total := size(leader, p.Topic, p.Partition)
		var progress []string
		for _, id := range add {
			progress = append(progress, fmt.Sprintf("broker %d copied %d of %d bytes", id, size(id, p.Topic, p.Partition), total))
		}
		fmt.Fprintf(std.out, "Reassignment of partition %s is still in progress (%s).\n", name, strings.Join(progress, ", "))
	}
	if !complete {
		return nil
	}
	fmt.Fprintln(std.out)
	return clearThrottles(std, adm, ctx, md, plan)
}
