package broker

import (
	"testing"

	"github.com/gokafka/gokafka/protocol"
)

// From Produce v13 a topic without a name is an id the metadata lacks:
// UNKNOWN_TOPIC_ID, after the transactional id's refusal, which covers
// the whole request, as in Kafka.
func TestProduceRefusalByTopicID(t *testing.T) {
	c := &conn{b: &Broker{cfg: DefaultConfig()}} // no authorizer: every topic allowed
	for _, tc := range []struct {
		name      string
		txnDenied bool
		topic     string
		byID      bool
		want      protocol.ErrorCode
	}{
		{"known id", false, "a", true, protocol.None},
		{"unknown id", false, "", true, protocol.UnknownTopicID},
		{"unknown id, transactional id refused", true, "", true, authzProduceTxn.Error},
		{"by name", false, "a", false, protocol.None},
	} {
		if got := produceRefusal(c, tc.txnDenied, tc.topic, tc.byID); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
