package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// authorized reports whether the connection's principal may perform op on
// the resource, as authorizer.class.name's ACLs say; without an authorizer
// everything is allowed, as in Kafka.
func (c *conn) authorized(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	a := c.b.cfg.Authorizer
	if a == nil {
		return true
	}
	return a.Authorize(c.b.coord.Metadata().ACLs, c.principal, c.ip, op, rt, name)
}

// clusterName is the one cluster resource's name in ACLs.
const clusterName = "kafka-cluster"
