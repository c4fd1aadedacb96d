package interop

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestDescribeConfigs describes a topic with one override and the broker:
// the override is a topic config, the rest are the broker defaults, and the
// broker lists server.properties with what the file set apart from the
// defaults.
func TestDescribeConfigs(t *testing.T) {
	c := harness.StartT(t, 1, "log.retention.hours=48")
	retention := "3600000"
	createTopic(t, c, "described", 1, map[string]*string{"retention.ms": &retention})
	adm := kadm.NewClient(client(t, c))
	rcs, err := adm.DescribeTopicConfigs(testCtx(t), "described")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("described", nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe topic: %v %v", err, rc.Err)
	}
	got := map[string]kadm.Config{}
	for _, cfg := range rc.Configs {
		got[cfg.Key] = cfg
	}
	check := func(key, value, source string) {
		t.Helper()
		cfg, ok := got[key]
		if !ok || cfg.MaybeValue() != value || cfg.Source.String() != source {
			t.Errorf("%s: %s from %s (found %v), want %s from %s", key, cfg.MaybeValue(), cfg.Source, ok, value, source)
		}
	}
	check("retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
	check("cleanup.policy", "delete", "DEFAULT_CONFIG")
	check("segment.bytes", "1073741824", "DEFAULT_CONFIG")
	check("min.insync.replicas", "1", "DEFAULT_CONFIG")

	brcs, err := adm.DescribeBrokerConfigs(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	brc, err := brcs.On("1", nil)
	if err != nil || brc.Err != nil {
		t.Fatalf("describe broker: %v %v", err, brc.Err)
	}
	got = map[string]kadm.Config{}
	for _, cfg := range brc.Configs {
		got[cfg.Key] = cfg
	}
	check("log.retention.hours", "48", "STATIC_BROKER_CONFIG")
	check("num.partitions", "1", "DEFAULT_CONFIG")

	missing, err := adm.DescribeTopicConfigs(testCtx(t), "no-such-topic")
	if err == nil {
		var rc kadm.ResourceConfig
		rc, err = missing.On("no-such-topic", nil)
		if err == nil {
			err = rc.Err
		}
	}
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("describing a missing topic: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
}

// TestKafkaPythonAdmin drives the admin APIs through kafka-python's
// KafkaAdminClient: create_topics, describe_configs, alter_configs,
// create_partitions, list_consumer_groups, describe_consumer_groups.
func TestKafkaPythonAdmin(t *testing.T) {
	c := groupCluster(t) // three nodes: each call may reach any broker
	const script = `
import sys
from kafka.admin import KafkaAdminClient, NewTopic, NewPartitions, ConfigResource, ConfigResourceType
a = KafkaAdminClient(bootstrap_servers=sys.argv[1].split(','))
a.create_topics([NewTopic('pyadmin', num_partitions=1, replication_factor=3, topic_configs={'retention.ms': '7200000'})])
a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'pyadmin', configs={'retention.ms': '5400000'})])
a.create_partitions({'pyadmin': NewPartitions(total_count=3)})
for r in a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'pyadmin')]):
    for res in r.resources:
        for cfg in res[4]:
            if cfg[0] in ('retention.ms', 'cleanup.policy'):
                print(cfg[0], cfg[1])
import time
for _ in range(50):  # Metadata comes from any broker, which may apply the change a moment later
    n = len(a.describe_topics(['pyadmin'])[0]['partitions'])
    if n == 3:
        break
    time.sleep(0.1)
print('partitions', n)
print('groups', sorted(g[0] for g in a.list_consumer_groups()))
for g in a.describe_consumer_groups(['py-committed']):
    print('described', g.group, g.state, len(g.members))
`
	createTopic(t, c, "pycommit", 1, nil)
	adm := kadm.NewClient(client(t, c))
	var commit kadm.Offsets
	commit.Add(kadm.Offset{Topic: "pycommit", Partition: 0, At: 0, LeaderEpoch: -1})
	// kadm checks the topic against the metadata of whichever broker it
	// asks, which may learn of the new topic a moment after the others.
	harness.WaitFor(t, "a commit to the new topic", 10*time.Second, func() bool {
		res, err := adm.CommitOffsets(testCtx(t), "py-committed", commit)
		return err == nil && res.Error() == nil
	})
	out := run(t, "", python, "-c", script, strings.Join(c.Seeds(), ","))
	for _, want := range []string{"retention.ms 5400000", "cleanup.policy delete", "partitions 3",
		"groups ['py-committed']", "described py-committed Empty 0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("kafka-python admin printed %q, want a line %q", out, want)
		}
	}
}

// TestDescribeProducers writes ten records with an idempotent producer and
// finds it on the partition's leader with its last sequence (9).
func TestDescribeProducers(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "idem", 1, nil)
	p := client(t, c, kgo.DefaultProduceTopic("idem"))
	for i := range 10 {
		if err := p.ProduceSync(testCtx(t), &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	described, err := kadm.NewClient(client(t, c)).DescribeProducers(testCtx(t), kadm.TopicsSet{"idem": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	found := described.SortedProducers()
	if len(found) != 1 || found[0].LastSequence != 9 || found[0].ProducerID < 0 || found[0].LastTimestamp <= 0 {
		t.Fatalf("described producers: %+v", found)
	}
}
