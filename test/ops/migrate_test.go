package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestMigratedKafka30Cluster follows MIGRATING.md: the three-node
// walkthrough's ZooKeeper-mode files (Kafka 3.0.0's stock server.properties,
// each edited for its node) are refused by gokafka-server --config with
// exit code 2, migrated with gokafka-server migrate-config, and the three
// migrated files, unedited, start a cluster on hosts h1..h3 that takes
// acks=all writes and serves them to a consumer group.
func TestMigratedKafka30Cluster(t *testing.T) {
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	stock, err := os.ReadFile(filepath.Join(root, "cmd", "gokafka-server", "testdata", "kafka-3.0.0-server.properties"))
	if err != nil {
		t.Fatal(err)
	}
	net := harness.NewNetT(t, "h1", "h2", "h3")
	bin := harness.Binary(t)
	const voters = "1@h1:9093,2@h2:9093,3@h3:9093"
	var nodes []*harness.Node
	var seeds []string
	for i, h := range net.Hosts {
		id := i + 1
		// The walkthrough's edits. Clients here run outside the hosts'
		// namespaces, where h1..h3 do not resolve: they are advertised by
		// address, as a DNS name would be.
		old := editLines(t, string(stock), map[int]string{
			21:  fmt.Sprintf("broker.id=%d", id),
			31:  fmt.Sprintf("listeners=PLAINTEXT://%s:9092", h.Name),
			36:  fmt.Sprintf("advertised.listeners=PLAINTEXT://%s:9092", h.Addr),
			60:  "log.dirs=" + filepath.Join(t.TempDir(), "kafka-logs"),
			123: "zookeeper.connect=zk1:2181,zk2:2181,zk3:2181",
		})
		oldPath := filepath.Join(t.TempDir(), "server.properties")
		if err := os.WriteFile(oldPath, []byte(old), 0o644); err != nil {
			t.Fatal(err)
		}
		refused, err := exec.Command(bin, "--config", oldPath).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || strings.Count(string(refused), "gokafka-server: error: ") != 3 {
			t.Fatalf("gokafka-server --config with the Kafka 3.0 file: %v, want exit code 2 and three problems:\n%s", err, refused)
		}
		migrated, err := exec.Command(bin, "migrate-config", "--node-id", fmt.Sprint(id), "--voters", voters, oldPath).Output()
		if err != nil {
			t.Fatalf("migrate-config: %v", err)
		}
		nd := h.StartNodeT(t, bin, id, strings.Split(string(migrated), "\n"), h.Addr+":9092", 9644)
		nodes, seeds = append(nodes, nd), append(seeds, nd.KafkaAddr)
	}
	for _, nd := range nodes {
		if err := nd.WaitReady(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic("topic-A"),
		kgo.ConsumeTopics("topic-A"), kgo.ConsumerGroup("group-A"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 3, 3, nil, "topic-A"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	produce(t, ctx, cl, 0, 300)
	consume(t, ctx, cl, seen, 300)
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	offsets, err := adm.FetchOffsets(ctx, "group-A")
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offsets.Each(func(o kadm.OffsetResponse) { committed += o.At })
	if committed != 300 {
		t.Errorf("group-A committed %d records' offsets, want 300", committed)
	}
}

// editLines replaces lines of text, numbered from 1.
func editLines(t *testing.T, text string, edits map[int]string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	for n, line := range edits {
		if n > len(lines) {
			t.Fatalf("no line %d", n)
		}
		lines[n-1] = line
	}
	return strings.Join(lines, "\n")
}
