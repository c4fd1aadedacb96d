package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// untilReachable runs op again while it fails only because a broker could
// not be dialled, until ctx ends. kgo sends a request meant for any broker
// to one picked at random and gives up when the same dead one comes up
// twice, and it lists a killed broker until the controller fences it; so
// a command that would work through any reachable broker retries, as
// Kafka's admin client retries a call on another node.
func untilReachable(ctx context.Context, op func() error) error {
	for {
		err := op()
		if err == nil || !unreachable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// unreachable says whether err is a failure to dial a broker, or a
// sharded request's failure made only of those.
func unreachable(err error) bool {
	var se *kadm.ShardErrors
	if errors.As(err, &se) {
		for _, e := range se.Errs {
			if !unreachable(e.Err) {
				return false
			}
		}
		return len(se.Errs) > 0
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// quorumCheckAfter is how long a request that needs the controller may go
// unanswered before the command looks at which brokers it can reach.
var quorumCheckAfter = 3 * time.Second

// needsQuorum runs op, which waits on the controller. If op fails, or has
// not answered after quorumCheckAfter, and at least half of the cluster's
// brokers cannot be dialled, the metadata quorum has no majority and op
// would only run into --command-timeout: the command stops and says so,
// naming the brokers it cannot reach.
func needsQuorum(ctx context.Context, adm *kadm.Client, op func(context.Context) error) error {
	opCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- op(opCtx) }()
	tick := time.NewTicker(quorumCheckAfter)
	defer tick.Stop()
	for {
		select {
		case err := <-result:
			// A controller that lost its majority mid-request answers
			// with an error of its own (leadership lost while
			// committing); the missing majority is what to say.
			if err != nil {
				if qerr := quorumLost(ctx, adm); qerr != nil {
					return qerr
				}
			}
			return err
		case <-tick.C:
			if err := quorumLost(ctx, adm); err != nil {
				return err
			}
		}
	}
}

// quorumLost dials every broker of the cluster and returns an error that
// names the unreachable ones when they are at least half of them.
func quorumLost(ctx context.Context, adm *kadm.Client) error {
	mdCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	brokers, err := adm.BrokerMetadata(mdCtx)
	if err != nil || len(brokers.Brokers) == 0 {
		return nil // nothing to judge by; the request's own timeout will tell
	}
	return noMajority(deadBrokers(ctx, brokers.Brokers), len(brokers.Brokers))
}

// noMajority is the error of a quorum that lost its majority: down holds
// at least half of the cluster's n nodes. Fewer down is no error.
func noMajority(down kadm.BrokerDetails, n int) error {
	if 2*len(down) < n {
		return nil
	}
	names := make([]string, len(down))
	for i, b := range down {
		names[i] = fmt.Sprintf("node %d at %s", b.NodeID, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
	}
	return fmt.Errorf("the metadata quorum has no majority: %d of %d nodes are unreachable (%s)", len(down), n, strings.Join(names, ", "))
}

// deadBrokers dials each broker once, at the same time, and returns those
// that refuse or do not answer within a second.
func deadBrokers(ctx context.Context, brokers kadm.BrokerDetails) kadm.BrokerDetails {
	dead := make([]bool, len(brokers))
	var wg sync.WaitGroup
	for i, b := range brokers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: time.Second}
			conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
			if err != nil {
				dead[i] = true
				return
			}
			conn.Close()
		}()
	}
	wg.Wait()
	var out kadm.BrokerDetails
	for i, b := range brokers {
		if dead[i] {
			out = append(out, b)
		}
	}
	return out
}
