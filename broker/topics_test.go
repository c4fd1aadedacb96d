package broker

import (
	"testing"

	"github.com/gokafka/gokafka/protocol"
)

// The names Kafka's controller refuses before creating a topic.
func TestCheckNewTopicName(t *testing.T) {
	md := image(1, "a.b", "orders")
	for _, tc := range []struct {
		name string
		want protocol.ErrorCode
	}{
		{"fresh", protocol.None},
		{"orders", protocol.None}, // the controller answers TOPIC_ALREADY_EXISTS
		{"a.b", protocol.None},
		{"a_b", protocol.InvalidTopicException},
		{"a.c", protocol.None},
		{"__cluster_metadata", protocol.InvalidRequest},
		{"../../escaped", protocol.InvalidTopicException},
		{"", protocol.InvalidTopicException},
	} {
		if got := protocol.Code(checkNewTopicName(md, tc.name)); got != tc.want {
			t.Errorf("checkNewTopicName(%q) = %d, want %d", tc.name, got, tc.want)
		}
	}
}
