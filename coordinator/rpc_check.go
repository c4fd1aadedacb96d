package coordinator

import (
	"fmt"
	"net"

	"github.com/gokafka/gokafka/protocol"
)

// check verifies that req carries what its operation needs, before any
// field is used: a forwarded request is input from the network and may be
// anything. Names are checked where they are looked up or created (topics,
// partitions, configs); this checks the shape.
func (req *rpcRequest) check() error {
	bad := func(format string, args ...any) error {
		return protocol.Errorf(protocol.InvalidRequest, "controller operation %s: %s", req.Op, fmt.Sprintf(format, args...))
	}
	switch req.Op {
	case rpcRegister:
		if req.Registration == nil {
			return bad("no registration")
		}
		return checkRegistration(req.Registration)
	case rpcAlterPartition:
		if len(req.Alters) == 0 || len(req.Alters) > MaxAlterPartitions {
			return bad("%d partitions to alter; 1 to %d may be", len(req.Alters), MaxAlterPartitions)
		}
	case rpcAlterConfigs, rpcAlterBrokerConfigs:
		if len(req.Names) != 1 {
			return bad("one resource name is needed, got %d", len(req.Names))
		}
	case rpcJoin:
		if req.BrokerID < 0 {
			return bad("node id %d is negative", req.BrokerID)
		}
		if _, _, err := net.SplitHostPort(req.Addr); err != nil {
			return bad("address %q: %v", req.Addr, err)
		}
	}
	return nil
}

// checkRegistration refuses a registration no broker could have sent.
func checkRegistration(r *BrokerRegistration) error {
	if r.ID < 0 {
		return protocol.Errorf(protocol.InvalidRequest, "broker id %d is negative", r.ID)
	}
	for _, l := range r.Listeners {
		if l.Name == "" || l.Port < 0 || l.Port > 65535 {
			return protocol.Errorf(protocol.InvalidRequest, "broker %d: listener %+v needs a name and a port in 0..65535", r.ID, l)
		}
	}
	return nil
}
