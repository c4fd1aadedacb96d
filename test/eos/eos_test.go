package eos

import (
	"testing"

	"github.com/gokafka/gokafka/test/harness"
)

// TestETLAcrossKills runs consume-transform-produce across a SIGKILL of the
// transaction coordinator and, on another cluster, of a partition leader,
// with franz-go's GroupTransactSession and with confluent-kafka: every
// input appears exactly once in the output read with read_committed, and
// the group's committed offsets end where the input does.
func TestETLAcrossKills(t *testing.T) {
	jobs := []struct {
		name string
		job  Job
	}{{"franz-go", FranzGo}, {"confluent-kafka", Confluent(t)}}
	for _, j := range jobs {
		for _, victim := range []Victim{TxnCoordinatorVictim, LeaderVictim} {
			t.Run(j.name+"/"+string(victim), func(t *testing.T) {
				c := harness.StartT(t, 3)
				RunETLScenario(t, c.Seeds(), victim, func(id int32) { killNode(t, c, id) }, j.job)
			})
		}
	}
}

func killNode(t *testing.T, c *harness.Cluster, id int32) {
	for _, n := range c.Nodes {
		if int32(n.ID) == id {
			n.Kill()
			return
		}
	}
	t.Fatalf("no node %d to kill", id)
}
