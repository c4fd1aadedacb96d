package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnSubcommands are kafka-transactions.sh's commands, with the flags
// each accepts after its name.
var txnSubcommands = map[string][]string{
	"list":               nil,
	"describe":           {"transactional-id"},
	"describe-producers": {"broker-id", "topic", "partition"},
	"abort":              {"topic", "partition", "start-offset", "producer-id", "producer-epoch", "coordinator-epoch"},
	"find-hanging":       {"broker-id", "max-transaction-timeout", "topic", "partition"},
}

// txnOptions is the command line of gokafka transactions.
type txnOptions struct {
	sub                             string
	txnID, topic                    string
	brokerID, partition             int
	startOffset, producerID         int64
	producerEpoch, coordinatorEpoch int
	maxTimeoutMin                   int
	set                             map[string]bool
}

// transactionsCommand is kafka-transactions.sh (Kafka's
// TransactionsCommand): list, describe, describe-producers, abort and
// find-hanging, with its flags, its tables and its exit codes. As in
// Kafka, the connection flags come before the command and the command's
// own after it; both orders are accepted. Failures print one line on
// standard error and exit 1.
func transactionsCommand(std *stdio, args []string) error {
	f := newFlags("transactions", std)
	o := &txnOptions{}
	f.StringVar(&o.txnID, "transactional-id", "", "describe: the transactional id")
	f.StringVar(&o.topic, "topic", "", "the topic (describe-producers, abort; find-hanging: limits the search)")
	f.IntVar(&o.partition, "partition", -1, "the partition (describe-producers, abort; find-hanging with --topic)")
	f.IntVar(&o.brokerID, "broker-id", -1, "describe-producers: the replica to ask; find-hanging: the broker to search")
	f.Int64Var(&o.startOffset, "start-offset", -1, "abort: the start offset of the transaction to abort")
	f.Int64Var(&o.producerID, "producer-id", -1, "abort (brokers before 3.0): the producer id")
	f.IntVar(&o.producerEpoch, "producer-epoch", -1, "abort (brokers before 3.0): the producer epoch")
	f.IntVar(&o.coordinatorEpoch, "coordinator-epoch", -1, "abort (brokers before 3.0): the coordinator epoch")
	f.IntVar(&o.maxTimeoutMin, "max-transaction-timeout", 15, "find-hanging: the longest transaction timeout in minutes, to limit the search")
	sub := txnSubcommandAt(args)
	if sub < 0 {
		if slices.Contains(args, "--help") || slices.Contains(args, "-h") {
			return f.parse([]string{"--help"})
		}
		return argumentf("kafka-transactions.sh: error: too few arguments: one of list, describe, describe-producers, abort, find-hanging is required")
	}
	o.sub = args[sub]
	if err := f.parse(append(slices.Clone(args[:sub]), args[sub+1:]...)); err != nil {
		return asArgumentError(err)
	}
	o.set = map[string]bool{}
	f.Visit(func(fl *flag.Flag) { o.set[fl.Name] = true })
	if err := o.check(); err != nil {
		return err
	}
	cl, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	t := &txnTool{o: o, std: std, cl: cl, adm: adm, ctx: ctx}
	switch o.sub {
	case "list":
		return t.list()
	case "describe":
		return t.describe()
	case "describe-producers":
		return t.describeProducers()
	case "abort":
		return t.abort()
	default:
		return t.findHanging()
	}
}

// txnSubcommandAt finds the command among args, skipping flag values.
func txnSubcommandAt(args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if !strings.Contains(a, "=") && a != "--help" && a != "-h" {
				i++ // the flag's value
			}
			continue
		}
		if _, ok := txnSubcommands[a]; ok {
			return i
		}
		return -1
	}
	return -1
}

// check applies Kafka's rules: required flags, flags of other commands
// refused, and the combinations each command allows.
func (o *txnOptions) check() error {
	allowed := append([]string{"bootstrap-server", "command-config", "command-timeout"}, txnSubcommands[o.sub]...)
	for name := range o.set {
		if !slices.Contains(allowed, name) {
			return argumentf("kafka-transactions.sh: error: unrecognized arguments: '--%s'", name)
		}
	}
	required := map[string][]string{"describe": {"transactional-id"}, "describe-producers": {"topic", "partition"}, "abort": {"topic", "partition"}}
	for _, name := range required[o.sub] {
		if !o.set[name] {
			return argumentf("kafka-transactions.sh: error: argument --%s is required", name)
		}
	}
	switch {
	case o.sub == "abort" && !o.set["start-offset"] && !o.set["producer-id"]:
		return argumentf("The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)")
	case o.sub == "abort" && !o.set["start-offset"] && !o.set["producer-epoch"]:
		return argumentf("Missing required argument --producer-epoch")
	case o.sub == "abort" && !o.set["start-offset"] && !o.set["coordinator-epoch"]:
		return argumentf("Missing required argument --coordinator-epoch")
	case o.sub == "find-hanging" && !o.set["topic"] && !o.set["broker-id"]:
		return argumentf("The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search")
	case o.sub == "find-hanging" && o.set["partition"] && !o.set["topic"]:
		return argumentf("The --partition argument requires --topic to be provided")
	}
	return nil
}

// txnTool runs one command against a connected cluster.
type txnTool struct {
	o   *txnOptions
	std *stdio
	cl  *kgo.Client
	adm *kadm.Client
	ctx context.Context
}

// failed is Kafka's printErrorAndExit with a cause.
func failed(what string, err error) error {
	return argumentf("%s: %s. Enable debug logging for additional detail.", what, errorMessage(err))
}

func (t *txnTool) list() error {
	ls, err := t.adm.ListTransactions(t.ctx, nil, nil)
	if err != nil {
		return failed("Failed to list transactions", err)
	}
	sorted := ls.Sorted()
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Coordinator < sorted[j].Coordinator })
	rows := [][]string{{"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}}
	for _, l := range sorted {
		rows = append(rows, []string{l.TxnID, itoa(l.Coordinator), itoa(l.ProducerID), l.State})
	}
	prettyPrintTable(t.std.out, rows)
	return nil
}

func (t *txnTool) describe() error {
	ds, err := t.adm.DescribeTransactions(t.ctx, t.o.txnID)
	var d kadm.DescribedTransaction
	if err == nil {
		var ok bool
		if d, ok = ds[t.o.txnID]; !ok {
			err = kerr.TransactionalIDNotFound
		} else {
			err = d.Err
		}
	}
	if err != nil {
		return failed("Failed to describe transaction state of transactional-id `"+t.o.txnID+"`", err)
	}
	start, duration := "None", "None"
	if d.StartTimestamp >= 0 {
		start, duration = itoa(d.StartTimestamp), itoa(time.Now().UnixMilli()-d.StartTimestamp)
	}
	var parts []string
	for _, tps := range d.Topics.Sorted() {
		for _, p := range tps.Partitions {
			parts = append(parts, fmt.Sprintf("%s-%d", tps.Topic, p))
		}
	}
	prettyPrintTable(t.std.out, [][]string{
		{"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState", "TransactionTimeoutMs",
			"CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"},
		{itoa(d.Coordinator), t.o.txnID, itoa(d.ProducerID), itoa(d.ProducerEpoch), d.State, itoa(d.TimeoutMillis),
			start, duration, strings.Join(parts, ",")},
	})
	return nil
}

func (t *txnTool) describeProducers() error {
	tp := fmt.Sprintf("%s-%d", t.o.topic, t.o.partition)
	ps, err := t.producers(t.o.topic, []int32{int32(t.o.partition)}, t.o.brokerID)
	if err != nil {
		on := "leader"
		if t.o.brokerID >= 0 {
			on = "broker " + strconv.Itoa(t.o.brokerID)
		}
		return failed("Failed to describe producers for partition "+tp+" on "+on, err)
	}
	rows := [][]string{{"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"}}
	for _, p := range ps[int32(t.o.partition)] {
		start := "None"
		if p.CurrentTxnStartOffset >= 0 {
			start = itoa(p.CurrentTxnStartOffset)
		}
		rows = append(rows, []string{itoa(p.ProducerID), itoa(p.ProducerEpoch), itoa(p.CoordinatorEpoch),
			itoa(p.LastSequence), itoa(p.LastTimestamp), start})
	}
	prettyPrintTable(t.std.out, rows)
	return nil
}

// producers describes the active producers of topic's partitions on
// broker, or on each partition's leader when broker is -1, as Kafka's
// Admin.describeProducers does.
func (t *txnTool) producers(topic string, partitions []int32, broker int) (map[int32][]kmsg.DescribeProducersResponseTopicPartitionActiveProducer, error) {
	req := kmsg.NewPtrDescribeProducersRequest()
	rt := kmsg.NewDescribeProducersRequestTopic()
	rt.Topic, rt.Partitions = topic, partitions
	req.Topics = append(req.Topics, rt)
	var shards []kgo.ResponseShard
	if broker >= 0 {
		resp, err := req.RequestWith(t.ctx, t.cl.Broker(broker))
		shards = []kgo.ResponseShard{{Resp: resp, Err: err}}
	} else {
		shards = t.cl.RequestSharded(t.ctx, req)
	}
	out := map[int32][]kmsg.DescribeProducersResponseTopicPartitionActiveProducer{}
	for _, s := range shards {
		if s.Err != nil {
			return nil, s.Err
		}
		for _, rt := range s.Resp.(*kmsg.DescribeProducersResponse).Topics {
			for _, rp := range rt.Partitions {
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
					return nil, err
				}
				out[rp.Partition] = rp.ActiveProducers
			}
		}
	}
	return out, nil
}

func (t *txnTool) abort() error {
	tp := fmt.Sprintf("%s-%d", t.o.topic, t.o.partition)
	m := kadm.TxnMarkers{ProducerID: t.o.producerID, ProducerEpoch: int16(t.o.producerEpoch),
		CoordinatorEpoch: int32(max(t.o.coordinatorEpoch, 0)), // -1 (no commit seen yet) is sent as 0, as Kafka's tool does
		Topics:           kadm.TopicsSet{t.o.topic: {int32(t.o.partition): {}}}}
	if t.o.set["start-offset"] {
		ps, err := t.producers(t.o.topic, []int32{int32(t.o.partition)}, -1)
		if err != nil {
			return failed("Failed to validate producer state for partition "+tp, err)
		}
		i := slices.IndexFunc(ps[int32(t.o.partition)], func(p kmsg.DescribeProducersResponseTopicPartitionActiveProducer) bool {
			return p.CurrentTxnStartOffset == t.o.startOffset
		})
		if i < 0 {
			return argumentf("Could not find any open transactions starting at offset %d on partition %s", t.o.startOffset, tp)
		}
		p := ps[int32(t.o.partition)][i]
		m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch = p.ProducerID, int16(p.ProducerEpoch), max(p.CoordinatorEpoch, 0)
	}
	spec := fmt.Sprintf("AbortTransactionSpec(topicPartition=%s, producerId=%d, producerEpoch=%d, coordinatorEpoch=%d)",
		tp, m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch)
	rs, err := t.adm.WriteTxnMarkers(t.ctx, m)
	if err == nil {
		err = markerError(rs)
	}
	if err != nil {
		return failed("Failed to abort transaction "+spec, err)
	}
	return nil
}

func markerError(rs kadm.TxnMarkersResponses) error {
	var err error
	rs.EachPartition(func(p kadm.TxnMarkersPartitionResponse) {
		if p.Err != nil && err == nil {
			err = p.Err
		}
	})
	return err
}

// findHanging lists open transactions older than --max-transaction-timeout
// whose coordinator no longer counts the partition in them: their markers
// will never come, and the partition's LSO is stuck until an abort.
func (t *txnTool) findHanging() error {
	parts, err := t.searchPartitions()
	if err != nil {
		return err
	}
	type open struct {
		topic     string
		partition int32
		p         kmsg.DescribeProducersResponseTopicPartitionActiveProducer
	}
	var candidates []open
	now := time.Now().UnixMilli()
	maxMs := int64(t.o.maxTimeoutMin) * 60000
	for _, topic := range slices.Sorted(maps.Keys(parts)) {
		ps, err := t.producers(topic, parts[topic], t.o.brokerID)
		if err != nil {
			return failed(fmt.Sprintf("Failed to describe producers for %d partitions on broker %s", len(parts[topic]), optionalInt(t.o.brokerID)), err)
		}
		for _, p := range slices.Sorted(maps.Keys(ps)) {
			for _, ap := range ps[p] {
				if ap.CurrentTxnStartOffset >= 0 && now-ap.LastTimestamp > maxMs {
					candidates = append(candidates, open{topic, p, ap})
				}
			}
		}
	}
	var hanging []open
	if len(candidates) > 0 {
		var ids []int64
		for _, c := range candidates {
			ids = append(ids, c.p.ProducerID)
		}
		ls, err := t.adm.ListTransactions(t.ctx, ids, nil)
		if err != nil {
			return failed(fmt.Sprintf("Failed to list transactions for %d producers", len(ids)), err)
		}
		txnOf := map[int64]string{}
		for _, l := range ls {
			txnOf[l.ProducerID] = l.TxnID
		}
		for _, c := range candidates {
			id, ok := txnOf[c.p.ProducerID]
			if !ok || !t.coordinatorHolds(id, c.topic, c.partition) {
				hanging = append(hanging, c)
			}
		}
	}
	rows := [][]string{{"Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp", "Duration(min)"}}
	for _, h := range hanging {
		rows = append(rows, []string{h.topic, itoa(h.partition), itoa(h.p.ProducerID), itoa(h.p.ProducerEpoch),
			itoa(h.p.CoordinatorEpoch), itoa(h.p.CurrentTxnStartOffset), itoa(h.p.LastTimestamp), itoa((now - h.p.LastTimestamp) / 60000)})
	}
	prettyPrintTable(t.std.out, rows)
	return nil
}

// coordinatorHolds says whether txnID's coordinator still has the
// partition in the transaction (so its marker will come).
func (t *txnTool) coordinatorHolds(txnID, topic string, partition int32) bool {
	ds, err := t.adm.DescribeTransactions(t.ctx, txnID)
	if err != nil {
		return false
	}
	d, ok := ds[txnID]
	if !ok || d.Err != nil {
		return false
	}
	_, held := d.Topics[topic][partition]
	return held
}

// searchPartitions is the partitions find-hanging looks at: --topic's (or
// one), or every partition with a replica on --broker-id.
func (t *txnTool) searchPartitions() (map[string][]int32, error) {
	if t.o.set["partition"] {
		return map[string][]int32{t.o.topic: {int32(t.o.partition)}}, nil
	}
	var topics []string
	if t.o.topic != "" {
		topics = []string{t.o.topic}
	}
	td, err := t.adm.ListTopics(t.ctx, topics...)
	if err == nil {
		err = td.Error()
	}
	if err != nil {
		return nil, failed("Failed to describe topics", err)
	}
	out := map[string][]int32{}
	for _, d := range td {
		for _, p := range d.Partitions.Sorted() {
			if t.o.brokerID < 0 || slices.Contains(p.Replicas, int32(t.o.brokerID)) {
				out[d.Topic] = append(out[d.Topic], p.Partition)
			}
		}
	}
	return out, nil
}

// optionalInt prints a broker id as Java prints an Optional<Integer>.
func optionalInt(id int) string {
	if id < 0 {
		return "Optional.empty"
	}
	return "Optional[" + strconv.Itoa(id) + "]"
}

func itoa[T int16 | int32 | int64 | int](v T) string { return strconv.FormatInt(int64(v), 10) }
