package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// consumerGroupsCommand is kafka-consumer-groups.sh.
func consumerGroupsCommand(std *stdio, args []string) error {
	f := newFlags("consumer-groups", std)
	list := f.Bool("list", false, "list the groups")
	describe := f.Bool("describe", false, "describe a group: offsets, lag and owners per partition")
	reset := f.Bool("reset-offsets", false, "reset a group's committed offsets (the group must have no members)")
	del := f.Bool("delete", false, "delete a group without members")
	var groupFlags listFlag
	f.Var(&groupFlags, "group", "the group (repeatable)")
	allGroups := f.Bool("all-groups", false, "--describe, --delete, --reset-offsets: every group")
	offsets := f.Bool("offsets", false, "--describe: offsets and lag per partition (the default)")
	members := f.Bool("members", false, "--describe: the members and how many partitions each has")
	var state optionalValue
	f.Var(&state, "state", "--describe: the group's coordinator, assignor, state and member count; "+
		"--list [states]: each group's state, only groups in the comma separated states if given")
	verbose := f.Bool("verbose", false, "--describe: --offsets with leader epochs, --members with assignments, --state with epochs")
	topic := f.String("topic", "", "--reset-offsets: the topic, or topic:p1,p2")
	allTopics := f.Bool("all-topics", false, "--reset-offsets: every topic the group has offsets for")
	toEarliest := f.Bool("to-earliest", false, "--reset-offsets: to the log start")
	toLatest := f.Bool("to-latest", false, "--reset-offsets: to the log end")
	toOffset := f.Int64("to-offset", -1, "--reset-offsets: to this offset (kept within the log)")
	toDatetime := f.String("to-datetime", "", "--reset-offsets: to the first record at or after YYYY-MM-DDTHH:mm:SS.sss (UTC)")
	shiftBy := f.Int64("shift-by", 0, "--reset-offsets: by this many records from the committed offset")
	dryRun := f.Bool("dry-run", false, "--reset-offsets: show the new offsets only (the default)")
	execute := f.Bool("execute", false, "--reset-offsets: commit the new offsets")
	if err := f.parse(withOptionalValue(args, "state")); err != nil {
		return err
	}
	groups := []string(groupFlags)
	if count(*list, *describe, *reset, *del) != 1 {
		return usagef("exactly one of --list, --describe, --reset-offsets, --delete is needed")
	}
	if *allGroups && *list {
		return usagef("--all-groups goes with --describe, --delete or --reset-offsets")
	}
	if !*list && *allGroups == (len(groups) > 0) {
		return usagef("--group is required, or --all-groups")
	}
	var states []string
	if *list && state.value != "" {
		var err error
		if states, err = consumerGroupStates(state.value); err != nil {
			return err
		}
	}
	var spec resetSpec
	if *reset {
		spec = resetSpec{*toEarliest, *toLatest, *toOffset, *toDatetime, *shiftBy}
		if n := spec.count(); n != 1 {
			return usagef("--reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
		}
		if *dryRun && *execute {
			return usagef("--dry-run and --execute exclude each other")
		}
		if (*topic == "") == !*allTopics {
			return usagef("--reset-offsets needs --topic or --all-topics")
		}
	}
	_, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	if *allGroups {
		if groups, err = listGroups(ctx, adm); err != nil {
			return err
		}
	}
	switch {
	case *list && state.set:
		return listGroupStates(std, ctx, adm, states)
	case *list:
		groups, err := listGroups(ctx, adm)
		if err != nil {
			return err
		}
		for _, g := range groups {
			fmt.Fprintln(std.out, g)
		}
	case *describe:
		// Kafka's tool shows the offsets when asked for them, whatever else.
		view := describeView{members: *members && !*offsets, state: state.set && !*offsets && !*members, verbose: *verbose}
		return describeGroups(std, adm, ctx, groups, view)
	case *del:
		return deleteGroups(std, ctx, adm, groups)
	case *reset:
		if !*dryRun && !*execute {
			fmt.Fprintln(std.err, "WARN: No action will be performed as the --execute option is missing. "+
				"In version 5.0, this command will require either --dry-run or --execute to be specified. "+
				"You should add the --dry-run option explicitly if you are scripting this command and "+
				"want to keep the current default behavior without prompting.")
		}
		return resetOffsets(std, adm, ctx, groups, *topic, spec, *execute)
	}
	return nil
}

// optionalValue is a flag that stands alone (--state) or takes a value
// (--state Stable,Empty), as jopt-simple's optional arguments do in
// Kafka's tools; withOptionalValue joins such a flag to its value first.
type optionalValue struct {
	set   bool
	value string
}

func (o *optionalValue) IsBoolFlag() bool { return true }
func (o *optionalValue) String() string   { return o.value }
func (o *optionalValue) Set(v string) error {
	o.set = true
	if v != "true" {
		o.value = v
	}
	return nil
}

// withOptionalValue rewrites "--name value" as "--name=value" when the
// next argument is not a flag, so that the flag package sees one token.
func withOptionalValue(args []string, name string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if (a == "--"+name || a == "-"+name) && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			a += "=" + args[i+1]
			i++
		}
		out = append(out, a)
	}
	return out
}

// consumerGroupStatesValid are the states a consumer group can be in, as
// Kafka names them (GroupState.groupStatesForType(CONSUMER)).
var consumerGroupStatesValid = []string{"PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty", "Assigning", "Reconciling"}

// consumerGroupStates parses --state's list, in any case, into Kafka's
// names, which the ListGroups filter compares.
func consumerGroupStates(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		i := slices.IndexFunc(consumerGroupStatesValid, func(v string) bool { return strings.EqualFold(v, strings.TrimSpace(s)) })
		if i < 0 {
			return nil, argumentf("Invalid state list '%s'. Valid states are: %s", list, strings.Join(consumerGroupStatesValid, ", "))
		}
		out = append(out, consumerGroupStatesValid[i])
	}
	return out, nil
}

// listGroupStates prints --list --state: each group with its state, the
// group column as wide as the longest name (at least 15) plus 10.
func listGroupStates(std *stdio, ctx context.Context, adm *kadm.Client, states []string) error {
	var listed kadm.ListedGroups
	err := untilReachable(ctx, func() (err error) {
		listed, err = adm.ListGroups(ctx, states...)
		return err
	})
	if err != nil {
		return err
	}
	width := 15
	for _, g := range listed {
		width = max(width, len(g.Group))
	}
	format := fmt.Sprintf("%%-%ds %%-20s\n", width+10)
	fmt.Fprintf(std.out, format, "GROUP", "STATE")
	for _, g := range listed.Sorted() {
		fmt.Fprintf(std.out, format, g.Group, g.State)
	}
	return nil
}

// deleteGroups deletes groups and reports as Kafka's tool does: one line
// if every deletion succeeded, else an error list on standard output.
func deleteGroups(std *stdio, ctx context.Context, adm *kadm.Client, groups []string) error {
	rs, err := adm.DeleteGroups(ctx, groups...)
	if err != nil {
		return err
	}
	var done, failed []string
	for _, g := range groups {
		if r, ok := rs[g]; ok && r.Err == nil {
			done = append(done, "'"+g+"'")
		} else if ok {
			failed = append(failed, fmt.Sprintf("* Group '%s' could not be deleted due to: %v", g, withMessage(r.Err, "")))
		}
	}
	if len(failed) == 0 {
		fmt.Fprintf(std.out, "Deletion of requested consumer groups (%s) was successful.\n", strings.Join(done, ", "))
		return nil
	}
	fmt.Fprintf(std.out, "\nError: Deletion of some consumer groups failed:\n%s\n", strings.Join(failed, "\n"))
	if len(done) > 0 {
		fmt.Fprintf(std.out, "\nThese consumer groups were deleted successfully: %s\n", strings.Join(done, ", "))
	}
	return nil
}

// listGroups names the cluster's groups in order.
func listGroups(ctx context.Context, adm *kadm.Client) ([]string, error) {
	var groups kadm.ListedGroups
	err := untilReachable(ctx, func() (err error) {
		groups, err = adm.ListGroups(ctx)
		return err
	})
	return groups.Groups(), err
}

// describeView is what --describe shows: --offsets (the default),
// --members or --state, each wider with --verbose.
type describeView struct {
	members, state, verbose bool
}

// describeGroups prints kafka-consumer-groups.sh --describe for each
// group in name order, as Kafka's tool does.
func describeGroups(std *stdio, adm *kadm.Client, ctx context.Context, groups []string, v describeView) error {
	var lags kadm.DescribedGroupLags
	err := untilReachable(ctx, func() (err error) {
		lags, err = adm.Lag(ctx, groups...)
		if err == nil {
			err = lags.Error()
		}
		return err
	})
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return err
	}
	slices.Sort(groups)
	for _, g := range groups {
		l, ok := lags[g]
		if errors.Is(l.Error(), kerr.GroupIDNotFound) {
			// Kafka 4 brokers answer an unknown group so, and Kafka's tool
			// prints the exception it makes of it, on stdout, exiting 0.
			fmt.Fprintf(std.out, "\nError: Executing consumer group command failed due to "+
				"org.apache.kafka.common.errors.GroupIdNotFoundException: Group %s not found.\n", g)
			return nil
		}
		if !ok {
			l = kadm.DescribedGroupLag{Group: g, State: "Dead"}
		}
		switch {
		case v.members:
			printMembers(std, l, v.verbose)
		case v.state:
			printState(std, l, v.verbose)
		default:
			printOffsets(std, l, v.verbose)
		}
	}
	return nil
}

// groupShown says on the right stream what Kafka's tool says of a group's
// state before its table, and whether a table of rows rows follows.
func groupShown(std *stdio, l kadm.DescribedGroupLag, rows int) bool {
	switch l.State {
	case "Dead":
		fmt.Fprintf(std.out, "\nError: Consumer group '%s' does not exist.\n", l.Group)
		return false
	case "Empty":
		fmt.Fprintf(std.err, "\nConsumer group '%s' has no active members.\n", l.Group)
	case "PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling":
		fmt.Fprintf(std.err, "\nWarning: Consumer group '%s' is rebalancing.\n", l.Group)
	}
	return rows > 0
}

// printOffsets prints the --offsets table: the partitions of the members
// with the most partitions first, then those committed but unassigned.
func printOffsets(std *stdio, l kadm.DescribedGroupLag, verbose bool) {
	var owned, unowned []kadm.GroupMemberLag
	for _, ml := range l.Lag.Sorted() {
		if ml.Member != nil {
			owned = append(owned, ml)
		} else {
			unowned = append(unowned, ml)
		}
	}
	counts := map[string]int{}
	for _, ml := range owned {
		counts[ml.Member.MemberID]++
	}
	slices.SortStableFunc(owned, func(a, b kadm.GroupMemberLag) int {
		return cmp.Or(counts[b.Member.MemberID]-counts[a.Member.MemberID], strings.Compare(a.Member.MemberID, b.Member.MemberID))
	})
	all := append(owned, unowned...)
	if !groupShown(std, l, len(all)) {
		return
	}
	head := []string{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"}
	widths := []int{15, 15, 10, 15, 15, 15, 15, 15, 0}
	if verbose {
		head = slices.Insert(head, 3, "LEADER-EPOCH")
		widths = slices.Insert(widths, 3, 15)
	}
	rows := [][]string{head}
	for _, ml := range all {
		current, end, lag, epoch := "-", "-", "-", "-"
		if ml.Commit.At >= 0 {
			current = strconv.FormatInt(ml.Commit.At, 10)
		}
		if ml.Commit.LeaderEpoch >= 0 {
			epoch = strconv.Itoa(int(ml.Commit.LeaderEpoch))
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
		row := []string{l.Group, ml.Topic, strconv.Itoa(int(ml.Partition)), current, end, lag, id, host, client}
		if verbose {
			row = slices.Insert(row, 3, epoch)
		}
		rows = append(rows, row)
	}
	n := len(head)
	printOffsetTable(std, rows, widths, 0, 1, n-3, n-2)
}

// printMembers prints the --members table. Kafka's tool prints its header
// even for a group without members, and pads every column but the last
// of a row, which --verbose makes the target assignment.
func printMembers(std *stdio, l kadm.DescribedGroupLag, verbose bool) {
	shown := groupShown(std, l, len(l.Members))
	withInstance := false
	type member struct{ cells, verbose []string }
	var ms []member
	if shown {
		for _, m := range l.Members {
			instance := ""
			if m.InstanceID != nil {
				instance, withInstance = *m.InstanceID, withInstance || *m.InstanceID != ""
			}
			assigned, n := "-", 0
			if a, ok := m.Assigned.AsConsumer(); ok && a != nil {
				assigned, n = assignmentString(a.Topics)
			}
			// A classic group has no member or target epochs, and no
			// target assignment: Kafka's tool prints - for them.
			ms = append(ms, member{[]string{l.Group, m.MemberID, instance, m.ClientHost, m.ClientID, strconv.Itoa(n)},
				[]string{"-", assigned, "-", "-"}})
		}
	}
	head := member{[]string{"GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS"},
		[]string{"CURRENT-EPOCH", "CURRENT-ASSIGNMENT", "TARGET-EPOCH", "TARGET-ASSIGNMENT"}}
	widths := []int{15, 15, 17, 15, 15, 15, 15, 20, 15, 20}
	for _, m := range ms {
		for i, c := range append(slices.Clone(m.cells), m.verbose...) {
			widths[i] = max(widths[i], len(c))
		}
	}
	fmt.Fprintln(std.out)
	for _, m := range append([]member{head}, ms...) {
		cells, ws := m.cells, widths[:6]
		if !withInstance {
			cells, ws = slices.Delete(slices.Clone(cells), 2, 3), slices.Delete(slices.Clone(ws), 2, 3)
		}
		line := paddedCells(cells, ws) + " "
		if verbose {
			line += paddedCells(m.verbose, widths[6:])
		}
		fmt.Fprintln(std.out, line)
	}
}

// assignmentString is a member's partitions as Kafka's tool prints them,
// topic:p1,p2 joined by ; in topic order, and how many there are.
func assignmentString(topics []kmsg.ConsumerMemberAssignmentTopic) (string, int) {
	var parts []string
	n := 0
	for _, t := range topics {
		ps := slices.Sorted(slices.Values(t.Partitions))
		var s []string
		for _, p := range ps {
			s = append(s, strconv.Itoa(int(p)))
		}
		parts = append(parts, t.Topic+":"+strings.Join(s, ","))
		n += len(ps)
	}
	if n == 0 {
		return "-", 0
	}
	slices.Sort(parts)
	return strings.Join(parts, ";"), n
}

// printState prints the --state table: the group's coordinator, assignor,
// state and member count.
func printState(std *stdio, l kadm.DescribedGroupLag, verbose bool) {
	if !groupShown(std, l, 1) {
		return
	}
	coordinator := fmt.Sprintf("%s:%d  (%d)", l.Coordinator.Host, l.Coordinator.Port, l.Coordinator.NodeID)
	head := []string{"GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"}
	row := []string{l.Group, coordinator, cmp.Or(l.Protocol, "-"), l.State, strconv.Itoa(len(l.Members))}
	widths := []int{max(15, len(l.Group)), max(25, len(coordinator)), 20, 20, 0}
	if verbose {
		// Classic groups have no group or target assignment epochs.
		head = slices.Insert(head, 4, "GROUP-EPOCH", "TARGET-ASSIGNMENT-EPOCH")
		row = slices.Insert(row, 4, "-", "-")
		widths = slices.Insert(widths, 4, 15, 25)
	}
	fmt.Fprintf(std.out, "\n%s\n%s\n", paddedCells(head, widths), paddedCells(row, widths))
}

// paddedCells left-aligns each cell in its width, one space apart.
func paddedCells(cells []string, widths []int) string {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%-*s", widths[i], c)
	}
	return b.String()
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
		fmt.Fprint(std.out, "\n"+paddedCells(r, widths))
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

// resetOffsets computes each group's new offsets and, with execute,
// commits them; it prints GROUP TOPIC PARTITION NEW-OFFSET either way. A
// group with members is reported and skipped, as Kafka's tool does.
func resetOffsets(std *stdio, adm *kadm.Client, ctx context.Context, groups []string, topicArg string, spec resetSpec, execute bool) error {
	described, err := adm.DescribeGroups(ctx, groups...)
	if err != nil {
		return err
	}
	rows := [][]string{{"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"}}
	for _, group := range groups {
		if d := described[group]; len(d.Members) > 0 {
			fmt.Fprintf(std.out, "\nError: Assignments can only be reset if the group '%s' is inactive, but the current state is %s.\n", group, d.State)
			continue
		}
		next, err := groupResetOffsets(adm, ctx, group, topicArg, spec)
		if err != nil {
			return err
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
		for _, o := range next.Sorted() {
			rows = append(rows, []string{group, o.Topic, strconv.Itoa(int(o.Partition)), strconv.FormatInt(o.At, 10)})
		}
	}
	printOffsetTable(std, rows, []int{15, 15, 10, 0}, 0, 1)
	return nil
}

// groupResetOffsets computes one group's new offsets.
func groupResetOffsets(adm *kadm.Client, ctx context.Context, group, topicArg string, spec resetSpec) (kadm.Offsets, error) {
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	targets, err := resetTargets(ctx, adm, committed, topicArg)
	if err != nil {
		return nil, err
	}
	var topics []string
	for t := range targets {
		topics = append(topics, t)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	var byTime kadm.ListedOffsets
	if spec.datetime != "" {
		ts, err := time.Parse("2006-01-02T15:04:05.000", spec.datetime)
		if err != nil {
			return nil, usagef("--to-datetime %q: want YYYY-MM-DDTHH:mm:SS.sss", spec.datetime)
		}
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, ts.UnixMilli(), topics...); err != nil {
			return nil, err
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
	return next, nil
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
