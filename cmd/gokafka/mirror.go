package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// mirror copies topics from another Kafka cluster (a ZooKeeper-mode Kafka
// being retired, see MIGRATING.md) into this one and carries consumer
// groups' committed offsets across, translated to the copies' offsets.
//
// It is a one-shot cutover copy, not a standing replicator: producers to
// the copied topics are stopped first, mirror reads each partition from
// its log start to the end it had when mirror started, writes every
// committed record to the same partition number with its key, value,
// headers and timestamp, and then commits each group's offsets on the
// target. Offsets differ between the two logs wherever the source has
// gaps (a log start above 0, transaction markers, aborted or compacted
// records), so mirror keeps, per partition, the runs of source offsets
// that landed on consecutive target offsets, and maps a committed offset
// to the target offset of the first copied record at or after it: the
// record the group would have read next.
//
// Flags:
//   --source-bootstrap-server, --source-command-config: the old cluster
//   --bootstrap-server, --command-config: this one
//   --topics REGEX (default every topic but internal ones), --groups REGEX
//   --replication-factor: of the topics it creates (default the broker's)
//   --idle: how long a partition may give nothing before its tail is
//     taken to be transaction markers or aborted records

func mirrorCommand(std *stdio, args []string) error {
	f := newFlags("mirror", std)
	source := f.String("source-bootstrap-server", "", "REQUIRED: the cluster to copy from, host:port[,host:port...]")
	sourceConfig := f.String("source-command-config", "", "client properties for the source cluster (security.protocol, sasl.*, ssl.*)")
	topicsRe := f.String("topics", ".*", "a regular expression: the topics to copy (internal topics never are)")
	groupsRe := f.String("groups", ".*", "a regular expression: the consumer groups whose committed offsets to carry over")
	rf := f.Int("replication-factor", -1, "the replication factor of the topics mirror creates; -1 for the target's default.replication.factor")
	idle := f.Duration("idle", 10*time.Second, "how long a partition short of its end may give nothing before mirror takes the rest for transaction markers or aborted records")
	f.timeout = 30 * time.Minute
	if err := f.parse(args); err != nil {
		return err
	}
	if *source == "" {
		return usagef("--source-bootstrap-server is required")
	}
	topicMatch, err := regexp.Compile("^(?:" + *topicsRe + ")$")
	if err != nil {
		return usagef("--topics: %v", err)
	}
	groupMatch, err := regexp.Compile("^(?:" + *groupsRe + ")$")
	if err != nil {
		return usagef("--groups: %v", err)
	}
	src := &flags{bootstrap: *source, commandConfig: *sourceConfig}
	srcCl, srcAdm, err := src.client()
	if err != nil {
		return err
	}
	defer srcCl.Close()
	dstCl, dstAdm, ctx, done, err := f.open(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	defer done()
	m := &mirror{std: std, srcAdm: srcAdm, dstAdm: dstAdm, dst: dstCl, maps: map[string][]*offsetMap{}}
	topics, err := m.plan(ctx, topicMatch, int16(*rf))
	if err != nil {
		return err
	}
	if err := m.copy(ctx, src, topics, *idle); err != nil {
		return err
	}
	return m.groups(ctx, groupMatch)
}

type mirror struct {
	std            *stdio
	srcAdm, dstAdm *kadm.Client
	dst            *kgo.Client
	mu             sync.Mutex
	maps           map[string][]*offsetMap // topic → partition → offsets
}

// copyRange is what one source partition holds when mirror starts.
type copyRange struct{ start, end int64 }

// plan lists the source topics to copy, creates them on the target with
// the same partitions and the configs set on them, and refuses a target
// topic that already holds records: offsets could not be mapped into it.
func (m *mirror) plan(ctx context.Context, match *regexp.Regexp, rf int16) (map[string][]copyRange, error) {
	details, err := m.srcAdm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the source's topics: %w", err)
	}
	var names []string
	for _, d := range details.Sorted() {
		if !d.IsInternal && match.MatchString(d.Topic) {
			names = append(names, d.Topic)
		}
	}
	if len(names) == 0 {
		return nil, argumentf("no topic of the source matches --topics")
	}
	starts, err := m.srcAdm.ListStartOffsets(ctx, names...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing the source's log start offsets: %w", err)
	}
	ends, err := m.srcAdm.ListEndOffsets(ctx, names...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing the source's end offsets: %w", err)
	}
	existing, err := m.dstAdm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("listing the target's topics: %w", err)
	}
	dstEnds, err := m.dstAdm.ListEndOffsets(ctx, existing.Names()...)
	if err != nil {
		return nil, fmt.Errorf("listing the target's end offsets: %w", err)
	}
	plan := map[string][]copyRange{}
	for _, name := range names {
		parts := details[name].Partitions.Numbers()
		ranges := make([]copyRange, len(parts))
		for _, p := range parts {
			s, _ := starts.Lookup(name, p)
			e, _ := ends.Lookup(name, p)
			ranges[p] = copyRange{s.Offset, e.Offset}
		}
		plan[name] = ranges
		m.maps[name] = make([]*offsetMap, len(parts))
		for p := range parts {
			m.maps[name][p] = &offsetMap{}
		}
		if d, ok := existing[name]; ok && d.Err == nil {
			if len(d.Partitions) != len(parts) {
				return nil, argumentf("topic %s has %d partitions on the target and %d on the source", name, len(d.Partitions), len(parts))
			}
			held := false
			dstEnds.Each(func(o kadm.ListedOffset) { held = held || o.Topic == name && o.Offset > 0 })
			if held {
				return nil, argumentf("topic %s already holds records on the target: mirror copies into new or empty topics (delete it there to copy again)", name)
			}
			continue
		}
		if err := m.create(ctx, name, int32(len(parts)), rf); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// create makes topic on the target with the configs set on the source's.
func (m *mirror) create(ctx context.Context, topic string, partitions int32, rf int16) error {
	configs := map[string]*string{}
	rcs, err := m.srcAdm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return fmt.Errorf("describing %s's configs on the source: %w", topic, err)
	}
	var shown []string
	for _, rc := range rcs {
		for _, c := range rc.Configs {
			if c.Source == 1 && c.Value != nil { // DYNAMIC_TOPIC_CONFIG: set on the topic
				configs[c.Key] = c.Value
				shown = append(shown, c.Key+"="+*c.Value)
			}
		}
	}
	resp, err := m.dstAdm.CreateTopic(ctx, partitions, rf, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("creating %s on the target: %w", topic, err)
	}
	sort.Strings(shown)
	line := fmt.Sprintf("Created topic %s on the target: partitions %d", topic, partitions)
	if len(shown) > 0 {
		line += ", configs " + strings.Join(shown, ",")
	}
	fmt.Fprintln(m.std.out, line)
	return nil
}

// copy reads every planned partition with read_committed and writes each
// record to the same partition of the target, recording where it landed.
func (m *mirror) copy(ctx context.Context, src *flags, plan map[string][]copyRange, idle time.Duration) error {
	assign := map[string]map[int32]kgo.Offset{}
	left := map[string]map[int32]int64{} // partitions still short of their end → the end
	for topic, ranges := range plan {
		for p, r := range ranges {
			if r.end <= r.start {
				continue
			}
			if assign[topic] == nil {
				assign[topic], left[topic] = map[int32]kgo.Offset{}, map[int32]int64{}
			}
			assign[topic][int32(p)] = kgo.NewOffset().At(r.start)
			left[topic][int32(p)] = r.end
		}
	}
	if len(assign) == 0 {
		return nil
	}
	cl, _, err := src.client(kgo.ConsumePartitions(assign), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	defer cl.Close()
	var produceErr error
	copied := map[string]int{}
	read := map[string]map[int32]int64{} // the next offset after the last record read
	for len(left) > 0 {
		pollCtx, cancel := context.WithTimeout(ctx, idle)
		fs := cl.PollFetches(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("copying: %w", ctx.Err())
		}
		if fs.Empty() {
			break // nothing for idle: what remains is not readable as records
		}
		if err := fetchError(fs); err != nil {
			return fmt.Errorf("reading the source: %w", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Topic][r.Partition]
			if !ok || r.Offset >= end {
				return // past the end mirror started at
			}
			copied[r.Topic]++
			if read[r.Topic] == nil {
				read[r.Topic] = map[int32]int64{}
			}
			read[r.Topic][r.Partition] = r.Offset + 1
			m.produce(ctx, r, &produceErr)
			if r.Offset+1 >= end {
				delete(left[r.Topic], r.Partition)
				if len(left[r.Topic]) == 0 {
					delete(left, r.Topic)
				}
			}
		})
	}
	if err := m.dst.Flush(ctx); err != nil {
		return fmt.Errorf("writing to the target: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if produceErr != nil {
		return fmt.Errorf("writing to the target: %w", produceErr)
	}
	for _, topic := range slices.Sorted(maps.Keys(plan)) {
		fmt.Fprintf(m.std.out, "Copied %d records of topic %s\n", copied[topic], topic)
	}
	// A partition short of its end gave nothing for --idle: its tail is
	// transaction markers or aborted records, or the source stopped
	// answering, which mirror cannot tell apart; the operator can.
	for _, topic := range slices.Sorted(maps.Keys(left)) {
		for _, p := range slices.Sorted(maps.Keys(left[topic])) {
			fmt.Fprintf(m.std.err, "Warning: %s-%d: read to offset %d of %d, then nothing for %v; the rest are taken for transaction markers or aborted records\n",
				topic, p, max(read[topic][p], plan[topic][p].start), left[topic][p], idle)
		}
	}
	return nil
}

func fetchError(fs kgo.Fetches) error {
	for _, e := range fs.Errors() {
		if !errors.Is(e.Err, context.DeadlineExceeded) && !errors.Is(e.Err, context.Canceled) {
			return fmt.Errorf("%s[%d]: %w", e.Topic, e.Partition, e.Err)
		}
	}
	return nil
}

// produce writes a copy of r to the same partition and records, once it is
// acknowledged, which target offset its source offset became. The client
// calls promises of one partition in order, so the runs grow in order.
func (m *mirror) produce(ctx context.Context, r *kgo.Record, firstErr *error) {
	out := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value,
		Headers: r.Headers, Timestamp: r.Timestamp}
	srcOffset := r.Offset
	m.dst.Produce(ctx, out, func(w *kgo.Record, err error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if err != nil {
			if *firstErr == nil {
				*firstErr = fmt.Errorf("%s[%d] offset %d: %w", r.Topic, r.Partition, srcOffset, err)
			}
			return
		}
		m.maps[r.Topic][r.Partition].add(srcOffset, w.Offset)
	})
}

// groups carries each matching group's committed offsets over, translated.
func (m *mirror) groups(ctx context.Context, match *regexp.Regexp) error {
	listed, err := m.srcAdm.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("listing the source's groups: %w", err)
	}
	for _, g := range listed.Groups() {
		if !match.MatchString(g) {
			continue
		}
		if err := m.group(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

func (m *mirror) group(ctx context.Context, group string) error {
	described, err := m.srcAdm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describing group %s on the source: %w", group, err)
	}
	if d := described[group]; d.State != "Empty" && d.State != "Dead" && d.State != "" {
		fmt.Fprintf(m.std.err, "Warning: group %s is %s on the source with %d members: offsets it commits from now on are not carried over; stop its consumers before the copy\n",
			group, d.State, len(d.Members))
	}
	fetched, err := m.srcAdm.FetchOffsets(ctx, group)
	if err == nil {
		err = fetched.Error()
	}
	if err != nil {
		return fmt.Errorf("fetching group %s's offsets on the source: %w", group, err)
	}
	m.mu.Lock()
	translated := kadm.Offsets{}
	var shown []string
	fetched.Each(func(o kadm.OffsetResponse) {
		parts, ok := m.maps[o.Topic]
		if !ok || int(o.Partition) >= len(parts) || o.At < 0 {
			return
		}
		at := parts[o.Partition].translate(o.At)
		translated.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: at, LeaderEpoch: -1, Metadata: o.Metadata})
		shown = append(shown, fmt.Sprintf("%s-%d %d->%d", o.Topic, o.Partition, o.At, at))
	})
	m.mu.Unlock()
	if len(shown) == 0 {
		return nil
	}
	committed, err := m.dstAdm.CommitOffsets(ctx, group, translated)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return fmt.Errorf("committing group %s's offsets on the target: %w", group, err)
	}
	sort.Strings(shown)
	fmt.Fprintf(m.std.out, "Committed offsets of group %s: %s\n", group, strings.Join(shown, ", "))
	return nil
}

// offsetMap records where one partition's records landed: runs of source
// offsets copied to consecutive target offsets, in order. A partition
// without gaps is one run however long it is.
type offsetMap struct {
	runs []offsetRun
}

type offsetRun struct{ src, dst, n int64 }

// add records that the record at source offset src is at target offset
// dst; calls come in increasing order of both.
func (o *offsetMap) add(src, dst int64) {
	if k := len(o.runs) - 1; k >= 0 && o.runs[k].src+o.runs[k].n == src && o.runs[k].dst+o.runs[k].n == dst {
		o.runs[k].n++
		return
	}
	o.runs = append(o.runs, offsetRun{src, dst, 1})
}

// translate maps a committed source offset (the next record to read) to
// the target offset of the first copied record at or after it, or the
// target's end when none is.
func (o *offsetMap) translate(committed int64) int64 {
	i := sort.Search(len(o.runs), func(i int) bool { return o.runs[i].src+o.runs[i].n > committed })
	switch {
	case i == len(o.runs) && i == 0:
		return 0
	case i == len(o.runs):
		last := o.runs[i-1]
		return last.dst + last.n
	case committed >= o.runs[i].src:
		return o.runs[i].dst + committed - o.runs[i].src
	}
	return o.runs[i].dst
}
