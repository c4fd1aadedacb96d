package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

// venvPython is the interpreter of the virtual environment `make
// test-venv` fills with the newest confluent-kafka (whose wheel bundles a
// current librdkafka), kafka-python and aiokafka from PyPI.
func venvPython(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GOKAFKA_VENV")
	if dir == "" {
		t.Fatal("GOKAFKA_VENV is not set: run the suite with `make test` (or `make test-venv` and GOKAFKA_VENV=<its path>)")
	}
	return filepath.Join(dir, "bin", "python")
}

// TestNewestPythonClients runs each of the newest Python clients against
// three nodes: an acks=all producer, then a group consumer that reads
// every record and commits, whose offsets franz-go then sees.
func TestNewestPythonClients(t *testing.T) {
	py := venvPython(t)
	c := groupCluster(t)
	t.Logf("clients: %s", strings.TrimSpace(run(t, "", py, "-c",
		`import confluent_kafka, kafka, aiokafka; print("confluent-kafka", confluent_kafka.version(), "librdkafka", confluent_kafka.libversion()[0], "kafka-python", kafka.__version__, "aiokafka", aiokafka.__version__)`)))
	for _, tc := range []struct{ name, script string }{
		{"confluent-kafka", confluentNewest},
		{"kafka-python", kafkaPythonNewest},
		{"aiokafka", aiokafkaNewest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic, group := "py-"+tc.name, "g-"+tc.name
			createTopic(t, c, topic, 3, nil)
			if out := strings.TrimSpace(run(t, "", py, "-c", tc.script, strings.Join(c.Seeds(), ","), topic, group)); out != "200" {
				t.Fatalf("%s read %q records, want 200", tc.name, out)
			}
			got, err := kadm.NewClient(client(t, c)).FetchOffsets(testCtx(t), group)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			got.Each(func(o kadm.OffsetResponse) { total += o.At })
			if total != 200 {
				t.Fatalf("%s committed offsets summing to %d, want 200", tc.name, total)
			}
		})
	}
}

// Each script takes bootstrap servers, topic and group; produces 200
// keyed records with acks=all, each acknowledged; reads them back in a
// group, checking every key arrives once; commits; prints the count.
const confluentNewest = `
import sys
from confluent_kafka import Producer, Consumer
addr, topic, group = sys.argv[1:4]
errors = []
def delivered(err, msg):
    if err is not None:
        errors.append(str(err))
p = Producer({'bootstrap.servers': addr, 'enable.idempotence': True, 'acks': 'all',
              'compression.type': 'zstd', 'linger.ms': 5})
for i in range(200):
    p.produce(topic, key=b'k%d' % i, value=b'v%d' % i, on_delivery=delivered)
if p.flush(20) != 0 or errors:
    sys.exit('not delivered: %s' % errors[:3])
c = Consumer({'bootstrap.servers': addr, 'group.id': group, 'auto.offset.reset': 'earliest',
              'enable.auto.commit': False, 'session.timeout.ms': 6000})
c.subscribe([topic])
seen = set()
while len(seen) < 200:
    m = c.poll(20)
    if m is None:
        sys.exit('timed out after %d records' % len(seen))
    if m.error():
        sys.exit('consume error: %s' % m.error())
    if m.key() in seen:
        sys.exit('duplicate %s' % m.key())
    seen.add(m.key())
c.commit(asynchronous=False)
c.close()
print(len(seen))
`

const kafkaPythonNewest = `
import sys
from kafka import KafkaProducer, KafkaConsumer
addr, topic, group = sys.argv[1:4]
servers = addr.split(',')
p = KafkaProducer(bootstrap_servers=servers, acks='all', compression_type='gzip', linger_ms=5)
futures = [p.send(topic, key=b'k%d' % i, value=b'v%d' % i) for i in range(200)]
p.flush()
for f in futures:
    f.get(timeout=20)
p.close()
c = KafkaConsumer(topic, bootstrap_servers=servers, group_id=group, auto_offset_reset='earliest',
                  enable_auto_commit=False, consumer_timeout_ms=25000)
seen = set()
for m in c:
    if m.key in seen:
        sys.exit('duplicate %s' % m.key)
    seen.add(m.key)
    if len(seen) == 200:
        break
c.commit()
c.close()
print(len(seen))
`

const aiokafkaNewest = `
import asyncio, sys
from aiokafka import AIOKafkaProducer, AIOKafkaConsumer
addr, topic, group = sys.argv[1:4]
async def main():
    p = AIOKafkaProducer(bootstrap_servers=addr, acks='all', compression_type='gzip', enable_idempotence=True)
    await p.start()
    try:
        for i in range(200):
            await p.send_and_wait(topic, key=b'k%d' % i, value=b'v%d' % i)
    finally:
        await p.stop()
    c = AIOKafkaConsumer(topic, bootstrap_servers=addr, group_id=group, auto_offset_reset='earliest',
                         enable_auto_commit=False)
    await c.start()
    seen = set()
    try:
        while len(seen) < 200:
            batch = await asyncio.wait_for(c.getmany(timeout_ms=1000), 25)
            for tp, msgs in batch.items():
                for m in msgs:
                    if m.key in seen:
                        sys.exit('duplicate %s' % m.key)
                    seen.add(m.key)
        await c.commit()
    finally:
        await c.stop()
    print(len(seen))
asyncio.run(main())
`
