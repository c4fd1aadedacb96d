package broker

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// DescribeClientQuotas answers that no client quota is set: gokafka
// enforces none yet. Kafka's kafka-configs.sh asks for quotas whenever it
// describes users, so answering (rather than not serving the API) is what
// lets the tool describe SCRAM users here.

// quotaEntityTypes are the entity types Kafka knows.
var quotaEntityTypes = map[string]bool{"user": true, "client-id": true, "ip": true}

func handleDescribeClientQuotas(b *Broker, c *conn, req *kmsg.DescribeClientQuotasRequest) *kmsg.DescribeClientQuotasResponse {
	out := kmsg.NewPtrDescribeClientQuotasResponse()
	if err := c.check(authzDescribeQuotas, ""); err != nil {
		out.ErrorCode = int16(protocol.Code(err))
		return out
	}
	seen := map[string]bool{}
	for _, comp := range req.Components {
		var msg string
		switch {
		case !quotaEntityTypes[comp.EntityType]:
			msg = fmt.Sprintf("Custom entity type '%s' not supported", comp.EntityType)
		case seen[comp.EntityType]:
			msg = fmt.Sprintf("Duplicate %s filter component entity type", comp.EntityType)
		case comp.MatchType < 0 || comp.MatchType > 2:
			msg = fmt.Sprintf("Unexpected match type: %d", comp.MatchType)
		}
		if msg != "" {
			out.ErrorCode, out.ErrorMessage = int16(protocol.InvalidRequest), &msg
			return out
		}
		seen[comp.EntityType] = true
	}
	out.Entries = []kmsg.DescribeClientQuotasResponseEntry{} // null makes Java's admin client throw
	return out
}
