package hostile

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gokafka/gokafka/test/harness"
)

// securedTarget is three nodes in the secured layout: SASL_SSL clients,
// mTLS between nodes on the controller listener.
func securedTarget(t *testing.T) (*target, *harness.PKI) {
	t.Helper()
	pki := harness.NewPKI(t)
	return securedTargetWith(t, pki), pki
}

func securedTargetWith(t *testing.T, pki *harness.PKI, extra ...string) *target {
	t.Helper()
	s := &harness.Secured{PKI: pki, Admin: "admin", AdminPassword: "admin-secret"}
	c := harness.StartWithT(t, harness.ShippedBinary(t), 3, s.Listen, append(s.Props(), extra...)...)
	opts := []kgo.Opt{kgo.DialTLSConfig(pki.ClientTLS(nil)),
		kgo.SASL(scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism())}
	return newTargetOn(t, c, opts)
}

// TestControllerTLSStrangers: on a sealed controller listener, a stranger
// with no certificate, one from another CA, a plaintext registration or
// Raft frame, or garbage, is closed before anything it sends is read; no
// broker is registered, the quorum keeps its members and every
// acknowledged record survives.
func TestControllerTLSStrangers(t *testing.T) {
	other := harness.NewPKI(t)              // before the target, which watches the test's files
	stranger, err := other.Client("node-1") // a plausible name, the wrong CA
	if err != nil {
		t.Fatal(err)
	}
	tg, pki := securedTarget(t)
	reg := kmsg.NewPtrBrokerRegistrationRequest()
	reg.BrokerID, reg.ClusterID = 99, "x"
	reg.Listeners = []kmsg.BrokerRegistrationRequestListener{{Name: "PLAINTEXT", Host: "evil", Port: 9092}}
	probes := map[string]func(addr string) net.Conn{
		"plaintext registration": func(addr string) net.Conn {
			nc := dial(t, addr)
			nc.Write(append([]byte{connController}, ctrlRequest(reg)...))
			return nc
		},
		"plaintext Raft frame": func(addr string) net.Conn {
			nc := dial(t, addr)
			nc.Write([]byte{0x01, 0x00, 0x01, 0x02, 0x03})
			return nc
		},
		"garbage": func(addr string) net.Conn {
			nc := dial(t, addr)
			nc.Write([]byte(strings.Repeat("\x16\x03\x01\xff\xff", 1000)))
			return nc
		},
		"TLS without a certificate": func(addr string) net.Conn {
			return tlsProbe(t, addr, pki.ClientTLS(nil))
		},
		"TLS with another CA's certificate": func(addr string) net.Conn {
			cfg := pki.ClientTLS(stranger)
			return tlsProbe(t, addr, cfg)
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
	tg.checkQuorumOfThree()
}

// tlsProbe handshakes with cfg and, if the node lets it through, writes a
// registration; the node must close it either way.
func tlsProbe(t *testing.T, addr string, cfg *tls.Config) net.Conn {
	t.Helper()
	nc := dial(t, addr)
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	tc := tls.Client(nc, cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err == nil {
		tc.Write([]byte{connController})
	}
	return tc
}

// TestControllerTLSAuthorizesPeers: with an authorizer, the controller
// listener admits a certificate only if its principal may ClusterAction
// on the cluster. The nodes' principals (mapped by the controller
// listener's ssl.principal.mapping.rules) are super users and form the
// quorum; a client certificate from the same CA is closed.
func TestControllerTLSAuthorizesPeers(t *testing.T) {
	pki := harness.NewPKI(t)
	alice, err := pki.Client("alice") // before the target, which watches the test's files
	if err != nil {
		t.Fatal(err)
	}
	tg := securedTargetWith(t, pki,
		"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"listener.name.controller.ssl.principal.mapping.rules=RULE:^CN=(node-[0-9]+)-.*$/$1/,DEFAULT",
		"super.users=User:admin;User:node-1;User:node-2;User:node-3")
	for _, nd := range tg.c.Nodes {
		nc := tlsProbe(t, nd.CtrlAddr, pki.ClientTLS(alice))
		if !closedByPeer(nc, 12*time.Second) {
			t.Errorf("node %d admitted User:CN=alice to the controller listener", nd.ID)
		}
	}
	if !strings.Contains(tg.c.Nodes[0].Log(), `peer \"CN=alice\" is not authorized`) {
		t.Error("node 1 did not log the refused principal")
	}
	tg.check()
}
