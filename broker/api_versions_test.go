package broker

import (
	"testing"

	"github.com/gokafka/gokafka/protocol"
)

// ApiVersions v5 (KIP-1242): a client that names the cluster and node it
// means to reach hears REBOOTSTRAP_REQUIRED where either is another; half
// a name is INVALID_REQUEST; none, while bootstrapping, passes.
func TestIntendedNodeMismatch(t *testing.T) {
	ours, other, empty := "c1", "c2", ""
	for _, tc := range []struct {
		name    string
		cluster *string
		node    int32
		want    protocol.ErrorCode
	}{
		{"bootstrapping", nil, -1, protocol.None},
		{"this node", &ours, 3, protocol.None},
		{"another cluster", &other, 3, protocol.RebootstrapRequired},
		{"another node", &ours, 4, protocol.RebootstrapRequired},
		{"empty cluster id", &empty, 3, protocol.RebootstrapRequired},
		{"cluster without node", &ours, -1, protocol.InvalidRequest},
		{"node without cluster", nil, 3, protocol.InvalidRequest},
		{"negative node", &ours, -7, protocol.RebootstrapRequired},
	} {
		if got := intendedNodeMismatch(tc.cluster, tc.node, ours, 3); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	// Before the metadata is read this node knows no cluster id: a client
	// that does is not sent away for it, but for another node id it is.
	if got := intendedNodeMismatch(&other, 3, "", 3); got != protocol.None {
		t.Errorf("cluster id not known yet: %d, want NONE", got)
	}
	if got := intendedNodeMismatch(&other, 4, "", 3); got != protocol.RebootstrapRequired {
		t.Errorf("cluster id not known yet, another node: %d, want REBOOTSTRAP_REQUIRED", got)
	}
}
