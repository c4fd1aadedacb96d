package coordinator

import (
	"context"
	"slices"
	"testing"

	"github.com/gokafka/gokafka/protocol"
)

// A leader that proposes a broker the metadata shows fenced or shutting
// down for the ISR is refused with INELIGIBLE_REPLICA (KIP-841), and the
// ISR stays as it was.
func TestAlterPartitionRefusesIneligibleReplica(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	register(t, c, 1, 2, 3)
	r := createOne(t, c, CreateTopicSpec{Name: "elig", NumPartitions: -1, ReplicationFactor: -1,
		Assignment: []PartitionAssignment{{Partition: 0, Replicas: []int32{1, 2, 3}}}})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if err := c.ControlledShutdown(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	p := c.Metadata().Topic("elig").Partitions[0]
	if p.Leader != 1 || slices.Contains(p.ISR, 3) {
		t.Fatalf("after broker 3 shut down: %+v", p)
	}
	err := c.AlterPartitionISR(context.Background(), AlterPartition{Topic: "elig", Partition: 0, Leader: 1,
		LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: append(slices.Clone(p.ISR), 3)})
	if protocol.Code(err) != protocol.IneligibleReplica {
		t.Fatalf("proposing shut-down broker 3: %v, want INELIGIBLE_REPLICA", err)
	}
	if got := c.Metadata().Topic("elig").Partitions[0].ISR; !slices.Equal(got, p.ISR) {
		t.Fatalf("ISR %v after a refused change, want %v", got, p.ISR)
	}
}
