package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// The Debian packages kcat, python3-kafka and python3-confluent-kafka; the
// Python modules import under Debian's own interpreter, not a pyenv one.
const (
	kcatBin = "/usr/bin/kcat"
	python  = "/usr/bin/python3"
)

// run executes a client tool with a time limit and returns its stdout; a
// failure shows everything it printed.
func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	if _, err := os.Stat(name); err != nil {
		t.Fatalf("%s is missing: run `make test-deps` (apt-get install kcat python3-kafka python3-confluent-kafka)", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func numberedLines(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format+"\n", i, i)
	}
	return b.String()
}

// TestKcat produces keyed lines with kcat (librdkafka), reads them back
// with kcat, and checks kcat's view of the metadata.
func TestKcat(t *testing.T) {
	c := harness.StartT(t, 1)
	addr := c.Nodes[0].KafkaAddr
	createTopic(t, c, "kcat", 1, nil)
	in := numberedLines("k%d:v%d", 100)
	run(t, in, kcatBin, "-b", addr, "-P", "-t", "kcat", "-K:", "-X", "acks=all")
	out := run(t, "", kcatBin, "-b", addr, "-C", "-t", "kcat", "-p", "0", "-o", "beginning", "-e", "-f", "%k:%s\n")
	if out != in {
		t.Fatalf("kcat read back:\n%s\nwant:\n%s", out, in)
	}

	var md struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string            `json:"topic"`
			Partitions []json.RawMessage `json:"partitions"`
		} `json:"topics"`
	}
	raw := run(t, "", kcatBin, "-b", addr, "-L", "-J", "-t", "kcat")
	if err := json.Unmarshal([]byte(raw), &md); err != nil {
		t.Fatalf("kcat -L -J: %v\n%s", err, raw)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].ID != 1 || md.Brokers[0].Name != addr ||
		len(md.Topics) != 1 || md.Topics[0].Topic != "kcat" || len(md.Topics[0].Partitions) != 1 {
		t.Fatalf("kcat metadata: %s", raw)
	}
}

// TestKafkaPython produces gzip-compressed records with kafka-python
// (which probes the broker's version itself) and reads them back with it.
func TestKafkaPython(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "kpy", 1, nil)
	const script = `
import sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
addr = sys.argv[1]
p = KafkaProducer(bootstrap_servers=addr, acks='all', compression_type='gzip', linger_ms=5)
futures = [p.send('kpy', key=b'k%d' % i, value=b'v%d' % i) for i in range(100)]
p.flush()
for i, f in enumerate(futures):
    md = f.get(timeout=10)
    assert md.offset == i, (i, md.offset)
p.close()
c = KafkaConsumer(bootstrap_servers=addr, group_id=None, enable_auto_commit=False,
                  auto_offset_reset='earliest', consumer_timeout_ms=10000)
c.assign([TopicPartition('kpy', 0)])
c.seek_to_beginning()
n = 0
for m in c:
    print('%s:%s@%d' % (m.key.decode(), m.value.decode(), m.offset))
    n += 1
    if n == 100:
        break
c.close()
`
	out := run(t, "", python, "-c", script, c.Nodes[0].KafkaAddr)
	if want := numberedLines("k%d:v%d", 100); stripOffsets(t, out) != want {
		t.Fatalf("kafka-python read back:\n%s", out)
	}
}

// stripOffsets checks that each "key:value@offset" line has offset equal
// to its line number and returns the lines without the offsets.
func stripOffsets(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		kv, off, ok := strings.Cut(line, "@")
		if !ok || off != fmt.Sprint(i) {
			t.Fatalf("line %d: %q has no offset %d", i, line, i)
		}
		b.WriteString(kv + "\n")
	}
	return b.String()
}

// TestConfluentKafka produces with confluent-kafka (librdkafka, idempotent,
// lz4) and consumes with it by assignment; franz-go reads the same records.
func TestConfluentKafka(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "ckpy", 1, nil)
	const script = `
import sys
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
addr = sys.argv[1]
errors = []
def delivered(err, msg):
    if err is not None:
        errors.append(str(err))
p = Producer({'bootstrap.servers': addr, 'enable.idempotence': True, 'acks': 'all',
              'compression.type': 'lz4', 'linger.ms': 5})
for i in range(100):
    p.produce('ckpy', key=b'k%d' % i, value=b'v-%d' % i, on_delivery=delivered)
p.flush(15)
if errors:
    sys.exit('delivery errors: %s' % errors[:3])
c = Consumer({'bootstrap.servers': addr, 'group.id': 'unused', 'enable.auto.commit': False})
c.assign([TopicPartition('ckpy', 0, OFFSET_BEGINNING)])
n = 0
while n < 100:
    m = c.poll(10)
    if m is None:
        sys.exit('timed out after %d records' % n)
    if m.error():
        sys.exit('consume error: %s' % m.error())
    print('%s:%s@%d' % (m.key().decode(), m.value().decode(), m.offset()))
    n += 1
c.close()
`
	out := run(t, "", python, "-c", script, c.Nodes[0].KafkaAddr)
	if want := numberedLines("k%d:v-%d", 100); stripOffsets(t, out) != want {
		t.Fatalf("confluent-kafka read back:\n%s", out)
	}
	checkValues(t, consumeN(t, c, "ckpy", 100), values("v", 100))
}

// TestConfluentKafkaGroup consumes with librdkafka's subscribe(): its own
// group client joins, syncs, commits, and a second run of the same group
// starts after the committed offsets.
func TestConfluentKafkaGroup(t *testing.T) {
	c := groupCluster(t)
	createTopic(t, c, "ckgrp", 2, nil)
	produceN(t, c, "ckgrp", "a", 50)
	const script = `
import sys
from confluent_kafka import Consumer
addr, want = sys.argv[1], int(sys.argv[2])
c = Consumer({'bootstrap.servers': addr, 'group.id': 'rdk', 'auto.offset.reset': 'earliest',
              'enable.auto.commit': False, 'session.timeout.ms': 6000})
c.subscribe(['ckgrp'])
n = 0
while n < want:
    m = c.poll(15)
    if m is None:
        sys.exit('timed out after %d records' % n)
    if m.error():
        sys.exit('consume error: %s' % m.error())
    n += 1
c.commit(asynchronous=False)
print(n)
c.close()
`
	if out := run(t, "", python, "-c", script, c.Nodes[0].KafkaAddr, "50"); strings.TrimSpace(out) != "50" {
		t.Fatalf("first run read %q records", out)
	}
	produceN(t, c, "ckgrp", "b", 10)
	if out := run(t, "", python, "-c", script, c.Nodes[0].KafkaAddr, "10"); strings.TrimSpace(out) != "10" {
		t.Fatalf("second run read %q records", out)
	}
	got, err := kadm.NewClient(client(t, c)).FetchOffsets(testCtx(t), "rdk")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	got.Each(func(o kadm.OffsetResponse) { total += o.At })
	if total != 60 {
		t.Fatalf("committed offsets sum to %d, want 60", total)
	}
}

// TestKafkaPythonGroup consumes with kafka-python's group consumer and
// commits; a second run of the group reads only what came after.
func TestKafkaPythonGroup(t *testing.T) {
	c := groupCluster(t)
	createTopic(t, c, "kpgrp", 2, nil)
	plain := kgo.ProducerBatchCompression(kgo.NoCompression()) // Debian's kafka-python lacks snappy
	produceN(t, c, "kpgrp", "a", 40, plain)
	const script = `
import sys
from kafka import KafkaConsumer
addr, want = sys.argv[1], int(sys.argv[2])
c = KafkaConsumer('kpgrp', bootstrap_servers=addr, group_id='kp-group', auto_offset_reset='earliest',
                  enable_auto_commit=False, consumer_timeout_ms=20000)
n = 0
for m in c:
    n += 1
    if n == want:
        break
c.commit()
c.close()
print(n)
`
	if out := run(t, "", python, "-c", script, c.Nodes[0].KafkaAddr, "40"); strings.TrimSpace(out) != "40" {
		t.Fatalf("first run read %q", out)
	}
	produceN(t, c, "kpgrp", "b", 5, plain)
	if out := run(t, "", python, "-c", script, c.Nodes[0].KafkaAddr, "5"); strings.TrimSpace(out) != "5" {
		t.Fatalf("second run read %q", out)
	}
}
