package hostile

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gokafka/gokafka/auth"
)

// controllerSASL puts the controller listener on SASL_PLAINTEXT with
// PLAIN: the nodes authenticate to each other as "node".
var controllerSASL = []string{
	"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
	"sasl.mechanism.controller.protocol=PLAIN",
	"listener.name.controller.sasl.enabled.mechanisms=PLAIN",
	`listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="node" password="node-secret" user_node="node-secret";`,
}

// TestControllerSASLStrangers: three shipped nodes form their quorum over
// a SASL_PLAINTEXT controller listener. A stranger that sends a
// registration or a Raft frame without SASL, garbage, a huge announced
// frame, a wrong password or SCRAM is closed; no broker is registered,
// the quorum keeps its voters and every acknowledged record survives.
func TestControllerSASLStrangers(t *testing.T) {
	tg := newTarget(t, 3, controllerSASL...)
	reg := kmsg.NewPtrBrokerRegistrationRequest()
	reg.BrokerID, reg.ClusterID = 99, "x"
	reg.Listeners = []kmsg.BrokerRegistrationRequestListener{{Name: "PLAINTEXT", Host: "evil", Port: 9092}}
	raw := func(payload []byte) func(addr string) net.Conn {
		return func(addr string) net.Conn {
			nc := dial(t, addr)
			nc.Write(payload)
			return nc
		}
	}
	probes := map[string]func(addr string) net.Conn{
		"registration without SASL": raw(append([]byte{connController}, ctrlRequest(reg)...)),
		"Raft frame without SASL":   raw([]byte{0x01, 0x00, 0x01, 0x02, 0x03}),
		"garbage":                   raw([]byte(strings.Repeat("\x16\x03\x01\xff\xff", 1000))),
		"huge announced frame":      raw(binary.BigEndian.AppendUint32(nil, 1<<31-1)),
		"wrong password": func(addr string) net.Conn {
			return saslProbe(t, addr, plain.Auth{User: "node", Pass: "guess"}.AsMechanism(), "SASL_AUTHENTICATION_FAILED")
		},
		"SCRAM": func(addr string) net.Conn {
			return saslProbe(t, addr, scram.Auth{User: "node", Pass: "node-secret"}.AsSha512Mechanism(), "UNSUPPORTED_SASL_MECHANISM")
		},
	}
	for name, probe := range probes {
		for _, nd := range tg.c.Nodes {
			nc := probe(nd.CtrlAddr)
			if !closedByPeer(nc, 12*time.Second) {
				t.Errorf("%s on node %d: the connection stayed open", name, nd.ID)
			}
		}
	}
	if !strings.Contains(tg.c.Nodes[0].Log(), "controller listener: refused a connection") {
		t.Error("node 1 logged no refusal")
	}
	tg.checkQuorumOfThree()
}

// checkQuorumOfThree checks after probes on the controller listeners that
// the brokers are nodes 1-3 only and the quorum has its three voters,
// then runs check.
func (tg *target) checkQuorumOfThree() {
	t := tg.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := tg.client()
	defer cl.Close()
	brokers, err := kadm.NewClient(cl).ListBrokers(ctx)
	if err != nil || len(brokers) != 3 {
		t.Errorf("brokers after the probes: %v, %v; want nodes 1-3 only", brokers.NodeIDs(), err)
	}
	dq := kmsg.NewPtrDescribeQuorumRequest()
	dq.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: "__cluster_metadata", Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{}}}}
	resp, err := dq.RequestWith(ctx, cl)
	if err != nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || len(resp.Topics[0].Partitions[0].CurrentVoters) != 3 {
		t.Errorf("quorum after the probes: %+v, %v; want three voters", resp, err)
	}
	tg.check()
}

// saslProbe runs a SASL exchange with mech, which the node must refuse
// with the error code want, and then sends a registration's kind byte.
func saslProbe(t *testing.T, addr string, mech sasl.Mechanism, want string) net.Conn {
	t.Helper()
	nc := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := auth.Authenticate(ctx, nc, "stranger", mech); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s on %s: %v, want %s", mech.Name(), addr, err, want)
	}
	nc.Write([]byte{connController})
	return nc
}
