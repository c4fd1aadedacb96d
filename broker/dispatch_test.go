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
