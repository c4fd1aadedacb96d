package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
	"github.com/gokafka/gokafka/test/kafka"
)

// startupSample is one cold start of a single fresh node, timed from the
// exec of its process: to the first Metadata answer, to the first record
// acknowledged, and its RSS after idling.
type startupSample struct {
	metadata, ready time.Duration
	rss             int64
}

// launched is a single node just exec'd, of either server: its address at
// once; its pid and exec time once process says (after it listens).
// failed blocks until the node or its launcher dies, and says why; after
// stop it returns nil or the stop's own error, which nobody reads.
type launched struct {
	seed    string
	process func() (pid int, started time.Time, err error)
	failed  func() error
	stop    func()
}

// launchGokafka execs one gokafka-server node.
func launchGokafka(bin string) func(dir string) (launched, error) {
	return func(dir string) (launched, error) {
		c, err := harness.Start(bin, dir, 1)
		if err != nil {
			return launched{}, err
		}
		n := c.Nodes[0]
		return launched{
			seed:    n.KafkaAddr,
			process: func() (int, time.Time, error) { return n.Pid(), n.Started, nil },
			failed: func() error {
				<-n.Exited()
				return fmt.Errorf("gokafka-server exited: %s", n.Tail(20))
			},
			stop: func() { c.Stop() },
		}, nil
	}
}

// launchKafka starts one Apache Kafka node (kafka.sh formats its storage
// first; the time counts from the exec of the broker's JVM).
func launchKafka(heap string) func(dir string) (launched, error) {
	return func(dir string) (launched, error) {
		c, err := kafka.Launch(dir, 1, heap)
		if err != nil {
			return launched{}, err
		}
		// kafka.sh start returns once the node listens, or fails when it
		// exits first; only this goroutine waits for it.
		var waitErr error
		waited := make(chan struct{})
		go func() { waitErr = c.Wait(); close(waited) }()
		return launched{
			seed: c.Seeds[0],
			failed: func() error {
				<-waited
				return waitErr
			},
			process: func() (int, time.Time, error) {
				if <-waited; waitErr != nil {
					return 0, time.Time{}, waitErr
				}
				pid, err := c.Pid(1)
				if err != nil {
					return 0, time.Time{}, err
				}
				started, err := c.Started(1)
				return pid, started, err
			},
			stop: func() { <-waited; c.Stop() },
		}, nil
	}
}

// measureStartup launches a fresh node, probes it as a client would until
// a record is acknowledged, lets it idle, reads its RSS and stops it. The
// same probe times both servers.
func measureStartup(ctx context.Context, launch func(dir string) (launched, error), dir string, idle time.Duration) (startupSample, error) {
	var s startupSample
	l, err := launch(dir)
	if err != nil {
		return s, err
	}
	defer l.stop()
	tctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()
	pctx, cancel := context.WithCancelCause(tctx)
	defer cancel(nil)
	go func() {
		if err := l.failed(); err != nil {
			cancel(err)
		}
	}()
	metaAt, ackAt, err := probe(pctx, l.seed, 1)
	if cause := context.Cause(pctx); err != nil && cause != nil && cause != context.Cause(tctx) {
		err = fmt.Errorf("%w; %w", err, cause)
	}
	if err != nil {
		return s, err
	}
	pid, started, err := l.process()
	if err != nil {
		return s, err
	}
	s.metadata, s.ready = metaAt.Sub(started), ackAt.Sub(started)
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return s, ctx.Err()
	}
	s.rss, err = harness.RSS(pid)
	return s, err
}

// probe waits for seed to listen, then for a Metadata answer naming
// brokers brokers (the client's ApiVersions comes first), then creates a topic and
// produces one record with acks=all. It returns when the Metadata answer
// and the acknowledgement arrived. Retries are 10 ms apart, on both
// servers alike, so that the client's back-off does not blur the figure.
func probe(ctx context.Context, seed string, brokers int) (metaAt, ackAt time.Time, err error) {
	retry := func(what string, try func() error) error {
		for {
			err := try()
			if err == nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), err)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	err = retry("listening", func() error {
		conn, err := net.DialTimeout("tcp", seed, time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
	if err != nil {
		return
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seed), kgo.DefaultProduceTopic("ready"),
		kgo.MetadataMinAge(10*time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))
	if err != nil {
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	err = retry("metadata", func() error {
		m, err := adm.BrokerMetadata(ctx)
		if err == nil && len(m.Brokers) < brokers {
			err = fmt.Errorf("%d of %d brokers in metadata", len(m.Brokers), brokers)
		}
		return err
	})
	if err != nil {
		return
	}
	metaAt = time.Now()
	err = retry("create topic", func() error {
		r, err := adm.CreateTopic(ctx, 1, 1, nil, "ready")
		if err == nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			err = r.Err
		}
		return err
	})
	if err == nil {
		err = retry("produce", func() error { return cl.ProduceSync(ctx, kgo.StringRecord("ready")).FirstErr() })
	}
	return metaAt, time.Now(), err
}

// namedLaunch is a server to time the start of.
type namedLaunch struct {
	name   string
	launch func(dir string) (launched, error)
}

// startupFigures are one server's cold starts.
type startupFigures struct {
	name    string
	samples []startupSample
}

// measureStartups times starts cold starts of each server, taking turns
// (and rotating who goes first) so that the machine's load falls on all.
func measureStartups(ctx context.Context, launches []namedLaunch, dir string, starts int, idle time.Duration) ([]startupFigures, error) {
	figs := make([]startupFigures, len(launches))
	for i := range starts {
		for j := range launches {
			k := (i + j) % len(launches)
			l := launches[k]
			s, err := measureStartup(ctx, l.launch, fmt.Sprintf("%s/start-%s-%d", dir, l.name, i), idle)
			if err != nil {
				return nil, fmt.Errorf("%s, start %d: %w", l.name, i+1, err)
			}
			figs[k].name = l.name
			figs[k].samples = append(figs[k].samples, s)
		}
	}
	return figs, nil
}
