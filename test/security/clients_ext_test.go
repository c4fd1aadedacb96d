package security

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokafka/gokafka/test/kafka"
)

// The Debian packages kcat, python3-kafka and python3-confluent-kafka, as
// test/interop runs them; the Java client is kafka-clients 4.4 from the
// jars test/kafka fetches.
const (
	kcatBin = "/usr/bin/kcat"
	python  = "/usr/bin/python3"
)

// externalFamilies are the clients run as processes.
func externalFamilies() []family {
	return []family{
		{"kcat", runKcat},
		{"confluent-kafka", runConfluent},
		{"kafka-python", runKafkaPython},
		{"java", runJava},
	}
}

// run executes a client with a time limit and returns its stdout; a
// failure shows everything it printed.
func run(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	out, errOut, err := runErr(stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, firstLines(out, 10), errOut)
	}
	return out
}

func runErr(stdin, name string, args ...string) (stdout, stderr string, err error) {
	if _, err := exec.LookPath(name); err != nil {
		return "", "", fmt.Errorf("%s is missing: run `make test-deps`", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// rdkafka are librdkafka's properties for w (kcat -X, confluent-kafka).
func rdkafka(s *secured, w way) map[string]string {
	p := map[string]string{"security.protocol": w.protocol, "ssl.ca.location": s.layout.PKI.CAFile}
	if w.mechanism != "" {
		p["sasl.mechanisms"], p["sasl.username"], p["sasl.password"] = w.mechanism, w.user, w.pass
	}
	if w.cert != nil { // librdkafka skips the key block of a key+chain file, and finds it for the key
		p["ssl.certificate.location"], p["ssl.key.location"] = w.cert.PEMFile, w.cert.PEMFile
	}
	return p
}

func runKcat(t *testing.T, s *secured, w way, topic string) string {
	args := []string{"-b", strings.Join(w.seeds, ",")}
	for k, v := range rdkafka(s, w) {
		args = append(args, "-X", k+"="+v)
	}
	run(t, numbered(), kcatBin, append(args, "-P", "-t", topic, "-p", "0", "-K:", "-X", "acks=all")...)
	return run(t, "", kcatBin, append(args, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%k:%s\n")...)
}

// pyClients are the Python scripts: argv is the client configuration as
// JSON, the topic and the record count; each produces with acks=all,
// every record acknowledged, then reads partition 0 from the start.
const confluentScript = `
import json, sys
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
conf, topic, n = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
p = Producer(dict(conf, acks='all'))
errs = []
for i in range(n):
    p.produce(topic, key=b'k%d' % i, value=b'v%d' % i, partition=0,
              on_delivery=lambda err, msg: err and errs.append(err))
assert p.flush(30) == 0 and not errs, errs
c = Consumer(dict(conf, **{'group.id': 'unused', 'enable.auto.commit': False}))
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
read = 0
while read < n:
    m = c.poll(30)
    assert m is not None, 'no record in 30s after %d' % read
    assert not m.error(), m.error()
    print('%s:%s' % (m.key().decode(), m.value().decode()))
    read += 1
c.close()
`

const kafkaPythonScript = `
import json, sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
conf, topic, n = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
p = KafkaProducer(acks='all', **conf)
fs = [p.send(topic, key=b'k%d' % i, value=b'v%d' % i, partition=0) for i in range(n)]
p.flush()
for f in fs:
    f.get(timeout=30)
p.close()
c = KafkaConsumer(group_id=None, enable_auto_commit=False, consumer_timeout_ms=30000, **conf)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.seek_to_beginning(tp)
read = 0
for m in c:
    print('%s:%s' % (m.key.decode(), m.value.decode()))
    read += 1
    if read == n:
        break
c.close()
`

func runConfluent(t *testing.T, s *secured, w way, topic string) string {
	conf := rdkafka(s, w)
	conf["bootstrap.servers"] = strings.Join(w.seeds, ",")
	return run(t, "", python, "-c", confluentScript, jsonArg(t, conf), topic, fmt.Sprint(records))
}

func runKafkaPython(t *testing.T, s *secured, w way, topic string) string {
	conf := map[string]string{
		"bootstrap_servers": strings.Join(w.seeds, ","),
		"security_protocol": w.protocol,
		"ssl_cafile":        s.layout.PKI.CAFile,
	}
	if w.mechanism != "" {
		conf["sasl_mechanism"], conf["sasl_plain_username"], conf["sasl_plain_password"] = w.mechanism, w.user, w.pass
	}
	if w.cert != nil {
		conf["ssl_certfile"], conf["ssl_keyfile"] = w.cert.PEMFile, w.cert.PEMFile
	}
	return run(t, "", python, "-c", kafkaPythonScript, jsonArg(t, conf), topic, fmt.Sprint(records))
}

func jsonArg(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// javaProps writes the Java client's properties for w: PKCS12 stores, and
// the JAAS line Kafka's clients take for SASL.
func javaProps(t *testing.T, s *secured, w way) string {
	lines := s.layout.PKI.JavaClientProps(w.protocol, w.cert)
	if w.mechanism != "" {
		module := "org.apache.kafka.common.security.plain.PlainLoginModule"
		if strings.HasPrefix(w.mechanism, "SCRAM") {
			module = "org.apache.kafka.common.security.scram.ScramLoginModule"
		}
		lines = append(lines, "sasl.mechanism="+w.mechanism,
			fmt.Sprintf(`sasl.jaas.config=%s required username="%s" password="%s";`, module, w.user, w.pass))
	}
	path := filepath.Join(t.TempDir(), "client.properties")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runJava(t *testing.T, s *secured, w way, topic string) string {
	return run(t, "", "java", "-cp", kafka.Classpath(t), filepath.Join("testdata", "SecureClient.java"),
		strings.Join(w.seeds, ","), javaProps(t, s, w), topic, fmt.Sprint(records))
}
