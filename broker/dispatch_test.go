package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// TestDispatchMatchesVersionTable keeps ApiVersions honest: every advertised
// API has a handler and every handler is advertised.
func TestDispatchMatchesVersionTable(t *testing.T) {
	advertised := map[int16]bool{}
	for _, k := range protocol.APIKeys() {
		advertised[k.ApiKey] = true
		if handlers[kmsg.Key(k.ApiKey)] == nil {
			t.Errorf("%s is advertised in ApiVersions but has no handler", kmsg.NameForKey(k.ApiKey))
		}
	}
	for k := range handlers {
		if !advertised[int16(k)] {
			t.Errorf("%s has a handler but is not advertised", kmsg.NameForKey(int16(k)))
		}
	}
}

func TestValidateTopicName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"orders", true},
		{"a.b_c-D9", true},
		{"__consumer_offsets", true},
		{"", false},
		{".", false},
		{"..", false},
		{"has space", false},
		{"slash/name", false},
		{"ünïcode", false},
		{string(make([]byte, 250)), false},
	} {
		err := validateTopicName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("validateTopicName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && protocol.Code(err) != protocol.InvalidTopicException {
			t.Errorf("validateTopicName(%q) code = %d, want INVALID_TOPIC_EXCEPTION", tc.name, protocol.Code(err))
		}
	}
}
