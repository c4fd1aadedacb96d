package cluster

import (
	"bufio"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// Debian's python3-confluent-kafka (librdkafka) and python3-kafka import
// only under the system interpreter.
const python = "/usr/bin/python3"

// The consumers print what they own and what they read, one line each:
// "assigned topic:partition ..." and "msg topic partition key value".
const librdkafkaConsumer = `
import sys
from confluent_kafka import Consumer
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': sys.argv[2], 'session.timeout.ms': 6000,
              'heartbeat.interval.ms': 1000, 'partition.assignment.strategy': 'range',
              'auto.offset.reset': 'earliest', 'auto.commit.interval.ms': 500})
def assigned(c, ps):
    print('assigned', ' '.join('%s:%d' % (p.topic, p.partition) for p in ps), flush=True)
c.subscribe(sys.argv[3].split(','), on_assign=assigned)
while True:
    m = c.poll(0.2)
    if m is not None and m.error() is None:
        print('msg', m.topic(), m.partition(), m.key().decode(), m.value().decode(), flush=True)
`

const kafkaPythonConsumer = `
import sys
from kafka import KafkaConsumer
c = KafkaConsumer(*sys.argv[3].split(','), bootstrap_servers=sys.argv[1].split(','), group_id=sys.argv[2],
                  auto_offset_reset='earliest', session_timeout_ms=6000, heartbeat_interval_ms=1000)
for m in c:
    print('msg', m.topic, m.partition, m.key.decode(), m.value.decode(), flush=True)
`

// consumerProc is a consumer in a process of its own, so that a test can
// SIGKILL it.
type consumerProc struct {
	name string
	cmd  *exec.Cmd

	mu       sync.Mutex
	assigned []string            // latest assignment, "topic:partition"
	changed  time.Time           // when it was reported
	byKey    map[string][]string // values read, in order, per topic/key
}

func startConsumerProc(t *testing.T, name, script string, c *harness.Cluster, group, topics string) *consumerProc {
	t.Helper()
	cp := &consumerProc{name: name, byKey: map[string][]string{}}
	cp.cmd = exec.Command(python, "-c", script, strings.Join(c.Seeds(), ","), group, topics)
	out, err := cp.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cp.cmd.Stderr = &stderr
	if err := cp.cmd.Start(); err != nil {
		t.Fatalf("%s: %v (make test-deps installs the Debian client packages)", python, err)
	}
	t.Cleanup(func() {
		cp.cmd.Process.Kill()
		cp.cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			f := strings.Fields(s.Text())
			cp.mu.Lock()
			switch {
			case len(f) > 0 && f[0] == "assigned":
				cp.assigned, cp.changed = f[1:], time.Now()
			case len(f) == 5 && f[0] == "msg":
				k := f[1] + "/" + f[3]
				cp.byKey[k] = append(cp.byKey[k], f[4])
			}
			cp.mu.Unlock()
		}
	}()
	return cp
}

func (cp *consumerProc) owns() []string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return slices.Clone(cp.assigned)
}

func (cp *consumerProc) reads() map[string][]string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	out := map[string][]string{}
	for k, v := range cp.byKey {
		out[k] = slices.Clone(v)
	}
	return out
}

func countTopic(reads map[string][]string, topic string) int {
	n := 0
	for k, vs := range reads {
		if strings.HasPrefix(k, topic+"/") {
			n += len(vs)
		}
	}
	return n
}

// TestSeedScenario is the scenario of the consumer-groups issue on a
// three-node cluster, with librdkafka consumer processes in group-01 and a
// kafka-python one in group-02: topic-A's two partitions are split one each
// and topic-B's goes to one of them; every key is read by one consumer, in
// order; group-02 reads every topic-B message too. A group-01 consumer is
// SIGKILLed and the survivor takes its partitions within the session
// timeout plus one rebalance (the gap is printed); a new one shares again.
func TestSeedScenario(t *testing.T) {
	c := harness.StartT(t, 3, append(fastFailover, "group.initial.rebalance.delay.ms=0")...)
	createTopic(t, c, "topic-A", 2)
	createTopic(t, c, "topic-B", 1)
	c1 := startConsumerProc(t, "librdkafka-1", librdkafkaConsumer, c, "group-01", "topic-A,topic-B")
	c2 := startConsumerProc(t, "librdkafka-2", librdkafkaConsumer, c, "group-01", "topic-A,topic-B")
	other := startConsumerProc(t, "kafka-python", kafkaPythonConsumer, c, "group-02", "topic-B")
	split := func(a, b *consumerProc) bool {
		oa, ob := a.owns(), b.owns()
		all := append(slices.Clone(oa), ob...)
		slices.Sort(all)
		return slices.Equal(all, []string{"topic-A:0", "topic-A:1", "topic-B:0"}) &&
			slices.ContainsFunc(oa, func(s string) bool { return strings.HasPrefix(s, "topic-A") }) &&
			slices.ContainsFunc(ob, func(s string) bool { return strings.HasPrefix(s, "topic-A") })
	}
	harness.WaitFor(t, "group-01 splitting topic-A one partition each", 60*time.Second, func() bool { return split(c1, c2) })

	const perTopic = 200
	p := client(t, c, kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := range perTopic {
		for _, topic := range []string{"topic-A", "topic-B"} {
			r := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%d", i%10)), Value: []byte(fmt.Sprintf("%04d", i))}
			if err := p.ProduceSync(ctxFor(t, 10*time.Second), r).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
	}
	harness.WaitFor(t, "group-01 reading every message", 30*time.Second, func() bool {
		r1, r2 := c1.reads(), c2.reads()
		return countTopic(r1, "topic-A")+countTopic(r2, "topic-A") >= perTopic &&
			countTopic(r1, "topic-B")+countTopic(r2, "topic-B") >= perTopic
	})
	harness.WaitFor(t, "group-02 reading every topic-B message", 30*time.Second, func() bool {
		return countTopic(other.reads(), "topic-B") >= perTopic
	})
	r1, r2 := c1.reads(), c2.reads()
	for k, vs := range r1 {
		if _, both := r2[k]; both {
			t.Fatalf("%s was read by both consumers of group-01", k)
		}
		if !slices.IsSorted(vs) || len(vs) != perTopic/10 {
			t.Fatalf("%s read out of order or incompletely: %v", k, vs)
		}
	}
	for k, vs := range other.reads() {
		if !slices.IsSorted(vs) || len(vs) != perTopic/10 {
			t.Fatalf("group-02 %s read out of order or incompletely: %v", k, vs)
		}
	}

	c2.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	harness.WaitFor(t, "the survivor owning every partition", 30*time.Second, func() bool { return len(c1.owns()) == 3 })
	gap := time.Since(killed)
	t.Logf("partitions moved %v after the consumer's SIGKILL (session.timeout.ms=6000)", gap.Round(time.Millisecond))
	if gap < 5*time.Second {
		t.Fatalf("partitions moved after %v, before the session could expire", gap)
	}
	c3 := startConsumerProc(t, "librdkafka-3", librdkafkaConsumer, c, "group-01", "topic-A,topic-B")
	harness.WaitFor(t, "the partitions shared again", 60*time.Second, func() bool { return split(c1, c3) })
}
