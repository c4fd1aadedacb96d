package kafka

import (
	"syscall"
	"testing"

	"github.com/gokafka/gokafka/test/eos"
)

// TestETLOnKafka runs test/eos's consume-transform-produce scenario, the
// transaction coordinator SIGKILLed mid-stream, against a three-node Apache
// Kafka: the reference for what test/eos asserts of gokafka. If Kafka
// fails it too, the scenario, not gokafka, is wrong.
func TestETLOnKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Apache Kafka")
	}
	c, err := Start(t.TempDir(), 3, "384m")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.LogTails(40))
		}
		c.Stop()
	})
	eos.RunETLScenario(t, c.Seeds, eos.TxnCoordinatorVictim, func(id int32) {
		pid, err := c.Pid(int(id))
		if err == nil {
			err = syscall.Kill(pid, syscall.SIGKILL)
		}
		if err != nil {
			t.Fatalf("SIGKILL kafka node %d: %v", id, err)
		}
	}, eos.FranzGo)
}
