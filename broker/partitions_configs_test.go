package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/config"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
)

// TestApplyConfigOps follows Kafka's IncrementalAlterConfigs: APPEND and
// SUBTRACT start from the key's default when the topic has no override,
// and only list keys take them.
func TestApplyConfigOps(t *testing.T) {
	op := func(code kmsg.IncrementalAlterConfigOp, name, value string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		return kmsg.IncrementalAlterConfigsRequestResourceConfig{Op: code, Name: name, Value: kmsg.StringPtr(value)}
	}
	for _, tc := range []struct {
		name    string
		current map[string]string
		ops     []kmsg.IncrementalAlterConfigsRequestResourceConfig
		want    map[string]string
	}{
		{"append to the default", nil, []kmsg.IncrementalAlterConfigsRequestResourceConfig{op(2, "cleanup.policy", "compact")},
			map[string]string{"cleanup.policy": "delete,compact"}},
		{"append what is there", map[string]string{"cleanup.policy": "compact"},
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op(2, "cleanup.policy", "compact")},
			map[string]string{"cleanup.policy": "compact"}},
		{"subtract from the default", nil, []kmsg.IncrementalAlterConfigsRequestResourceConfig{op(3, "cleanup.policy", "delete")},
			map[string]string{"cleanup.policy": ""}},
		{"set then delete", map[string]string{"retention.ms": "1"},
			[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op(0, "segment.ms", "5"), op(1, "retention.ms", "")},
			map[string]string{"segment.ms": "5"}},
	} {
		got, err := applyConfigOps(tc.current, tc.ops, config.TopicKey)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Fatalf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
	}
	_, err := applyConfigOps(nil, []kmsg.IncrementalAlterConfigsRequestResourceConfig{op(2, "retention.ms", "5")}, config.TopicKey)
	if protocol.Code(err) != protocol.InvalidConfig {
		t.Fatalf("APPEND to a non-list key: %v, want INVALID_CONFIG", err)
	}
}

// compression.type reaches the log's Config from server.properties or a
// dynamic broker config as from a topic override, so that produce reads
// the stored codec from the partition's log, not the config layers.
func TestStoredCodecFromBrokerAndTopic(t *testing.T) {
	c, _, err := withDynamic(klog.DefaultConfig(), 1, map[string]string{"compression.type": "zstd", "compression.zstd.level": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if codec, level, ok := storedCodec(c); !ok || codec != protocol.CompressionZstd || level != 5 {
		t.Fatalf("broker compression.type=zstd level 5: codec %d level %d ok %v", codec, level, ok)
	}
	topic, err := topicLogConfig(c, map[string]string{"compression.type": "producer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := storedCodec(topic); ok {
		t.Fatal("a topic's compression.type=producer did not override the broker's zstd")
	}
	if _, _, ok := storedCodec(klog.DefaultConfig()); ok {
		t.Fatal("the default compression.type is not producer")
	}
}
