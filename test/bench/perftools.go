package main

import (
	"context"
	"fmt"
	"os/exec"
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
