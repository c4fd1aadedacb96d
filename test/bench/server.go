package main

import (
	"context"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// startupSample is one cold start: exec to ready, and RSS after idling.
type startupSample struct {
	ready time.Duration
	rss   int64
}

// measureStartup starts a fresh single node, times exec → /readyz 200, lets
// it idle, reads its RSS and stops it.
func measureStartup(ctx context.Context, bin, dir string, idle time.Duration) (startupSample, error) {
	c, err := harness.Start(bin, dir, 1)
	if err != nil {
		return startupSample{}, err
	}
	defer c.Stop()
	if err := c.WaitReady(30 * time.Second); err != nil {
		return startupSample{}, err
	}
	s := startupSample{ready: time.Since(c.Nodes[0].Started)}
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return s, ctx.Err()
	}
	s.rss, err = harness.RSS(c.Nodes[0].Pid())
	return s, err
}
