package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// groupFigures are the consumer-group measurements of the groups issue.
type groupFigures struct {
	rebalance  time.Duration // first join to every consumer assigned
	commitsSec float64       // synchronous offset commits per second, one client
}

// measureGroups starts a fresh single node, then times how long 10
// franz-go consumers take from their first join until all 30 partitions
// of a topic are assigned, and counts synchronous commits for a while.
func measureGroups(ctx context.Context, bin, dir string, commitFor time.Duration) (groupFigures, error) {
	var f groupFigures
	c, err := harness.Start(bin, dir, 1, "group.initial.rebalance.delay.ms=0")
	if err != nil {
		return f, err
	}
	defer c.Stop()
	if err := c.WaitReady(30 * time.Second); err != nil {
		return f, err
	}
	admCl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...))
	if err != nil {
		return f, err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	if _, err := adm.CreateTopic(ctx, 30, 1, nil, "rebalance"); err != nil {
		return f, err
	}
	var mu sync.Mutex
	owned := map[int]int{}
	start := time.Now()
	for i := range 10 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.ConsumerGroup("bench-group"), kgo.ConsumeTopics("rebalance"),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				mu.Lock()
				owned[i] += len(m["rebalance"])
				mu.Unlock()
			}),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				mu.Lock()
				owned[i] -= len(m["rebalance"])
				mu.Unlock()
			}))
		if err != nil {
			return f, err
		}
		defer cl.Close()
		go func() {
			for !cl.PollFetches(ctx).IsClientClosed() && ctx.Err() == nil {
			}
		}()
	}
	for {
		mu.Lock()
		total, all := 0, len(owned) == 10
		for _, n := range owned {
			total += n
			all = all && n > 0
		}
		mu.Unlock()
		if all && total == 30 {
			f.rebalance = time.Since(start)
			break
		}
		if time.Since(start) > 60*time.Second {
			return f, fmt.Errorf("10 consumers not all assigned after 60s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var offsets kadm.Offsets
	offsets.Add(kadm.Offset{Topic: "rebalance", Partition: 0, At: 1, LeaderEpoch: -1})
	n, t0 := 0, time.Now()
	for time.Since(t0) < commitFor {
		offsets.Add(kadm.Offset{Topic: "rebalance", Partition: 0, At: int64(n), LeaderEpoch: -1})
		r, err := adm.CommitOffsets(ctx, "bench-commits", offsets)
		if err == nil {
			err = r.Error()
		}
		if err != nil {
			return f, err
		}
		n++
	}
	f.commitsSec = float64(n) / time.Since(t0).Seconds()
	return f, nil
}
