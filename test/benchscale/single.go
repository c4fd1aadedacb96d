package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// The one-node modes of issue 16:
//
//   - -mode single: -topics × -partitions partitions RF 1 on one node
//     (100,000 as 10,000 × 10); create time, Metadata latency for all
//     topics, RSS and descriptors, then a clean restart (SIGTERM) and a
//     kill -9 restart, each to ready (target ≤ 30 s).
//   - -mode recover: -bytes across -topics × -partitions partitions on one
//     node (10 GB over 1,000), written with acks=1 in large batches, then
//     kill -9 at once and restart to ready (target ≤ 5 s), checking that
//     every acknowledged record came back. Run it under nice -n 10: the
//     writer is this process.
//
// "Ready" is /readyz answering 200: the node is in the quorum, registered,
// listening, and every partition it holds has a leader.

// singleNode starts one node that is broker and controller, and a client.
func singleNode(bin, dir string, extra []string) (*harness.Cluster, *kgo.Client, error) {
	c, err := harness.Start(bin, dir, 1, extra...)
	if err != nil {
		return nil, nil, err
	}
	if err := c.WaitReady(time.Minute); err != nil {
		c.Stop()
		return nil, nil, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.RequestTimeoutOverhead(time.Minute))
	if err != nil {
		c.Stop()
		return nil, nil, err
	}
	fmt.Printf("node %d: %s (HTTP %s)\n", c.Nodes[0].ID, c.Nodes[0].Dir, c.Nodes[0].HTTPAddr)
	return c, cl, nil
}

func measureSingle(ctx context.Context, bin, dir string, topics, partitions int, timeout time.Duration, extra []string) error {
	c, cl, err := singleNode(bin, dir, extra)
	if err != nil {
		return err
	}
	defer c.Stop()
	defer cl.Close()
	n, want := c.Nodes[0], topics*partitions
	fmt.Printf("\nbench-scale single: 1 node, %d partitions RF 1 (%d topics × %d)\n", want, topics, partitions)
	start := time.Now()
	if err := createTopics(ctx, kadm.NewClient(cl), topics, partitions, 1); err != nil {
		return err
	}
	row("CreateTopics answered", time.Since(start), 0)
	led := func(s state) bool { return s.partitions == want && s.leaderless == 0 }
	if err := waitFor(ctx, cl, gokafka{c}, timeout, "created, every partition led", led); err != nil {
		return err
	}
	row("created, every partition led", time.Since(start), 0)
	if err := report(ctx, cl, n.ID, n.Pid()); err != nil {
		return err
	}

	stopping := time.Now()
	what := "clean restart"
	if !stop(n, timeout) {
		fmt.Printf("  SIGTERM: no clean exit within %v, killed: the restart below is not a clean one\n", timeout)
		what = "restart after the failed shutdown"
	}
	row("shutdown (SIGTERM → exit)", time.Since(stopping), 0)
	if err := restart(ctx, cl, c, n, want, timeout, what, 30*time.Second); err != nil {
		return err
	}
	n.Kill()
	return restart(ctx, cl, c, n, want, timeout, "kill -9 restart", 30*time.Second)
}

// stop sends SIGTERM and waits up to timeout for a clean exit, then
// SIGKILLs; the harness's Stop kills after 20 s, which a node closing
// 100,000 logs needs more than.
func stop(n *harness.Node, timeout time.Duration) (clean bool) {
	syscall.Kill(n.Pid(), syscall.SIGTERM)
	select {
	case <-n.Exited():
		return n.ExitCode() == 0
	case <-time.After(timeout):
		n.Kill()
		return false
	}
}

// restart execs n again and prints the time to ready, the time until its
// Metadata shows every partition led, then what it holds.
func restart(ctx context.Context, cl *kgo.Client, c *harness.Cluster, n *harness.Node, want int, timeout time.Duration, what string, target time.Duration) error {
	if err := n.Start(); err != nil {
		return err
	}
	if err := n.WaitReady(timeout); err != nil {
		return err
	}
	row(what+": ready (/readyz)", time.Since(n.Started), target)
	led := func(s state) bool { return s.partitions == want && s.leaderless == 0 }
	if err := waitFor(ctx, cl, gokafka{c}, timeout, what, led); err != nil {
		return err
	}
	row(what+": Metadata shows all led", time.Since(n.Started), 0)
	return report(ctx, cl, n.ID, n.Pid())
}

// report prints the RSS and descriptors of node id, process pid, and the
// latency of a Metadata request for all topics sent to it (the best and
// worst of five).
func report(ctx context.Context, cl *kgo.Client, id, pid int) error {
	if err := printResources(id, pid); err != nil {
		return err
	}
	var took []time.Duration
	var topics int
	for range 5 {
		start := time.Now()
		resp, err := cl.Broker(id).Request(ctx, kmsg.NewPtrMetadataRequest())
		if err != nil {
			return err
		}
		took, topics = append(took, time.Since(start)), len(resp.(*kmsg.MetadataResponse).Topics)
	}
	slices.Sort(took)
	fmt.Printf("  Metadata for all %d topics: %.0f ms best, %.0f ms median, %.0f ms worst of 5\n",
		topics, ms(took[0]), ms(took[2]), ms(took[4]))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func measureRecover(ctx context.Context, bin, dir string, topics, partitions int, total int64, timeout time.Duration, extra []string) error {
	c, cl, err := singleNode(bin, dir, extra)
	if err != nil {
		return err
	}
	defer c.Stop()
	defer cl.Close()
	n, want := c.Nodes[0], topics*partitions
	fmt.Printf("\nbench-scale recover: 1 node, %d MiB across %d partitions (%d topics × %d), acks=1\n",
		total>>20, want, topics, partitions)
	if err := createTopics(ctx, kadm.NewClient(cl), topics, partitions, 1); err != nil {
		return err
	}
	led := func(s state) bool { return s.partitions == want && s.leaderless == 0 }
	if err := waitFor(ctx, cl, gokafka{c}, timeout, "created, every partition led", led); err != nil {
		return err
	}
	start := time.Now()
	acked, err := write(ctx, c.Seeds(), topics, partitions, total)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Printf("  wrote %d records, %d MiB in %.1f s (%.0f MiB/s)\n", acked, total>>20, took.Seconds(), float64(total>>20)/took.Seconds())
	onDisk, err := diskUsage(n.DataDir())
	if err != nil {
		return err
	}
	fmt.Printf("  log.dirs holds %d MiB\n", onDisk>>20)
	if err := printResources(n.ID, n.Pid()); err != nil {
		return err
	}
	n.Kill()
	if err := restart(ctx, cl, c, n, want, timeout, "kill -9 restart", 5*time.Second); err != nil {
		return err
	}
	end, err := endOffsets(ctx, kadm.NewClient(cl), topics)
	if err != nil {
		return err
	}
	mark := ""
	if end < acked {
		mark = fmt.Sprintf("   MISSED: %d acknowledged records lost", acked-end)
	}
	fmt.Printf("  records after recovery: %d of %d acknowledged%s\n", end, acked, mark)
	return nil
}

// recordSize makes large batches: 16 records fill one of franz-go's 1 MB
// batches.
const recordSize = 60 << 10

// write produces total bytes spread evenly over the partitions with
// acks=1, and returns how many records were acknowledged. The values are
// random and sent uncompressed, so that the logs hold total bytes (kgo
// compresses by default, and a repeated text shrinks twentyfold).
func write(ctx context.Context, seeds []string, topics, partitions int, total int64) (int64, error) {
	p, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(1_000_000), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedBytes(256<<20), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return 0, err
	}
	defer p.Close()
	value := make([]byte, recordSize)
	rand.Read(value)
	var acked atomic.Int64
	var failed atomic.Value
	records := total / recordSize
	for i := range records {
		r := &kgo.Record{
			Topic:     fmt.Sprintf("scale-%05d", int(i)%topics),
			Partition: int32(int(i) / topics % partitions),
			Value:     value,
		}
		p.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, err)
				return
			}
			acked.Add(1)
		})
	}
	if err := p.Flush(ctx); err != nil {
		return 0, err
	}
	if err, _ := failed.Load().(error); err != nil {
		return 0, fmt.Errorf("producing: %w", err)
	}
	return acked.Load(), nil
}

// endOffsets sums the end offsets of every partition of the benchmark's
// topics: with one record a batch slot, the records the log holds.
func endOffsets(ctx context.Context, adm *kadm.Client, topics int) (int64, error) {
	var names []string
	for i := range topics {
		names = append(names, fmt.Sprintf("scale-%05d", i))
	}
	offs, err := adm.ListEndOffsets(ctx, names...)
	if err != nil {
		return 0, err
	}
	if err := offs.Error(); err != nil {
		return 0, err
	}
	var sum int64
	offs.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	return sum, nil
}

// diskUsage sums the sizes of the files under dir.
func diskUsage(dir string) (int64, error) {
	var sum int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			sum += info.Size()
		}
		return err
	})
	return sum, err
}

// printResources prints what node id, process pid, holds of the
// machine, from /proc.
func printResources(id, pid int) error {
	rss, err := harness.RSS(pid)
	if err != nil {
		return err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return err
	}
	fmt.Printf("  node %d: RSS %d MiB, %d open descriptors\n", id, rss>>20, len(fds))
	return nil
}
