package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/gokafka/gokafka/test/harness"
)

// TestOneBootstrapBrokerDead kills one of three nodes and runs
// consumer-groups --list and --describe ten times each with all three
// nodes as bootstrap servers: any reachable broker must do, as with
// Kafka's tool.
func TestOneBootstrapBrokerDead(t *testing.T) {
	c := harness.StartT(t, 3, fast...)
	ok(t, c, "", "topics", "--create", "--topic", "topic-A", "--partitions", "3", "--replication-factor", "3")
	ok(t, c, "a\nb\nc\nd\n", "console-producer", "--topic", "topic-A")
	ok(t, c, "", "console-consumer", "--topic", "topic-A", "--group", "group-01", "--from-beginning", "--max-messages", "4")
	c.Nodes[1].Kill()
	start := time.Now()
	for i := range 10 {
		for _, args := range [][]string{{"consumer-groups", "--list"}, {"consumer-groups", "--describe", "--group", "group-01"}} {
			r := gokafka(t, c, "", args...)
			t.Logf("%v run %d after %v: exit %d\n%s%s", args, i, time.Since(start), r.code, r.out, r.err)
			if r.code != 0 || !strings.Contains(r.out, "group-01") {
				t.Errorf("%s run %d with node 2 dead: exit %d\n%s%s", strings.Join(args, " "), i, r.code, r.out, r.err)
			}
		}
	}
}
