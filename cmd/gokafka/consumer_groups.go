package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// consumerGroupsCommand is kafka-consumer-groups.sh.
func consumerGroupsCommand(std *stdio, args []string) error {
	f := newFlags("consumer-groups", std)
	list := f.Bool("list", false, "list the groups")
	describe := f.Bool("describe", false, "describe a group: offsets, lag and owners per partition")
	reset := f.Bool("reset-offsets", false, "reset a group's committed offsets (the group must have no members)")
	del := f.Bool("delete", false, "delete a group without members")
	group := f.String("group", "", "the group")
	topic := f.String("topic", "", "--reset-offsets: the topic, or topic:p1,p2")
	allTopics := f.Bool("all-topics", false, "--reset-offsets: every topic the group has offsets for")
	toEarliest := f.Bool("to-earliest", false, "--reset-offsets: to the log start")
	toLatest := f.Bool("to-latest", false, "--reset-offsets: to the log end")
	toOffset := f.Int64("to-offset", -1, "--reset-offsets: to this offset (kept within the log)")
	toDatetime := f.String("to-datetime", "", "--reset-offsets: to the first record at or after YYYY-MM-DDTHH:mm:SS.sss (UTC)")
	shiftBy := f.Int64("shift-by", 0, "--reset-offsets: by this many records from the committed offset")
	dryRun := f.Bool("dry-run", false, "--reset-offsets: show the new offsets only (the default)")
	execute := f.Bool("execute", false, "--reset-offsets: commit the new offsets")
	if err := f.parse(args); err != nil {
		return err
	}
	if count(*list, *describe, *reset, *del) != 1 {
		return usagef("exactly one of --list, --describe, --reset-offsets, --delete is needed")
	}
	if !*list && *group == "" {
		return usagef("--group is required")
	}
	_, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	switch {
	case *list:
		var groups kadm.ListedGroups
		err := untilReachable(ctx, func() (err error) {
			groups, err = adm.ListGroups(ctx)
			return err
		})
		if err != nil {
			return err
		}
		for _, g := range groups.Sorted() {
			fmt.Fprintln(std.out, g.Group)
		}
	case *describe:
		return describeGroup(std, adm, ctx, *group)
	case *del:
		rs, err := adm.DeleteGroups(ctx, *group)
		if err != nil {
			return err
		}
		if r := rs[*group]; r.Err != nil {
			return fmt.Errorf("deletion of consumer group '%s' failed: %w", *group, r.Err)
		}
		fmt.Fprintf(std.out, "Deletion of requested consumer groups ('%s') was successful.\n", *group)
	case *reset:
		spec := resetSpec{*toEarliest, *toLatest, *toOffset, *toDatetime, *shiftBy}
		if n := spec.count(); n != 1 {
			return usagef("--reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
		}
		if *dryRun && *execute {
			return usagef("--dry-run and --execute exclude each other")
		}
		if (*topic == "") == !*allTopics {
			return usagef("--reset-offsets needs --topic or --all-topics")
		}
		return resetOffsets(std, adm, ctx, *group, *topic, spec, *execute)
	}
	return nil
}

// describeGroup prints kafka-consumer-groups.sh --describe's table.
func describeGroup(std *stdio, adm *kadm.Client, ctx context.Context, group string) error {
	var l kadm.DescribedGroupLag
	var ok bool
	err := untilReachable(ctx, func() error {
		lags, err := adm.Lag(ctx, group)
		if err != nil {
			return err
		}
		l, ok = lags[group]
		return l.Error()
	})
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return err
	}
	if errors.Is(l.Error(), kerr.GroupIDNotFound) {
		// Kafka 4 brokers answer an unknown group so, and Kafka's tool
		// prints the exception it makes of it, on stdout, exiting 0.
		fmt.Fprintf(std.out, "\nError: Executing consumer group command failed due to "+
			"org.apache.kafka.common.errors.GroupIdNotFoundException: Group %s not found.\n", group)
		return nil
	}
	if !ok || l.State == "Dead" {
		// Kafka's tool says so on stdout and exits 0.
		fmt.Fprintf(std.out, "\nError: Consumer group '%s' does not exist.\n", group)
		return nil
	}
	if len(l.Members) == 0 {
		fmt.Fprintf(std.err, "\nConsumer group '%s' has no active members.\n", group)
	}
	rows := [][]string{{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"}}
	for _, ml := range l.Lag.Sorted() {
		current, end, lag := "-", "-", "-"
		if ml.Commit.At >= 0 {
			current = strconv.FormatInt(ml.Commit.At, 10)
		}
		// A partition whose leader did not answer has no end offset:
		// Kafka's tool prints - for it and for the lag.
		if ml.Err == nil {
			end = strconv.FormatInt(ml.End.Offset, 10)
			if ml.Commit.At >= 0 {
				lag = strconv.FormatInt(ml.Lag, 10)
			}
		}
		id, host, client := "-", "-", "-"
		if ml.Member != nil {
			id, host, client = ml.Member.MemberID, ml.Member.ClientHost, ml.Member.ClientID
		}
		rows = append(rows, []string{group, ml.Topic, strconv.Itoa(int(ml.Partition)), current, end, lag, id, host, client})
	}
	printOffsetTable(std, rows, []int{15, 15, 10, 15, 15, 15, 15, 15, 0}, 0, 1, 6, 7)
	return nil
}

// printOffsetTable prints rows as kafka-consumer-groups.sh does: each
// line after a newline, columns left-aligned in widths[i] characters
// (grown to fit for the columns in grow) and one space apart, the last
// one unpadded, and a newline after the table.
func printOffsetTable(std *stdio, rows [][]string, widths []int, grow ...int) {
	widths = slices.Clone(widths)
	for _, r := range rows[1:] {
		for _, c := range grow {
			widths[c] = max(widths[c], len(r[c]))
		}
	}
	for _, r := range rows {
		fmt.Fprintln(std.out)
		for i, cell := range r {
			if i < len(r)-1 {
				fmt.Fprintf(std.out, "%-*s ", widths[i], cell)
			} else {
				fmt.Fprint(std.out, cell)
			}
		}
	}
	fmt.Fprintln(std.out)
}

type resetSpec struct {
	earliest, latest bool
	offset           int64
	datetime         string
	shift            int64
}

func (s resetSpec) count() int {
	return count(s.earliest, s.latest, s.offset >= 0, s.datetime != "", s.shift != 0)
}

// resetOffsets computes a group's new offsets and, with execute, commits
// them; it prints GROUP TOPIC PARTITION NEW-OFFSET either way.
func resetOffsets(std *stdio, adm *kadm.Client, ctx context.Context, group, topicArg string, spec resetSpec, execute bool) error {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return err
	}
	if d := described[group]; len(d.Members) > 0 {
		return fmt.Errorf("assignments can only be reset if the group '%s' is inactive, but the current state is %s", group, d.State)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return err
	}
	targets, err := resetTargets(ctx, adm, committed, topicArg)
	if err != nil {
		return err
	}
	var topics []string
	for t := range targets {
		topics = append(topics, t)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return err
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return err
	}
	var byTime kadm.ListedOffsets
	if spec.datetime != "" {
		ts, err := time.Parse("2006-01-02T15:04:05.000", spec.datetime)
		if err != nil {
			return usagef("--to-datetime %q: want YYYY-MM-DDTHH:mm:SS.sss", spec.datetime)
		}
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, ts.UnixMilli(), topics...); err != nil {
			return err
		}
	}
	var next kadm.Offsets
	for t, ps := range targets {
		for _, p := range ps {
			start, _ := starts.Lookup(t, p)
			end, _ := ends.Lookup(t, p)
			at := end.Offset
			switch {
			case spec.earliest:
				at = start.Offset
			case spec.offset >= 0:
				at = spec.offset
			case spec.datetime != "":
				if o, ok := byTime.Lookup(t, p); ok && o.Err == nil && o.Offset >= 0 {
					at = o.Offset
				}
			case spec.shift != 0:
				c, _ := committed.Lookup(t, p)
				at = c.At + spec.shift
			}
			at = min(max(at, start.Offset), end.Offset) // Kafka keeps resets within the log
			next.Add(kadm.Offset{Topic: t, Partition: p, At: at, LeaderEpoch: -1})
		}
	}
	if execute {
		rs, err := adm.CommitOffsets(ctx, group, next)
		if err == nil {
			err = rs.Error()
		}
		if err != nil {
			return err
		}
	}
	rows := [][]string{{"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"}}
	for _, o := range next.Sorted() {
		rows = append(rows, []string{group, o.Topic, strconv.Itoa(int(o.Partition)), strconv.FormatInt(o.At, 10)})
	}
	printOffsetTable(std, rows, []int{15, 15, 10, 0}, 0, 1)
	return nil
}

// resetTargets resolves --topic (t, or t:0,1) or --all-topics (empty arg)
// to partitions.
func resetTargets(ctx context.Context, adm *kadm.Client, committed kadm.OffsetResponses, arg string) (map[string][]int32, error) {
	out := map[string][]int32{}
	if arg == "" {
		committed.Each(func(o kadm.OffsetResponse) { out[o.Topic] = append(out[o.Topic], o.Partition) })
		return out, nil
	}
	name, parts, explicit := strings.Cut(arg, ":")
	if explicit {
		for _, s := range strings.Split(parts, ",") {
			p, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return nil, usagef("--topic %q: %q is not a partition", arg, s)
			}
			out[name] = append(out[name], int32(p))
		}
		return out, nil
	}
	md, err := adm.Metadata(ctx, name)
	if err != nil {
		return nil, err
	}
	td, ok := md.Topics[name]
	if !ok || td.Err != nil {
		return nil, fmt.Errorf("topic %s does not exist", name)
	}
	for p := range td.Partitions {
		out[name] = append(out[name], p)
	}
	slices.Sort(out[name])
	return out, nil
}
