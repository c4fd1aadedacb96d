package main

import (
	"context"
	"fmt"
	"regexp"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/kafka"
)

// The Apache Kafka modes, the anchor the issue compares with, each node
// started by test/kafka with a 1 GiB heap (kafka-server-start.sh's) and
// the JVM options of Kafka's scripts:
//
//   - -mode kafka-cluster: -mode cluster's scenario, measured by the same
//     code (measure), on three KRaft nodes, each broker and controller.
//   - -mode kafka-recover: -mode recover's write and kill -9 on one node.
const kafkaHeap = "1g"

// kafkaEvents are gokafkaEvents as Kafka 4.4 logs them (at INFO, as
// test/kafka runs the broker): BrokerLifecycleManager's heartbeats that
// failed or were answered with an error, ReplicationControlManager's
// fencing on an expired session, Partition's AlterPartition refusals
// and errors, and the KRaft leader resigning for want of fetches from a
// majority (controller.quorum.fetch.timeout.ms).
var kafkaEvents = []event{
	{"failed heartbeats", regexp.MustCompile(`Unable to send (?:a|broker) heartbeat|sent a heartbeat request but received error`)},
	{"brokers fenced", regexp.MustCompile(`Fencing broker (\d+) at epoch \d+ because its session has timed out`)},
	{"ISR changes refused", regexp.MustCompile(`Failed to alter partition to .* since the controller rejected|Failed to update ISR to`)},
	{"Raft leaders stepped down", regexp.MustCompile(`Did not receive fetch request from the majority of the voters`)},
}

// apacheKafka is Kafka's nodes, numbered from 1 as kafka.sh numbers
// them. A node is ready when it answers ApiVersions: Kafka opens its
// client listener only once the broker has caught up with the metadata
// log, loaded its logs and been unfenced (BrokerServer.startup), about
// what gokafka's /readyz says. A Metadata request for all topics would
// add its own latency, seconds on a cold JVM.
type apacheKafka struct{ c *kafka.Cluster }

func (k apacheKafka) name() string {
	v, _ := kafka.Version()
	return "Apache Kafka " + v
}

func (k apacheKafka) ids() []int {
	ids := make([]int, len(k.c.Seeds))
	for i := range ids {
		ids[i] = i + 1
	}
	return ids
}

func (k apacheKafka) running(id int) bool {
	pid, err := k.c.Pid(id)
	return err == nil && syscall.Kill(pid, 0) == nil
}

func (k apacheKafka) pid(id int) (int, error)           { return k.c.Pid(id) }
func (k apacheKafka) kill(id int) error                 { return k.c.Kill(id) }
func (k apacheKafka) restart(id int) (time.Time, error) { return k.c.Restart(id) }
func (k apacheKafka) log(id int) string                 { return k.c.Log(id) }
func (k apacheKafka) events() []event                   { return kafkaEvents }

func (k apacheKafka) ready(ctx context.Context, cl *kgo.Client, id int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		try, cancel := context.WithTimeout(ctx, time.Second)
		_, err := cl.Broker(id).Request(try, kmsg.NewPtrApiVersionsRequest())
		cancel()
		switch {
		case err == nil:
			return nil
		case !k.running(id):
			return fmt.Errorf("kafka node %d exited before ready\n%s", id, k.c.LogTails(20))
		case time.Now().After(deadline):
			return fmt.Errorf("kafka node %d answers no ApiVersions after %v: %w", id, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// measureKafkaCluster is -mode kafka-cluster. Kafka is given gokafka's
// session timeout and heartbeat interval (both Kafka's defaults) and the
// same extra server.properties lines.
func measureKafkaCluster(ctx context.Context, dir string, topics, partitions int, killCtrl bool, timeout time.Duration, extra []string) error {
	c, err := kafka.Start(dir, 3, kafkaHeap, append(sessionProps, extra...)...)
	if err != nil {
		return err
	}
	defer c.Stop()
	fmt.Printf("kafka nodes: %s/node-1..3 (heap %s)\n", c.Dir, kafkaHeap)
	return measure(ctx, apacheKafka{c}, c.Seeds, topics, partitions, killCtrl, timeout)
}

// measureKafkaRecover is -mode kafka-recover. Kafka has no /readyz: ready
// is its Metadata showing every partition led, as for gokafka's second
// figure.
func measureKafkaRecover(ctx context.Context, dir string, topics, partitions int, total int64, timeout time.Duration, extra []string) error {
	c, err := kafka.Start(dir, 1, kafkaHeap, extra...)
	if err != nil {
		return err
	}
	defer c.Stop()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds...), kgo.RequestTimeoutOverhead(time.Minute))
	if err != nil {
		return err
	}
	defer cl.Close()
	sys := apacheKafka{c}
	want := topics * partitions
	fmt.Printf("\nbench-scale kafka-recover: %s, 1 node, %d MiB across %d partitions (%d topics × %d), acks=1\n",
		sys.name(), total>>20, want, topics, partitions)
	if err := createTopics(ctx, kadm.NewClient(cl), topics, partitions, 1); err != nil {
		return err
	}
	led := func(s state) bool { return s.partitions == want && s.leaderless == 0 }
	if err := waitFor(ctx, cl, sys, timeout, "created, every partition led", led); err != nil {
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
	if err := c.Kill(1); err != nil {
		return err
	}
	restarted, err := c.Restart(1)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, cl, sys, timeout, "kill -9 restart", led); err != nil {
		return err
	}
	row("kill -9 restart: Metadata shows all led", time.Since(restarted), 5*time.Second)
	if pid, err = c.Pid(1); err != nil {
		return err
	}
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
