package broker

import (
	"strings"
	"testing"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// TestWithDynamic checks the layering of dynamic broker configs: the
// cluster default over server.properties, a broker's own over both, the
// finer retention unit over the coarser, and a bad value refused whole.
func TestWithDynamic(t *testing.T) {
	static := klog.DefaultConfig()
	c, minISR, err := withDynamic(static, 1,
		map[string]string{"log.retention.hours": "5", "min.insync.replicas": "2", "log.segment.bytes": "1000"},
		map[string]string{"log.retention.minutes": "3", "log.segment.bytes": "2000"})
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionMs != 3*60000 || c.SegmentBytes != 2000 || minISR != 2 {
		t.Fatalf("retention %d, segment %d, min ISR %d", c.RetentionMs, c.SegmentBytes, minISR)
	}
	c, _, _ = withDynamic(static, 1, map[string]string{"log.retention.ms": "7", "log.retention.hours": "9"})
	if c.RetentionMs != 7 {
		t.Fatalf("log.retention.ms should win over .hours: %d", c.RetentionMs)
	}
	for _, bad := range []map[string]string{
		{"log.retention.hours": "soon"},
		{"log.segment.bytes": "3"},
		{"min.insync.replicas": "0"},
		{"log.cleanup.policy": "archive"},
	} {
		if _, _, err := withDynamic(static, 1, bad); protocol.Code(err) != protocol.InvalidConfig {
			t.Errorf("%v: %v, want INVALID_CONFIG", bad, err)
		}
	}
	if isDynamicBrokerKey("num.partitions") || !isDynamicBrokerKey("log.retention.bytes") {
		t.Fatal("dynamic key table")
	}
}

// TestCheckBrokerConfigs checks what AlterConfigs takes for a broker:
// Kafka's dynamic keys with values in range, not its static keys, which
// it names all at once as Kafka does.
func TestCheckBrokerConfigs(t *testing.T) {
	ok := map[string]string{"log.cleaner.backoff.ms": "500", "log.cleaner.threads": "2", "num.io.threads": "4",
		"max.connections": "100", "compression.type": "zstd", "log.preallocate": "true", "log.roll.hours": "2"}
	if err := checkBrokerConfigs(ok); err != nil {
		t.Fatal(err)
	}
	err := checkBrokerConfigs(map[string]string{"num.partitions": "3", "log.dirs": "/x", "log.cleaner.threads": "2"})
	if protocol.Code(err) != protocol.InvalidConfig || !strings.Contains(err.Error(), "Cannot update these configs dynamically: Set(log.dirs, num.partitions)") {
		t.Fatalf("static keys: %v", err)
	}
	for _, bad := range []map[string]string{{"log.cleaner.backoff.ms": "0"}, {"compression.type": "brotli"}, {"no.such.key": "1"}} {
		if err := checkBrokerConfigs(bad); protocol.Code(err) != protocol.InvalidConfig {
			t.Errorf("%v: %v, want INVALID_CONFIG", bad, err)
		}
	}
	c, _, err := withDynamic(klog.DefaultConfig(), 1, map[string]string{"log.roll.hours": "2", "log.index.size.max.bytes": "4096"})
	if err != nil || c.SegmentMs != 2*3600000 || c.IndexSizeMaxBytes != 4096 {
		t.Fatalf("log.roll.hours and log.index.size.max.bytes: %v %d %d", err, c.SegmentMs, c.IndexSizeMaxBytes)
	}
}
