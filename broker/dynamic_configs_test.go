package broker

import (
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
