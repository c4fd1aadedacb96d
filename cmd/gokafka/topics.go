package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicsCommand is kafka-topics.sh.
func topicsCommand(std *stdio, args []string) error {
	f := newFlags("topics", std)
	create := f.Bool("create", false, "create a topic")
	list := f.Bool("list", false, "list topics")
	describe := f.Bool("describe", false, "describe topics")
	alter := f.Bool("alter", false, "add partitions to a topic")
	del := f.Bool("delete", false, "delete topics")
	topic := f.String("topic", "", "the topic (a comma list for --describe and --delete)")
	partitions := f.Int("partitions", 0, "partition count (--create: default from the broker)")
	rf := f.Int("replication-factor", 0, "replication factor (--create: default from the broker)")
	assignment := f.String("replica-assignment", "", "explicit replicas: brokers of a partition joined by ':', partitions by ','")
	var configs listFlag
	f.Var(&configs, "config", "a topic config key=value for --create (repeatable)")
	ifNotExists := f.Bool("if-not-exists", false, "--create: do nothing if the topic exists")
	ifExists := f.Bool("if-exists", false, "--alter, --delete: do nothing if the topic does not exist")
	underReplicated := f.Bool("under-replicated-partitions", false, "--describe: only partitions whose ISR is smaller than their replicas")
	underMinISR := f.Bool("under-min-isr-partitions", false, "--describe: only partitions whose ISR is below min.insync.replicas")
	unavailable := f.Bool("unavailable-partitions", false, "--describe: only partitions without a leader")
	excludeInternal := f.Bool("exclude-internal", false, "--list, --describe: leave out internal topics")
	if err := f.parse(args); err != nil {
		return err
	}
	if n := count(*create, *list, *describe, *alter, *del); n != 1 {
		return usagef("exactly one of --create, --list, --describe, --alter, --delete is needed")
	}
	if (*create || *alter || *del) && *topic == "" {
		return usagef("--topic is required")
	}
	cl, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	switch {
	case *create:
		cfg, err := keyValues(configs)
		if err != nil {
			return err
		}
		var cfgp map[string]*string
		if len(cfg) > 0 {
			cfgp = map[string]*string{}
			for k, v := range cfg {
				cfgp[k] = &v
			}
		}
		var reps map[int32][]int32
		if *assignment != "" {
			if reps, err = parseAssignment(*assignment); err != nil {
				return err
			}
		}
		p, r := int32(*partitions), int16(*rf)
		if p == 0 {
			p = -1
		}
		if r == 0 {
			r = -1
		}
		err = needsQuorum(ctx, adm, func(ctx context.Context) error {
			if reps != nil {
				return createAssigned(ctx, cl, *topic, reps, cfg)
			}
			// An error in the topic's answer comes back as err too.
			resp, err := adm.CreateTopic(ctx, p, r, cfgp, *topic)
			if resp.Err != nil {
				err = withMessage(resp.Err, resp.ErrMessage)
			}
			return err
		})
		if errors.Is(err, kerr.TopicAlreadyExists) && *ifNotExists {
			return nil
		}
		if err != nil {
			return topicError(err)
		}
		fmt.Fprintf(std.out, "Created topic %s.\n", *topic)
	case *list:
		tds, err := adm.ListTopicsWithInternal(ctx)
		if err != nil {
			return err
		}
		for _, name := range tds.Names() {
			if !(*excludeInternal && tds[name].IsInternal) {
				fmt.Fprintln(std.out, name)
			}
		}
	case *describe:
		var names []string
		if *topic != "" {
			names = strings.Split(*topic, ",")
		}
		return describeTopics(std, cl, adm, ctx, names, describeFilter{*underReplicated, *underMinISR, *unavailable, *excludeInternal})
	case *alter:
		if *partitions <= 0 {
			return usagef("--alter needs --partitions")
		}
		rs, err := adm.UpdatePartitions(ctx, *partitions, *topic)
		if err == nil {
			var r kadm.CreatePartitionsResponse
			r, err = rs.On(*topic, nil)
			if err == nil {
				err = withMessage(r.Err, r.ErrMessage)
			}
		}
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			if *ifExists {
				return nil
			}
			return missingTopic(*topic)
		}
		return topicError(err)
	case *del:
		rs, err := adm.DeleteTopics(ctx, strings.Split(*topic, ",")...)
		if err != nil {
			return err
		}
		for _, r := range rs.Sorted() {
			switch {
			case r.Err == nil:
			case errors.Is(r.Err, kerr.UnknownTopicOrPartition) && *ifExists:
			case errors.Is(r.Err, kerr.UnknownTopicOrPartition):
				return missingTopic(r.Topic)
			default:
				return topicError(withMessage(r.Err, r.ErrMessage))
			}
		}
	}
	return nil
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// topicError words a failure as kafka-topics.sh does, on stdout.
func topicError(err error) error {
	if err == nil {
		return nil
	}
	return toolError{"Error while executing topic command : " + errorMessage(err)}
}

// missingTopic is kafka-topics.sh's answer for a topic it was told to
// describe, alter or delete that does not exist.
func missingTopic(name string) error {
	return toolError{fmt.Sprintf("Error while executing topic command : Topic '%s' does not exist as expected", name)}
}

// createAssigned creates a topic with explicit replicas, which kadm does
// not offer.
func createAssigned(ctx context.Context, cl *kgo.Client, topic string, reps map[int32][]int32, configs map[string]string) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for _, p := range slices.Sorted(maps.Keys(reps)) {
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: p, Replicas: reps[p]})
	}
	for k, v := range configs {
		rt.Configs = append(rt.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: k, Value: kmsg.StringPtr(v)})
	}
	req.Topics, req.TimeoutMillis = []kmsg.CreateTopicsRequestTopic{rt}, 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if len(resp.Topics) != 1 {
		return fmt.Errorf("CreateTopics answered %d topics for one", len(resp.Topics))
	}
	msg := ""
	if m := resp.Topics[0].ErrorMessage; m != nil {
		msg = *m
	}
	return withMessage(kerr.ErrorForCode(resp.Topics[0].ErrorCode), msg)
}

// parseAssignment reads --replica-assignment: "1:2:3,2:3:1" gives
// partition 0 replicas 1,2,3 and partition 1 replicas 2,3,1.
func parseAssignment(s string) (map[int32][]int32, error) {
	out := map[int32][]int32{}
	for p, part := range strings.Split(s, ",") {
		for _, b := range strings.Split(part, ":") {
			id, err := strconv.ParseInt(strings.TrimSpace(b), 10, 32)
			if err != nil {
				return nil, usagef("--replica-assignment %q: %q is not a broker id", s, b)
			}
			out[int32(p)] = append(out[int32(p)], int32(id))
		}
	}
	return out, nil
}

type describeFilter struct {
	underReplicated, underMinISR, unavailable, excludeInternal bool
}

func (f describeFilter) any() bool { return f.underReplicated || f.underMinISR || f.unavailable }

// describeTopics prints Kafka 4.x's format: a summary line per topic, then
// a line per partition; with a partition filter only the matching
// partition lines.
func describeTopics(std *stdio, cl *kgo.Client, adm *kadm.Client, ctx context.Context, names []string, filter describeFilter) error {
	md, err := adm.Metadata(ctx, names...)
	if err != nil {
		return err
	}
	// The brokers' metadata is the last the quorum agreed on; without a
	// majority it still names dead brokers as leaders. A leader is live
	// only if this command can reach it: else its partitions are shown
	// leaderless, and a lost majority is said on standard error.
	down := deadBrokers(ctx, md.Brokers)
	live := map[int32]bool{}
	for _, b := range md.Brokers {
		live[b.NodeID] = !slices.ContainsFunc(down, func(d kadm.BrokerDetail) bool { return d.NodeID == b.NodeID })
	}
	if err := noMajority(down, len(md.Brokers)); err != nil {
		fmt.Fprintf(std.err, "WARN: %v; leaders and ISRs below are the last it agreed on, and partitions led by unreachable nodes have no leader.\n", err)
	}
	var sorted []string
	for _, name := range md.Topics.Names() {
		td := md.Topics[name]
		if errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			continue
		}
		if td.Err != nil {
			return fmt.Errorf("topic %s: %w", name, td.Err)
		}
		if !(filter.excludeInternal && td.IsInternal) {
			sorted = append(sorted, name)
		}
	}
	if len(names) > 0 && len(sorted) == 0 {
		return missingTopic(strings.Join(names, ","))
	}
	configs, err := adm.DescribeTopicConfigs(ctx, sorted...)
	if err != nil {
		return err
	}
	elrs, err := eligibleLeaders(ctx, cl, sorted)
	if err != nil {
		return err
	}
	for _, name := range sorted {
		td := md.Topics[name]
		overrides, minISR := map[string]string{}, 1
		if rc, err := configs.On(name, nil); err == nil {
			for _, c := range rc.Configs {
				// Kafka's tool lists every config not at its default:
				// overrides, and broker settings that apply.
				if c.Source.String() != "DEFAULT_CONFIG" {
					overrides[c.Key] = c.MaybeValue()
				}
				if c.Key == "min.insync.replicas" {
					minISR, _ = strconv.Atoi(c.MaybeValue())
				}
			}
		}
		parts := td.Partitions.Sorted()
		if !filter.any() {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(overrides)) {
				kv = append(kv, k+"="+overrides[k])
			}
			rf := 0
			if len(parts) > 0 {
				rf = len(parts[0].Replicas)
			}
			fmt.Fprintf(std.out, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
				name, base64.RawURLEncoding.EncodeToString(td.ID[:]), len(parts), rf, strings.Join(kv, ","))
		}
		for _, p := range parts {
			leaderless := p.Leader < 0 || !live[p.Leader]
			if filter.underReplicated && len(p.ISR) >= len(p.Replicas) ||
				filter.underMinISR && len(p.ISR) >= minISR ||
				filter.unavailable && !leaderless {
				continue
			}
			leader := strconv.Itoa(int(p.Leader))
			if leaderless {
				leader = "none"
			}
			elr, lastKnown := "N/A", "N/A"
			if e, ok := elrs[name][p.Partition]; ok {
				elr, lastKnown = joinIDs(e.EligibleLeaderReplicas), joinIDs(e.LastKnownELR)
			}
			fmt.Fprintf(std.out, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s\tElr: %s\tLastKnownElr: %s\n",
				name, p.Partition, leader, joinIDs(p.Replicas), joinIDs(p.ISR), elr, lastKnown)
		}
	}
	return nil
}

func joinIDs(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

// eligibleLeaders reads each partition's eligible leader replicas
// (KIP-966) with DescribeTopicPartitions, as Kafka 4's tool does. Brokers
// that do not serve that API give none, which the tool prints as N/A.
func eligibleLeaders(ctx context.Context, cl *kgo.Client, names []string) (map[string]map[int32]kmsg.DescribeTopicPartitionsResponseTopicPartition, error) {
	versions, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	if !slices.ContainsFunc(versions.ApiKeys, func(k kmsg.ApiVersionsResponseApiKey) bool { return k.ApiKey == req.Key() }) || len(names) == 0 {
		return nil, nil
	}
	for _, n := range names {
		req.Topics = append(req.Topics, kmsg.DescribeTopicPartitionsRequestTopic{Topic: n})
	}
	out := map[string]map[int32]kmsg.DescribeTopicPartitionsResponseTopicPartition{}
	for {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return nil, err
		}
		for _, t := range resp.Topics {
			if t.Topic == nil || kerr.ErrorForCode(t.ErrorCode) != nil {
				continue
			}
			if out[*t.Topic] == nil {
				out[*t.Topic] = map[int32]kmsg.DescribeTopicPartitionsResponseTopicPartition{}
			}
			for _, p := range t.Partitions {
				out[*t.Topic][p.Partition] = p
			}
		}
		// A response stops at the partition limit and says where to go on.
		if resp.NextCursor == nil {
			return out, nil
		}
		next := &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
		if req.Cursor != nil && req.Cursor.Topic == next.Topic && req.Cursor.Partition == next.Partition {
			return nil, fmt.Errorf("DescribeTopicPartitions answers the cursor %s-%d it was given", next.Topic, next.Partition)
		}
		req.Cursor = next
	}
}
