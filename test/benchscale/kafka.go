package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/kafka"
)

// measureKafkaRecover is -mode kafka-recover: -mode recover's write and
// kill -9 on Apache Kafka, one KRaft node as test/kafka starts it (1 GiB
// heap, as Kafka's start script gives), the anchor the issue compares
// with. Kafka has no /readyz: ready is its Metadata showing every
// partition led, as for gokafka's second figure.
func measureKafkaRecover(ctx context.Context, dir string, topics, partitions int, total int64, timeout time.Duration, extra []string) error {
	c, err := kafka.Start(dir, 1, "1g", extra...)
	if err != nil {
		return err
	}
	defer c.Stop()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds...), kgo.RequestTimeoutOverhead(time.Minute))
	if err != nil {
		return err
	}
	defer cl.Close()
	version, _ := kafka.Version()
	want := topics * partitions
	fmt.Printf("\nbench-scale kafka-recover: Apache Kafka %s, 1 node, %d MiB across %d partitions (%d topics × %d), acks=1\n",
		version, total>>20, want, topics, partitions)
	if err := createTopics(ctx, kadm.NewClient(cl), topics, partitions, 1); err != nil {
		return err
	}
	if err := waitLed(ctx, cl, want, timeout); err != nil {
		return err
	}
	start := time.Now()
	acked, err := write(ctx, c.Seeds, topics, partitions, total)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Printf("  wrote %d records, %d MiB in %.1f s (%.0f MiB/s)\n", acked, total>>20, took.Seconds(), float64(total>>20)/took.Seconds())
	pid, err := c.Pid(1)
	if err != nil {
		return err
	}
	if err := printResources(1, pid); err != nil {
		return err
	}
	restarted, pid, err := killAndRestart(c.Dir, pid)
	if err != nil {
		return err
	}
	if err := waitLed(ctx, cl, want, timeout); err != nil {
		return err
	}
	row("kill -9 restart: Metadata shows all led", time.Since(restarted), 5*time.Second)
	if err := printResources(1, pid); err != nil {
		return err
	}
	end, err := endOffsets(ctx, kadm.NewClient(cl), topics)
	if err != nil {
		return err
	}
	fmt.Printf("  records after recovery: %d of %d acknowledged\n", end, acked)
	return nil
}

// killAndRestart SIGKILLs Kafka's node 1 and execs it again with the
// command line it ran with (kafka.sh start would format the storage
// anew), recording the new pid where kafka.sh stop looks for it.
func killAndRestart(dir string, pid int) (time.Time, int, error) {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return time.Time{}, 0, err
	}
	argv := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
	syscall.Kill(pid, syscall.SIGKILL)
	for syscall.Kill(pid, 0) == nil { // not our child: no wait
		time.Sleep(10 * time.Millisecond)
	}
	node := filepath.Join(dir, "node-1")
	log, err := os.OpenFile(filepath.Join(node, "server.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return time.Time{}, 0, err
	}
	defer log.Close()
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = string(a)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return started, 0, err
	}
	go cmd.Wait()
	err = os.WriteFile(filepath.Join(node, "pid"), []byte(fmt.Sprint(cmd.Process.Pid)), 0o644)
	return started, cmd.Process.Pid, err
}

// waitLed polls node 1's Metadata every 100 ms until it shows want
// partitions of the benchmark's topics, every one led.
func waitLed(ctx context.Context, cl *kgo.Client, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		s, err := observe(ctx, cl, 1)
		if err == nil && s.partitions == want && s.leaderless == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not every partition led after %v (last: %d partitions, %d leaderless, err %v)", timeout, s.partitions, s.leaderless, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
