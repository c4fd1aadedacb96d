package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A node restarted on a full disk halts with a line that names the
// directory and the cause, or starts and serves; it never runs on unready
// (startOnFullDisk). Its Raft store (raft.db) is what the full disk stops
// here: the restarted follower must append what was committed while it
// was down, and 200 new topics are more than the free pages bbolt keeps.
// Given its space back, it starts and catches up.
func TestRestartOnFullDisk(t *testing.T) {
	c := startCluster(t)
	c.createTopics([]string{"full-before"}, 2)
	produce(t, c.client(kgo.DefaultProduceTopic("full-before")), "before", 20)
	nd := c.node(3)
	nd.Kill()
	fill := filepath.Join(nd.DataDir(), "chaos-fill")
	if err := fillDisk(fill); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range 200 {
		names = append(names, fmt.Sprintf("full-while-down-%03d", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(c.admin).CreateTopics(ctx, 2, 2, nil, names...); err != nil {
		t.Fatal(err)
	}
	what, err := c.startOnFullDisk(3)
	t.Log(what)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := nd.WaitReady(60 * time.Second); err != nil {
		t.Fatal(err)
	}
}
