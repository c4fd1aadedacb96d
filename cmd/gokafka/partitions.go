package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// getOffsetsCommand is kafka-get-offsets.sh (GetOffsetShell): one
// topic:partition:offset line per partition, for the latest offset, the
// earliest, the one of the largest timestamp, or the first at or after a
// time.
func getOffsetsCommand(std *stdio, args []string) error {
	f := newFlags("get-offsets", std)
	topic := f.String("topic", "", "a regular expression for the topics (default: all but internal ones)")
	partitions := f.String("partitions", "", "a comma list of partition ids (default: all)")
	at := f.String("time", "-1", "-1 or latest, -2 or earliest, -3 or max-timestamp, or a timestamp in ms")
	excludeInternal := f.Bool("exclude-internal-topics", false, "leave out internal topics when --topic matches them")
	if err := f.parse(args); err != nil {
		return err
	}
	re, err := regexp.Compile("^(?:" + cmpOr(*topic, ".*") + ")$")
	if err != nil {
		return usagef("--topic %q: %v", *topic, err)
	}
	var only []int32
	if *partitions != "" {
		for _, p := range strings.Split(*partitions, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
			if err != nil {
				return usagef("--partitions expects a comma separated list of numeric partition ids, but received: %s", *partitions)
			}
			only = append(only, int32(n))
		}
	}
	_, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	tds, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, name := range tds.Names() {
		internal := tds[name].IsInternal
		if re.MatchString(name) && !(internal && (*excludeInternal || *topic == "")) {
			names = append(names, name)
		}
	}
	noMatch := argumentf("Error occurred: Could not match any topic-partitions with the specified filters")
	if len(names) == 0 { // kadm would list every topic's offsets
		return noMatch
	}
	listed, err := listOffsetsAt(adm, ctx, *at, names)
	if err != nil {
		return err
	}
	matched := false
	listed.Each(func(o kadm.ListedOffset) {
		if len(only) == 0 || slices.Contains(only, o.Partition) {
			matched = true
			if o.Err != nil {
				fmt.Fprintf(std.err, "Skip getting offsets for topic-partition %s-%d due to error: %v\n", o.Topic, o.Partition, o.Err)
			}
		}
	})
	if !matched {
		return noMatch
	}
	for _, o := range listed.Offsets().Sorted() {
		// Kafka's tool leaves out partitions without an answer (-1: an
		// empty partition has no max-timestamp offset).
		if (len(only) == 0 || slices.Contains(only, o.Partition)) && o.At >= 0 {
			fmt.Fprintf(std.out, "%s:%d:%d\n", o.Topic, o.Partition, o.At)
		}
	}
	return nil
}

func cmpOr(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// listOffsetsAt lists the offsets --time names.
func listOffsetsAt(adm *kadm.Client, ctx context.Context, at string, names []string) (kadm.ListedOffsets, error) {
	switch at {
	case "-1", "latest":
		return adm.ListEndOffsets(ctx, names...)
	case "-2", "earliest":
		return adm.ListStartOffsets(ctx, names...)
	case "-3", "max-timestamp":
		return adm.ListMaxTimestampOffsets(ctx, names...)
	}
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil || ms < 0 {
		return nil, usagef("Malformed time argument %s. Please use -1 or latest / -2 or earliest / -3 or max-timestamp, or a specified long format timestamp", at)
	}
	return adm.ListOffsetsAfterMilli(ctx, ms, names...)
}

// leaderElectionCommand is kafka-leader-election.sh.
func leaderElectionCommand(std *stdio, args []string) error {
	f := newFlags("leader-election", std)
	electionType := f.String("election-type", "", "REQUIRED: PREFERRED or UNCLEAN")
	all := f.Bool("all-topic-partitions", false, "elect for every partition")
	topic := f.String("topic", "", "the topic (with --partition)")
	partition := f.Int("partition", -1, "the partition (with --topic)")
	path := f.String("path-to-json-file", "", `a file of {"partitions": [{"topic": T, "partition": P}, ...]}`)
	if err := f.parse(args); err != nil {
		return err
	}
	how := map[string]kadm.ElectLeadersHow{"PREFERRED": kadm.ElectPreferredReplica, "UNCLEAN": kadm.ElectLiveReplica}
	kind := strings.ToUpper(*electionType)
	if _, ok := how[kind]; !ok {
		return usagef("Missing required option(s): election-type (PREFERRED or UNCLEAN)")
	}
	if count(*all, *topic != "", *path != "") != 1 {
		return usagef("One and only one of the following options is required: all-topic-partitions, topic, path-to-json-file")
	}
	if (*topic != "") != (*partition >= 0) {
		return usagef("--topic and --partition go together")
	}
	var set kadm.TopicsSet // nil: every partition
	switch {
	case *topic != "":
		set = kadm.TopicsSet{}
		set.Add(*topic, int32(*partition))
	case *path != "":
		var err error
		if set, err = partitionsFile(*path); err != nil {
			return err
		}
	}
	_, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	rs, err := adm.ElectLeaders(ctx, how[kind], set)
	if err != nil {
		return fmt.Errorf("Error while making request: %w", err)
	}
	var succeeded, noop, failed []string
	for _, t := range slices.Sorted(maps.Keys(rs)) {
		for _, p := range slices.Sorted(maps.Keys(rs[t])) {
			r, name := rs[t][p], fmt.Sprintf("%s-%d", t, p)
			switch {
			case r.Err == nil:
				succeeded = append(succeeded, name)
			case errors.Is(r.Err, kerr.ElectionNotNeeded):
				noop = append(noop, name)
			default:
				failed = append(failed, fmt.Sprintf("Error completing leader election (%s) for partition: %s: %v", kind, name, r.Err))
			}
		}
	}
	if len(succeeded) > 0 {
		fmt.Fprintf(std.out, "Successfully completed leader election (%s) for partitions %s\n", kind, strings.Join(succeeded, ", "))
	}
	if len(noop) > 0 {
		fmt.Fprintf(std.out, "Valid replica already elected for partitions %s\n", strings.Join(noop, ", "))
	}
	for _, line := range failed {
		fmt.Fprintln(std.out, line)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d replica(s) could not be elected", len(failed))
	}
	return nil
}

// partitionsFile reads the {"partitions": [{"topic", "partition"}]} JSON
// that leader-election and delete-records take.
func partitionsFile(path string) (kadm.TopicsSet, error) {
	var in struct {
		Partitions []struct {
			Topic     string `json:"topic"`
			Partition int32  `json:"partition"`
		} `json:"partitions"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	set := kadm.TopicsSet{}
	for _, p := range in.Partitions {
		set.Add(p.Topic, p.Partition)
	}
	return set, nil
}

// logDirsCommand is kafka-log-dirs.sh --describe: every broker's log
// directories and the partitions in them, as Kafka's JSON.
func logDirsCommand(std *stdio, args []string) error {
	f := newFlags("log-dirs", std)
	describe := f.Bool("describe", false, "REQUIRED: describe the log directories")
	topicList := f.String("topic-list", "", "a comma list of topics (default: all)")
	brokerList := f.String("broker-list", "", "a comma list of broker ids (default: all)")
	if err := f.parse(args); err != nil {
		return err
	}
	if !*describe {
		return usagef("--describe is required")
	}
	_, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return err
	}
	brokers := md.Brokers.NodeIDs()
	slices.Sort(brokers)
	if *brokerList != "" {
		ids, err := parseBrokerList(*brokerList)
		if err != nil {
			return err
		}
		var want, missing []int32
		for _, id := range ids {
			if slices.Contains(brokers, id) {
				want = append(want, id)
			} else {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("ERROR: The given brokers do not exist from --broker-list: %s. Current existent brokers: %s", joinIDs(missing), joinIDs(brokers))
		}
		brokers = want
	}
	var topics []string
	if *topicList != "" {
		topics = strings.Split(*topicList, ",")
	}
	fmt.Fprintln(std.out, "Querying brokers for log directories information")
	out := logDirsJSON{Version: 1}
	for _, b := range brokers {
		dirs, err := adm.DescribeBrokerLogDirs(ctx, b, nil)
		if err != nil {
			return err
		}
		out.Brokers = append(out.Brokers, brokerLogDirs(b, dirs, topics))
	}
	fmt.Fprintf(std.out, "Received log directory information from brokers %s\n", joinIDs(brokers))
	js, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Fprintln(std.out, string(js))
	return nil
}

// logDirsJSON is kafka-log-dirs.sh's output, keys in the order it prints
// them.
type logDirsJSON struct {
	Brokers []brokerDirsJSON `json:"brokers"`
	Version int              `json:"version"`
}

type brokerDirsJSON struct {
	Broker  int32        `json:"broker"`
	LogDirs []logDirJSON `json:"logDirs"`
}

type logDirJSON struct {
	Partitions []replicaJSON `json:"partitions"`
	Error      *string       `json:"error"`
	LogDir     string        `json:"logDir"`
}

type replicaJSON struct {
	Partition string `json:"partition"`
	Size      int64  `json:"size"`
	OffsetLag int64  `json:"offsetLag"`
	IsFuture  bool   `json:"isFuture"`
}

func brokerLogDirs(broker int32, dirs kadm.DescribedLogDirs, topics []string) brokerDirsJSON {
	out := brokerDirsJSON{Broker: broker, LogDirs: []logDirJSON{}}
	for _, name := range slices.Sorted(maps.Keys(dirs)) {
		d := dirs[name]
		ld := logDirJSON{LogDir: d.Dir, Partitions: []replicaJSON{}}
		if d.Err != nil {
			msg := d.Err.Error()
			ld.Error = &msg
		}
		for _, p := range d.Topics.Sorted() {
			if len(topics) == 0 || slices.Contains(topics, p.Topic) {
				ld.Partitions = append(ld.Partitions, replicaJSON{fmt.Sprintf("%s-%d", p.Topic, p.Partition), p.Size, p.OffsetLag, p.IsFuture})
			}
		}
		out.LogDirs = append(out.LogDirs, ld)
	}
	return out
}

// deleteRecordsCommand is kafka-delete-records.sh: moves each listed
// partition's log start to the offset given (-1: the high watermark).
func deleteRecordsCommand(std *stdio, args []string) error {
	f := newFlags("delete-records", std)
	path := f.String("offset-json-file", "", `REQUIRED: {"partitions": [{"topic": T, "partition": P, "offset": O}, ...], "version": 1}`)
	if err := f.parse(args); err != nil {
		return err
	}
	if *path == "" {
		return usagef("--offset-json-file is required")
	}
	var in struct {
		Partitions []struct {
			Topic     string `json:"topic"`
			Partition int32  `json:"partition"`
			Offset    int64  `json:"offset"`
		} `json:"partitions"`
	}
	data, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return usagef("%s: %v", *path, err)
	}
	offsets := kadm.Offsets{}
	for _, p := range in.Partitions {
		if _, dup := offsets.Lookup(p.Topic, p.Partition); dup {
			return fmt.Errorf("Offset json file contains duplicate topic partitions: %s-%d", p.Topic, p.Partition)
		}
		offsets.Add(kadm.Offset{Topic: p.Topic, Partition: p.Partition, At: p.Offset})
	}
	_, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintln(std.out, "Executing records delete operation")
	rs, err := adm.DeleteRecords(ctx, offsets)
	// Partitions the client could not route (a missing topic) come back
	// as shard errors; the others still have their answers.
	var shards *kadm.ShardErrors
	if err != nil && !errors.As(err, &shards) {
		return err
	}
	fmt.Fprintln(std.out, "Records delete operation completed:")
	for _, o := range offsets.Sorted() {
		r, ok := rs.Lookup(o.Topic, o.Partition)
		switch {
		case !ok && shards != nil && len(shards.Errs) > 0:
			fmt.Fprintf(std.out, "partition: %s-%d\terror: %s\n", o.Topic, o.Partition, javaException(shards.Errs[0].Err))
		case !ok:
			fmt.Fprintf(std.out, "partition: %s-%d\terror: no answer for this partition\n", o.Topic, o.Partition)
		case r.Err != nil:
			fmt.Fprintf(std.out, "partition: %s-%d\terror: %s\n", o.Topic, o.Partition, javaException(r.Err))
		default:
			fmt.Fprintf(std.out, "partition: %s-%d\tlow_watermark: %d\n", o.Topic, o.Partition, r.LowWatermark)
		}
	}
	return nil
}

// parseBrokerList parses a --broker-list: ids joined by commas.
func parseBrokerList(list string) ([]int32, error) {
	var ids []int32
	for _, s := range strings.Split(list, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return nil, usagef("--broker-list %q: %q is not a broker id", list, s)
		}
		ids = append(ids, int32(id))
	}
	return ids, nil
}

// javaException is an error as Kafka's tools print a Java exception:
// the class Kafka maps the error code to, and its message
// (org.apache.kafka.common.errors.OffsetOutOfRangeException: The requested
// offset is not within ...). An error without a code is its own text.
func javaException(err error) string {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return err.Error()
	}
	name := strings.TrimSuffix(ke.Message, "_FAILED") // TOPIC_AUTHORIZATION_FAILED: TopicAuthorizationException
	if ke == kerr.RequestTimedOut {
		name = "TIMEOUT"
	}
	var class strings.Builder
	for _, word := range strings.Split(strings.ToLower(name), "_") {
		if word != "" {
			class.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return "org.apache.kafka.common.errors." + class.String() + "Exception: " + errorMessage(err)
}
