// Package eos tests exactly-once delivery end to end: stock clients run
// consume-transform-produce and transactional workloads against a real
// cluster while brokers are SIGKILLed, and a read_committed reader checks
// that every input appears exactly once. The workload is plain Go over a
// list of seed brokers, so test/kafka runs the same workload against
// Apache Kafka as the reference.
package eos

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ETL is a consume-transform-produce job: Workers franz-go
// GroupTransactSessions read In, write "out-<value>" to Out and commit
// their input offsets in the same transaction.
type ETL struct {
	Seeds   []string
	In, Out string
	Group   string
	Workers int
}

// Run runs the workers until ctx ends.
func (e *ETL) Run(ctx context.Context, t testing.TB) {
	var wg sync.WaitGroup
	for i := 0; i < e.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := e.work(ctx, fmt.Sprintf("%s-%d", e.Group, i)); err != nil && ctx.Err() == nil {
					t.Logf("worker %d restarts its session: %v", i, err)
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
}

// work runs one session until it fails the way an application would treat
// as fatal (then the caller makes a new one, as a restarted process does).
func (e *ETL) work(ctx context.Context, txnID string) error {
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(e.Seeds...),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(10*time.Second),
		kgo.ConsumerGroup(e.Group),
		kgo.ConsumeTopics(e.In),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.SessionTimeout(6*time.Second),
		kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.RetryTimeout(30*time.Second),
	)
	if err != nil {
		return err
	}
	defer sess.Close()
	for ctx.Err() == nil {
		fetches := sess.PollFetches(ctx)
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(_ string, _ int32, err error) {}) // fetch errors are retried by the client
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		var produceErr error
		var pmu sync.Mutex
		fetches.EachRecord(func(r *kgo.Record) {
			out := &kgo.Record{Topic: e.Out, Key: r.Key, Value: append([]byte("out-"), r.Value...)}
			sess.Produce(ctx, out, func(_ *kgo.Record, err error) {
				if err != nil {
					pmu.Lock()
					produceErr = err
					pmu.Unlock()
				}
			})
		})
		if _, err := sess.End(ctx, kgo.TryCommit); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("end (produce error %v): %w", produceErr, err)
		}
	}
	return nil
}

// ProduceInputs writes "in-0" .. "in-(n-1)" to topic with an idempotent
// acks=all producer, keyed so that they spread over the partitions.
func ProduceInputs(ctx context.Context, seeds []string, topic string, from, to int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic), kgo.RecordDeliveryTimeout(60*time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	var rs []*kgo.Record
	for i := from; i < to; i++ {
		rs = append(rs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte("in-" + strconv.Itoa(i))})
	}
	return cl.ProduceSync(ctx, rs...).FirstErr()
}

// ReadCommitted reads topic from the start with read_committed until it
// has want values, then for linger more so that extras past want (such as
// duplicates) are seen too, and returns the values.
func ReadCommitted(ctx context.Context, seeds []string, topic string, want int, linger time.Duration) ([]string, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var vals []string
	for len(vals) < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return vals, err
		}
		fs.EachRecord(func(r *kgo.Record) { vals = append(vals, string(r.Value)) })
	}
	lctx, cancel := context.WithTimeout(ctx, linger)
	defer cancel()
	for lctx.Err() == nil {
		cl.PollFetches(lctx).EachRecord(func(r *kgo.Record) { vals = append(vals, string(r.Value)) })
	}
	return vals, nil
}

// CheckExactlyOnce says which of "out-in-0" .. "out-in-(n-1)" are missing or
// appear more than once in got, and what got holds that is not one of them.
func CheckExactlyOnce(got []string, n int) error {
	seen := map[string]int{}
	for _, v := range got {
		seen[v]++
	}
	var problems []string
	for i := 0; i < n; i++ {
		v := "out-in-" + strconv.Itoa(i)
		switch c := seen[v]; {
		case c == 0:
			problems = append(problems, v+" missing")
		case c > 1:
			problems = append(problems, fmt.Sprintf("%s %d times", v, c))
		}
		delete(seen, v)
	}
	for v := range seen {
		problems = append(problems, fmt.Sprintf("unexpected %q", v))
	}
	if len(problems) > 0 {
		if len(problems) > 10 {
			problems = append(problems[:10], fmt.Sprintf("... %d more", len(problems)-10))
		}
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// CheckCommitted says whether group's committed offsets on topic equal the
// topic's end offsets: every input consumed and committed, nothing beyond.
func CheckCommitted(ctx context.Context, seeds []string, group, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return err
	}
	var problems []string
	ends.Each(func(o kadm.ListedOffset) {
		c, ok := committed.Lookup(topic, o.Partition)
		if !ok || c.At != o.Offset {
			problems = append(problems, fmt.Sprintf("%s[%d] committed %d (found %v), end %d", topic, o.Partition, c.At, ok, o.Offset))
		}
	})
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// TxnCoordinator returns the node id that coordinates txnID.
func TxnCoordinator(ctx context.Context, seeds []string, txnID string) (int32, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return -1, err
	}
	defer cl.Close()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorType = 1
	req.CoordinatorKey = txnID
	req.CoordinatorKeys = []string{txnID}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return -1, err
	}
	if len(resp.Coordinators) == 1 {
		c := resp.Coordinators[0]
		if c.ErrorCode != 0 {
			return -1, fmt.Errorf("FindCoordinator(%s): error %d", txnID, c.ErrorCode)
		}
		return c.NodeID, nil
	}
	if resp.ErrorCode != 0 {
		return -1, fmt.Errorf("FindCoordinator(%s): error %d", txnID, resp.ErrorCode)
	}
	return resp.NodeID, nil
}

// Leader returns the leader of topic's partition p.
func Leader(ctx context.Context, seeds []string, topic string, p int32) (int32, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return -1, err
	}
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		return -1, err
	}
	pd, ok := td[topic].Partitions[p]
	if !ok {
		return -1, fmt.Errorf("%s[%d] not in metadata", topic, p)
	}
	return pd.Leader, nil
}

// CreateTopics creates RF-3 topics with min.insync.replicas 2.
func CreateTopics(ctx context.Context, seeds []string, partitions int32, topics ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	mi := "2"
	rs, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 3, map[string]*string{"min.insync.replicas": &mi}, topics...)
	if err != nil {
		return err
	}
	return rs.Error()
}
