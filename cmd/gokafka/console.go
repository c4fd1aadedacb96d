package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consoleProducerCommand is kafka-console-producer.sh: one record per line
// of stdin, acks=all, with a key before key.separator if parse.key=true.
func consoleProducerCommand(std *stdio, args []string) error {
	f := newFlags("console-producer", std)
	topic := f.String("topic", "", "REQUIRED: the topic to produce to")
	var props listFlag
	f.Var(&props, "property", "parse.key=true, key.separator=<sep> (repeatable)")
	f.Var(&props, "reader-property", "Kafka 4's name for --property")
	f.StringVar(&f.bootstrap, "broker-list", "", "the older name of --bootstrap-server")
	var clientProps listFlag
	f.Var(&clientProps, "producer-property", "a producer config key=value: client.id, acks (repeatable)")
	if err := f.parse(args); err != nil {
		return err
	}
	popts, err := clientOptions(std, clientProps)
	if err != nil {
		return err
	}
	if *topic == "" {
		return usagef("--topic is required")
	}
	p, err := keyValues(props)
	if err != nil {
		return err
	}
	parseKey, sep := p["parse.key"] == "true", cmp.Or(p["key.separator"], "\t")
	cl, _, ctx, done, err := f.open(append(popts, kgo.DefaultProduceTopic(*topic))...)
	if err != nil {
		return err
	}
	defer done()
	var first error
	s := bufio.NewScanner(std.in)
	s.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; s.Scan(); line++ {
		r := &kgo.Record{Value: []byte(s.Text())}
		if parseKey {
			k, v, ok := strings.Cut(s.Text(), sep)
			if !ok {
				return fmt.Errorf("line %d: no key separator %q", line, sep)
			}
			r.Key, r.Value = []byte(k), []byte(v)
		}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil && first == nil {
				first = err
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if err := s.Err(); err != nil {
		return err
	}
	return first
}

// consoleConsumerCommand is kafka-console-consumer.sh.
func consoleConsumerCommand(std *stdio, args []string) error {
	f := newFlags("console-consumer", std)
	topic := f.String("topic", "", "REQUIRED: the topic to consume")
	group := f.String("group", "", "consume in this consumer group (committing offsets)")
	fromBeginning := f.Bool("from-beginning", false, "start at the log start when there is no committed offset")
	maxMessages := f.Int("max-messages", 0, "exit after this many records")
	partition := f.Int("partition", -1, "consume only this partition")
	offset := f.String("offset", "latest", "with --partition: earliest, latest or an offset")
	timeoutMs := f.Int("timeout-ms", 0, "exit when no record arrives for this long")
	var props listFlag
	f.Var(&props, "property", "print.key, print.partition, print.offset, print.timestamp (true/false), key.separator (repeatable)")
	f.Var(&props, "formatter-property", "Kafka 4's name for --property")
	var clientProps listFlag
	f.Var(&clientProps, "consumer-property", "a consumer config key=value: client.id, allow.auto.create.topics (repeatable)")
	if err := f.parse(args); err != nil {
		return err
	}
	copts, err := clientOptions(std, clientProps)
	if err != nil {
		return err
	}
	if *topic == "" {
		return usagef("--topic is required")
	}
	p, err := keyValues(props)
	if err != nil {
		return err
	}
	start := kgo.NewOffset().AtEnd()
	if *fromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	// Kafka's console consumer names itself so unless client.id says
	// otherwise (--consumer-property comes later and wins).
	opts := []kgo.Opt{kgo.ConsumeResetOffset(start), kgo.ClientID("console-consumer")}
	switch {
	case *partition >= 0:
		at, err := startOffset(*offset)
		if err != nil {
			return err
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{*topic: {int32(*partition): at}}))
	case *group != "":
		opts = append(opts, kgo.ConsumeTopics(*topic), kgo.ConsumerGroup(*group))
	default:
		opts = append(opts, kgo.ConsumeTopics(*topic))
	}
	cl, _, ctx, done, err := f.open(append(opts, copts...)...)
	if err != nil {
		return err
	}
	defer done()
	// Stopped by SIGTERM or ^C, Kafka's consumer still reports its count
	// and commits what it printed; so do we.
	stop, unnotify := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer unnotify()
	n, err := consume(stop, std, cl, p, *maxMessages, time.Duration(*timeoutMs)*time.Millisecond)
	fmt.Fprintf(std.err, "Processed a total of %d messages\n", n)
	if *group != "" {
		if cerr := cl.CommitUncommittedOffsets(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

func startOffset(s string) (kgo.Offset, error) {
	switch s {
	case "earliest":
		return kgo.NewOffset().AtStart(), nil
	case "latest":
		return kgo.NewOffset().AtEnd(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return kgo.Offset{}, usagef("--offset %q: want earliest, latest or a non-negative offset", s)
	}
	return kgo.NewOffset().At(n), nil
}

// consume prints records until max (0: no limit) or idle without one.
// Like Kafka's consumer it rides out brokers it cannot reach, a
// coordinator that moves and leaders being elected: such errors are
// reported once each on stderr and polling goes on; any other ends it.
func consume(stop context.Context, std *stdio, cl *kgo.Client, props map[string]string, max int, idle time.Duration) (int, error) {
	sep := cmp.Or(props["key.separator"], "\t")
	n := 0
	last := time.Now() // of the last record, for idle
	warned := ""
	for max == 0 || n < max {
		ctx, cancel := stop, context.CancelFunc(func() {})
		if idle > 0 {
			ctx, cancel = context.WithDeadline(ctx, last.Add(idle))
		}
		fs := cl.PollRecords(ctx, max-n)
		cancel()
		if stop.Err() != nil {
			return n, nil
		}
		for _, e := range fs.Errors() {
			switch {
			case errors.Is(e.Err, context.DeadlineExceeded):
				return n, nil
			case !retriable(e.Err):
				return n, fmt.Errorf("%s[%d]: %w", e.Topic, e.Partition, e.Err)
			case e.Err.Error() != warned:
				warned = e.Err.Error()
				fmt.Fprintf(std.err, "WARN %s (retrying)\n", warned)
			}
		}
		if len(fs.Errors()) > 0 {
			time.Sleep(250 * time.Millisecond) // kgo backs off per request, not between polls that return its errors
		}
		if len(fs.Records()) > 0 {
			last, warned = time.Now(), ""
		}
		for _, r := range fs.Records() {
			var b strings.Builder
			if props["print.timestamp"] == "true" {
				fmt.Fprintf(&b, "CreateTime:%d%s", r.Timestamp.UnixMilli(), sep)
			}
			if props["print.partition"] == "true" {
				fmt.Fprintf(&b, "Partition:%d%s", r.Partition, sep)
			}
			if props["print.offset"] == "true" {
				fmt.Fprintf(&b, "Offset:%d%s", r.Offset, sep)
			}
			if props["print.key"] == "true" {
				key := "null"
				if r.Key != nil {
					key = string(r.Key)
				}
				b.WriteString(key + sep)
			}
			b.Write(r.Value)
			fmt.Fprintln(std.out, b.String())
			n++
			if max > 0 && n >= max {
				break
			}
		}
	}
	return n, nil
}

// retriable says whether a consumer's error is one Kafka's consumer
// retries: a broker it cannot reach or that dropped the connection, or an
// error code Kafka marks retriable.
func retriable(err error) bool {
	return unreachable(err) || kgo.IsRetryableBrokerErr(err) || kerr.IsRetriable(err)
}

// clientOptions maps --producer-property and --consumer-property entries
// onto the client, after the tools' own allow.auto.create.topics=true
// (Java's producer and consumer ask for auto-creation). Keys it does not know are warned about and ignored, as
// Kafka's clients log a config that was supplied but is not known.
func clientOptions(std *stdio, entries []string) ([]kgo.Opt, error) {
	kv, err := keyValues(append([]string{"allow.auto.create.topics=true"}, entries...))
	if err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	for k, v := range kv {
		switch k {
		case "client.id":
			opts = append(opts, kgo.ClientID(v))
		case "acks":
			more, err := producerOptions(map[string]string{k: v}) // perf.go's reading of acks
			if err != nil {
				return nil, err
			}
			opts = append(opts, more...)
		case "allow.auto.create.topics":
			if v == "true" {
				opts = append(opts, clientAutoCreates)
			}
		default:
			fmt.Fprintf(std.err, "WARN The configuration '%s' was supplied but isn't a known config.\n", k)
		}
	}
	return opts, nil
}
