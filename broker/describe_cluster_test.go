package broker

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gokafka/gokafka/coordinator"
)

// The broker list leaves fenced brokers out, unless DescribeCluster v2
// asks for them (IncludeFencedBrokers); either way only endpoints on the
// client's listener are named, ordered by id.
func TestBrokerListWithFenced(t *testing.T) {
	ep := func(port int32) []coordinator.Endpoint {
		return []coordinator.Endpoint{{Name: "PLAINTEXT", Host: "h", Port: port}, {Name: "CONTROLLER", Host: "h", Port: port + 1}}
	}
	md := &coordinator.Metadata{Brokers: map[int32]*coordinator.Broker{
		3: {ID: 3, Listeners: ep(30)},
		1: {ID: 1, Listeners: ep(10), Fenced: true},
		2: {ID: 2, Listeners: ep(20)},
		4: {ID: 4, Listeners: []coordinator.Endpoint{{Name: "SSL", Host: "h", Port: 40}}},
	}}
	list := func(fenced bool) []string {
		var out []string
		for _, mb := range (&Broker{}).brokerList(md, "PLAINTEXT", fenced) {
			out = append(out, fmt.Sprintf("%d:%d", mb.NodeID, mb.Port))
		}
		return out
	}
	if got, want := list(false), []string{"2:20", "3:30"}; !slices.Equal(got, want) {
		t.Errorf("live brokers %v, want %v", got, want)
	}
	if got, want := list(true), []string{"1:10", "2:20", "3:30"}; !slices.Equal(got, want) {
		t.Errorf("with the fenced %v, want %v", got, want)
	}
}
