package protocol

import (
	"strings"
	"testing"
)

func TestValidTopicName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"orders", true},
		{"a.b_c-D9", true},
		{"__consumer_offsets", true},
		{strings.Repeat("a", 249), true},
		{"", false},
		{".", false},
		{"..", false},
		{"../../escaped", false},
		{"has space", false},
		{"slash/name", false},
		{`back\slash`, false},
		{"nul\x00", false},
		{"ünïcode", false},
		{strings.Repeat("a", 250), false},
	} {
		err := ValidTopicName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidTopicName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && Code(err) != InvalidTopicException {
			t.Errorf("ValidTopicName(%q) code = %d, want INVALID_TOPIC_EXCEPTION", tc.name, Code(err))
		}
	}
}

func TestTopicNamesCollide(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"a.b", "a_b", true},
		{"a_b", "a.b", true},
		{"a.b", "a.b", true},
		{"a.b.c", "a_b.c", true},
		{"a.b", "a-b", false},
		{"ab", "a_b", false},
	} {
		if got := TopicNamesCollide(tc.a, tc.b); got != tc.want {
			t.Errorf("TopicNamesCollide(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestIsInternalTopic(t *testing.T) {
	for name, want := range map[string]bool{
		ConsumerOffsetsTopic: true, TransactionStateTopic: true, ClusterMetadataTopic: false, "orders": false,
	} {
		if got := IsInternalTopic(name); got != want {
			t.Errorf("IsInternalTopic(%q) = %v, want %v", name, got, want)
		}
	}
}
