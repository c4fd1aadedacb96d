package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// reassignmentFile is kafka-reassign-partitions.sh's JSON.
type reassignmentFile struct {
	Version    int `json:"version"`
	Partitions []struct {
		Topic     string  `json:"topic"`
		Partition int32   `json:"partition"`
		Replicas  []int32 `json:"replicas"`
	} `json:"partitions"`
}

// reassignPartitionsCommand is kafka-reassign-partitions.sh with
// --execute, --verify (with the bytes copied so far) and --cancel.
func reassignPartitionsCommand(std *stdio, args []string) error {
	f := newFlags("reassign-partitions", std)
	file := f.String("reassignment-json-file", "", "REQUIRED: the partitions and their new replicas, as kafka-reassign-partitions.sh takes them")
	execute := f.Bool("execute", false, "start the reassignment")
	verify := f.Bool("verify", false, "say whether each reassignment has completed, and how far the copy is")
	cancelIt := f.Bool("cancel", false, "cancel the reassignments in the file")
	if err := f.parse(args); err != nil {
		return err
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
		if err := printCurrent(std, adm, ctx, plan); err != nil {
			return err
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
	verb := "started"
	if *cancelIt {
		verb = "cancelled"
	}
	if len(ok) > 0 {
		fmt.Fprintf(std.out, "Successfully %s partition reassignments for %s\n", verb, strings.Join(ok, ","))
	}
	if len(failed) > 0 {
		return fmt.Errorf("reassignment failed for %s", strings.Join(failed, "; "))
	}
	return nil
}

// printCurrent prints the replicas before the change, for a rollback.
func printCurrent(std *stdio, adm *kadm.Client, ctx context.Context, plan reassignmentFile) error {
	var topics []string
	for _, p := range plan.Partitions {
		topics = append(topics, p.Topic)
	}
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return err
	}
	current := reassignmentFile{Version: 1}
	current.Partitions = plan.Partitions[:0:0]
	for _, p := range plan.Partitions {
		pd, ok := md.Topics[p.Topic].Partitions[p.Partition]
		if !ok {
			return fmt.Errorf("partition %s-%d does not exist", p.Topic, p.Partition)
		}
		entry := p
		entry.Replicas = pd.Replicas
		current.Partitions = append(current.Partitions, entry)
	}
	out, _ := json.Marshal(current)
	fmt.Fprintf(std.out, "Current partition replica assignment\n\n%s\n\nSave this to use as the --reassignment-json-file option during rollback\n", out)
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
	return nil
}
