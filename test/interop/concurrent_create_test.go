package interop

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestConcurrentAutoCreateKeepsAcknowledgedRecords auto-creates hundreds of
// topics from parallel producers (acks=all) and reads every acknowledged
// record back. Handlers reconciling an image older than one already applied
// used to delete replicas created in between, after their produce was
// answered (issue 13, item 8).
func TestConcurrentAutoCreateKeepsAcknowledgedRecords(t *testing.T) {
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d nodes", nodes), func(t *testing.T) {
			c := harness.StartT(t, nodes, fmt.Sprintf("default.replication.factor=%d", nodes),
				fmt.Sprintf("min.insync.replicas=%d", min(nodes, 2)))
			acked := produceToNewTopics(t, c, 200, 8, 2)
			readBack(t, c, acked)
			for _, nd := range c.Nodes {
				if n := strings.Count(nd.Log(), "deleted local replica"); n > 0 {
					t.Errorf("node %d deleted %d local replicas; no topic was deleted", nd.ID, n)
				}
			}
		})
	}
}

// produceToNewTopics has producers goroutines auto-create topics topics
// between them, perTopic records each with acks=all, and returns the
// acknowledged values by topic.
func produceToNewTopics(t *testing.T, c *harness.Cluster, topics, producers, perTopic int) map[string][]string {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	acked := map[string][]string{}
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for w := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.AllowAutoTopicCreation(),
				kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(50))
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			for i := w; i < topics; i += producers {
				topic := fmt.Sprintf("cc-%03d", i)
				for j := range perTopic {
					v := fmt.Sprintf("%s/%d", topic, j)
					if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
						errs <- fmt.Errorf("produce %s: %w", v, err)
						return
					}
					mu.Lock()
					acked[topic] = append(acked[topic], v)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err) // a refused produce is no loss, but it should not happen
	}
	return acked
}

// readBack consumes every topic in acked from the start and requires each
// acknowledged value, in order.
func readBack(t *testing.T, c *harness.Cluster, acked map[string][]string) {
	t.Helper()
	var names []string
	want := 0
	for topic, vs := range acked {
		names = append(names, topic)
		want += len(vs)
	}
	cl := client(t, c, kgo.ConsumeTopics(names...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := map[string][]string{}
	for n := 0; n < want; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Topic] = append(got[r.Topic], string(r.Value))
			n++
		})
	}
	lost := 0
	for topic, vs := range acked {
		if g := got[topic]; strings.Join(g, ",") != strings.Join(vs, ",") {
			lost++
			t.Errorf("%s: read %q, acknowledged %q", topic, g, vs)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d topics lost acknowledged records", lost, len(acked))
	}
}
