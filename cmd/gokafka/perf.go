package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// producerPerfTestCommand is kafka-producer-perf-test.sh: it produces
// --num-records records of --record-size bytes, at most --throughput per
// second (-1: as fast as it can), prints a progress line every 5 s and
// Kafka's summary line with latency percentiles.
func producerPerfTestCommand(std *stdio, args []string) error {
	f := newFlags("producer-perf-test", std)
	topic := f.String("topic", "", "REQUIRED: the topic to produce to")
	numRecords := f.Int64("num-records", 0, "REQUIRED: how many records to produce")
	recordSize := f.Int("record-size", 100, "bytes per record")
	throughput := f.Float64("throughput", -1, "REQUIRED: at most this many records/s; -1 for no limit")
	var props listFlag
	f.Var(&props, "producer-props", "producer settings k=v ...: bootstrap.servers, acks, linger.ms, batch.size, compression.type, client.id, enable.idempotence")
	f.Var(&props, "command-property", "Kafka 4's name for --producer-props")
	if err := f.parse(expandMulti(expandMulti(args, "--producer-props"), "--command-property")); err != nil && !isMissingBootstrap(err) {
		return err
	}
	p, err := keyValues(props)
	if err != nil {
		return err
	}
	if bs, ok := p["bootstrap.servers"]; ok && f.bootstrap == "" {
		f.bootstrap = bs
	}
	switch {
	case f.bootstrap == "":
		return usagef("--bootstrap-server (or bootstrap.servers in --producer-props) is required")
	case *topic == "" || *numRecords <= 0:
		return usagef("--topic and a positive --num-records are required")
	case *recordSize <= 0:
		return usagef("--record-size must be positive")
	}
	if _, ok := p["compression.type"]; !ok {
		p["compression.type"] = "none" // Kafka's producer default; kgo's is snappy
	}
	opts, err := producerOptions(p)
	if err != nil {
		return err
	}
	cl, _, _, done, err := f.open(append(opts, clientAutoCreates, kgo.DefaultProduceTopic(*topic))...)
	if err != nil {
		return err
	}
	defer done()
	st := newPerfStats(std, 5*time.Second)
	value := make([]byte, *recordSize) // random capitals, as Kafka's tool sends
	for i := range value {
		value[i] = byte('A' + rand.IntN(26))
	}
	start := time.Now()
	var firstErr error
	var errMu sync.Mutex
	for i := int64(0); i < *numRecords; i++ {
		if *throughput > 0 { // pace: record i is due at start + i/throughput
			if due := start.Add(time.Duration(float64(i) / *throughput * float64(time.Second))); time.Until(due) > 0 {
				time.Sleep(time.Until(due))
			}
		}
		sent := time.Now()
		cl.Produce(context.Background(), &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
				return
			}
			st.record(time.Since(sent), *recordSize)
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		return err
	}
	st.summary()
	return firstErr
}

// expandMulti rewrites "--flag a=1 b=2" (Kafka's several values after one
// flag) into "--flag a=1 --flag b=2".
func expandMulti(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		out = append(out, args[i])
		if args[i] != flag {
			continue
		}
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && strings.Contains(args[i+1], "=") {
			if len(out) > 0 && out[len(out)-1] != flag {
				out = append(out, flag)
			}
			out = append(out, args[i+1])
			i++
		}
	}
	return out
}

func isMissingBootstrap(err error) bool {
	return strings.Contains(err.Error(), "--bootstrap-server is required")
}

// producerOptions maps the Kafka producer settings the tool takes.
func producerOptions(p map[string]string) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	for k, v := range p {
		bad := func() ([]kgo.Opt, error) { return nil, usagef("--producer-props %s=%s: not a valid value", k, v) }
		switch k {
		case "bootstrap.servers":
		case "acks":
			switch v {
			case "all", "-1":
				opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
			case "1":
				opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
			case "0":
				opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
			default:
				return bad()
			}
		case "linger.ms":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return bad()
			}
			opts = append(opts, kgo.ProducerLinger(time.Duration(n)*time.Millisecond))
		case "batch.size":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return bad()
			}
			opts = append(opts, kgo.ProducerBatchMaxBytes(int32(n)))
		case "compression.type":
			codec, ok := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
				"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}[v]
			if !ok {
				return bad()
			}
			opts = append(opts, kgo.ProducerBatchCompression(codec))
		case "client.id":
			opts = append(opts, kgo.ClientID(v))
		case "enable.idempotence":
			if v == "false" {
				opts = append(opts, kgo.DisableIdempotentWrite())
			} else if v != "true" {
				return bad()
			}
		default:
			return nil, usagef("--producer-props %s: not a producer setting this tool knows", k)
		}
	}
	return opts, nil
}

// perfStats gathers latencies as Kafka's ProducerPerformance does and
// prints its lines.
type perfStats struct {
	std      *stdio
	mu       sync.Mutex
	start    time.Time
	window   time.Time
	every    time.Duration
	latency  []time.Duration // all of them, for the percentiles
	winCount int64
	winBytes int64
	winSum   time.Duration
	winMax   time.Duration
	bytes    int64
}

func newPerfStats(std *stdio, every time.Duration) *perfStats {
	now := time.Now()
	return &perfStats{std: std, start: now, window: now, every: every}
}

func (s *perfStats) record(latency time.Duration, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = append(s.latency, latency)
	s.bytes += int64(size)
	s.winCount, s.winBytes, s.winSum = s.winCount+1, s.winBytes+int64(size), s.winSum+latency
	s.winMax = max(s.winMax, latency)
	if time.Since(s.window) >= s.every {
		s.line(s.winCount, s.winBytes, time.Since(s.window), s.winSum, s.winMax, "")
		s.window, s.winCount, s.winBytes, s.winSum, s.winMax = time.Now(), 0, 0, 0, 0
	}
}

// line prints "N records sent, X records/sec (Y MB/sec), Z ms avg latency,
// W ms max latency" and a tail.
// The progress line has one decimal; the summary, as Kafka 4 prints it,
// six for the rate and two for latencies.
func (s *perfStats) line(n, bytes int64, elapsed, sum, maxLat time.Duration, tail string) {
	secs := max(elapsed.Seconds(), 1e-9)
	format := "%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency%s.\n"
	if tail != "" {
		format = "%d records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency%s.\n"
	}
	fmt.Fprintf(s.std.out, format, n, float64(n)/secs, float64(bytes)/secs/(1<<20), ms(sum)/float64(max(n, 1)), ms(maxLat), tail)
}

func (s *perfStats) summary() {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat := slices.Clone(s.latency)
	slices.Sort(lat)
	var sum, maxLat time.Duration
	for _, l := range lat {
		sum += l
		maxLat = max(maxLat, l)
	}
	pct := func(q float64) int64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(q*float64(len(lat)-1))].Milliseconds()
	}
	s.line(int64(len(lat)), s.bytes, time.Since(s.start), sum, maxLat,
		fmt.Sprintf(", %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th", pct(0.5), pct(0.95), pct(0.99), pct(0.999)))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// consumerPerfTestCommand is kafka-consumer-perf-test.sh: it reads
// --messages records of --topic from the start and prints Kafka's header
// and result line.
func consumerPerfTestCommand(std *stdio, args []string) error {
	f := newFlags("consumer-perf-test", std)
	topic := f.String("topic", "", "REQUIRED: the topic to consume")
	messages := f.Int64("messages", 0, "REQUIRED: how many records to read")
	group := f.String("group", "", "consume in this group (default: no group)")
	idle := f.Int("timeout", 10000, "ms without a record after which it gives up")
	if err := f.parse(args); err != nil {
		return err
	}
	if *topic == "" || *messages <= 0 {
		return usagef("--topic and a positive --messages are required")
	}
	opts := []kgo.Opt{kgo.ConsumeTopics(*topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if *group != "" {
		opts = append(opts, kgo.ConsumerGroup(*group))
	}
	cl, _, _, done, err := f.open(append(opts, clientAutoCreates)...)
	if err != nil {
		return err
	}
	defer done()
	start := time.Now()
	var n, bytes int64
	var first time.Time
	for n < *messages {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*idle)*time.Millisecond)
		fs := cl.PollRecords(ctx, int(*messages-n))
		cancel()
		if errs := fs.Errors(); len(errs) > 0 {
			if ctx.Err() != nil {
				return fmt.Errorf("no record for %d ms after %d of %d", *idle, n, *messages)
			}
			return errs[0].Err
		}
		if first.IsZero() && fs.NumRecords() > 0 {
			first = time.Now()
		}
		fs.EachRecord(func(r *kgo.Record) { n, bytes = n+1, bytes+int64(len(r.Value)+len(r.Key)) })
	}
	end := time.Now()
	mb, secs := float64(bytes)/(1<<20), max(end.Sub(start).Seconds(), 1e-9)
	fetchSecs := max(end.Sub(first).Seconds(), 1e-9)
	fmt.Fprintln(std.out, "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
	stamp := func(t time.Time) string { // Kafka's yyyy-MM-dd HH:mm:ss:SSS
		return fmt.Sprintf("%s:%03d", t.Format("2006-01-02 15:04:05"), t.Nanosecond()/1e6)
	}
	fmt.Fprintf(std.out, "%s, %s, %.4f, %.4f, %d, %.4f, %d, %d, %.4f, %.4f\n",
		stamp(start), stamp(end), mb, mb/secs, n, float64(n)/secs,
		first.Sub(start).Milliseconds(), end.Sub(first).Milliseconds(), mb/fetchSecs, float64(n)/fetchSecs)
	return nil
}
