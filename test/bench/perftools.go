package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// runPerfTools runs the operator CLI's producer-perf-test and
// consumer-perf-test against a fresh node, the way an operator measures a
// cluster, and returns their summary lines.
func runPerfTools(ctx context.Context, bin, cli, dir string, records int, recordSize int) ([]string, error) {
	c, err := harness.Start(bin, dir, 1)
	if err != nil {
		return nil, err
	}
	defer c.Stop()
	if err := c.WaitReady(30 * time.Second); err != nil {
		return nil, err
	}
	seeds := strings.Join(c.Seeds(), ",")
	run := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("gokafka %s: %v\n%s", args[0], err, out)
		}
		return string(out), nil
	}
	if _, err := run("topics", "--create", "--topic", "perf", "--partitions", "6", "--replication-factor", "1", "--bootstrap-server", seeds); err != nil {
		return nil, err
	}
	var lines []string
	for _, acks := range []string{"1", "all"} {
		out, err := run("producer-perf-test", "--topic", "perf", "--num-records", strconv.Itoa(records), "--record-size", strconv.Itoa(recordSize),
			"--throughput", "-1", "--producer-props", "bootstrap.servers="+seeds, "acks="+acks, "linger.ms=5")
		if err != nil {
			return nil, err
		}
		ls := strings.Split(strings.TrimSpace(out), "\n")
		lines = append(lines, "producer-perf-test acks="+acks+": "+ls[len(ls)-1])
	}
	out, err := run("consumer-perf-test", "--topic", "perf", "--messages", strconv.Itoa(2*records), "--bootstrap-server", seeds)
	if err != nil {
		return nil, err
	}
	ls := strings.Split(strings.TrimSpace(out), "\n")
	return append(lines, "consumer-perf-test: "+ls[0], "consumer-perf-test: "+ls[len(ls)-1]), nil
}

// summaryLine matches producer-perf-test's last line.
var summaryLine = regexp.MustCompile(`(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), [\d.]+ ms avg latency, ` +
	`[\d.]+ ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th, \d+ ms 99\.9th\.`)

// runWithTool runs the case through gokafka producer-perf-test, as an
// operator measures a cluster: a warm-up run of a fixed size tells the
// rate, then a run sized to last about o.Duration is the measurement.
func (w workload) runWithTool(ctx context.Context, cli string, seeds []string, topic string, o runOpts) (result, error) {
	drop, err := w.freshTopic(ctx, seeds, topic)
	if err != nil {
		return result{}, err
	}
	defer drop()
	acks := "1"
	if w.AllAcks {
		acks = "all"
	}
	perf := func(n int64) (result, error) {
		out, err := exec.CommandContext(ctx, cli, "producer-perf-test", "--topic", topic,
			"--num-records", strconv.FormatInt(n, 10), "--record-size", strconv.Itoa(w.RecordSize), "--throughput", "-1",
			"--producer-props", "bootstrap.servers="+strings.Join(seeds, ","), "acks="+acks,
			"linger.ms="+strconv.FormatInt(o.Linger.Milliseconds(), 10), "compression.type=none").CombinedOutput()
		if err != nil {
			return result{}, fmt.Errorf("producer-perf-test: %v: %s", err, firstLine(errors.New(string(out))))
		}
		m := summaryLine.FindStringSubmatch(string(out))
		if m == nil {
			return result{}, fmt.Errorf("producer-perf-test printed no summary line: %q", out)
		}
		records, _ := strconv.ParseInt(m[1], 10, 64)
		rate, _ := strconv.ParseFloat(m[2], 64)
		p50, _ := strconv.Atoi(m[4])
		p99, _ := strconv.Atoi(m[5])
		return result{Records: records, Bytes: records * int64(w.RecordSize),
			Elapsed: time.Duration(float64(records) / rate * float64(time.Second)),
			P50:     time.Duration(p50) * time.Millisecond, P99: time.Duration(p99) * time.Millisecond}, nil
	}
	warm, err := perf(max(int64(o.Warmup.Seconds()*20000), 20000))
	if err != nil {
		return result{}, err
	}
	return perf(max(int64(warm.RecordsPerSec()*o.Duration.Seconds()), 10000))
}
