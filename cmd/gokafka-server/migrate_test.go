package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/properties"
)

const threeVoters = "1@h1:9093,2@h2:9093,3@h3:9093"

// TestMigrateKafka30 migrates each node's file of the walkthrough, the
// stock Kafka 3.0 one edited, and checks that the result loads without a
// problem or warning and keeps what the old file said.
func TestMigrateKafka30(t *testing.T) {
	for node := 1; node <= 3; node++ {
		for _, edits := range []map[int]string{nil, {39: "listener.security.protocol.map=" + kafkaProtocolMap}} {
			path := kafka30(t, node, edits)
			out, err := migrateFile(path, fmt.Sprint(node), threeVoters)
			if err != nil {
				t.Fatal(err)
			}
			p, err := properties.Parse(strings.NewReader(out))
			if err != nil {
				t.Fatalf("the migrated file does not parse: %v\n%s", err, out)
			}
			c, warnings, err := parseConfig("migrated", p)
			if err != nil || len(warnings) > 0 {
				t.Fatalf("node %d: the migrated file gives problems %v and warnings %q:\n%s", node, err, warnings, out)
			}
			host := fmt.Sprintf("h%d", node)
			for what, ok := range map[string]bool{
				"node.id":              c.Broker.NodeID == int32(node) && c.Coordinator.NodeID == int32(node),
				"a voter":              c.Coordinator.Voter && len(c.Coordinator.Voters) == 3 && c.Coordinator.AdvertisedAddr == host+":9093",
				"controller listener":  c.Coordinator.ListenAddr == ":9093",
				"listeners":            slices.Equal(c.Broker.Listeners, []broker.Listener{{Name: "PLAINTEXT", Host: host, Port: 9092}}),
				"advertised.listeners": slices.Equal(c.Broker.AdvertisedListeners, []broker.Listener{{Name: "PLAINTEXT", Host: host, Port: 9092}}),
				"log.dirs":             slices.Equal(c.Log.Dirs, []string{"/var/lib/kafka"}),
				"log.retention.hours":  c.Log.Defaults.RetentionMs == (168 * time.Hour).Milliseconds(),
				"socket buffers":       c.Broker.SocketSendBufferBytes == 102400 && c.Broker.SocketReceiveBufferBytes == 102400,
				"replication defaults": c.Broker.OffsetsTopicReplicationFactor == 1,
				"zookeeper.connect dropped with a comment": strings.Contains(out,
					"#   line 123: gokafka's embedded Raft coordinator replaces ZooKeeper\n# zookeeper.connect=zk1:2181,zk2:2181,zk3:2181\n"),
				"broker.id dropped with a comment": strings.Contains(out, fmt.Sprintf("#   line 21: node.id=%d replaces it\n# broker.id=%d\n", node, node)),
			} {
				if !ok {
					t.Errorf("node %d: %s not carried over:\n%s", node, what, out)
				}
			}
		}
	}
}

// TestMigrateBrokerOnly migrates a node outside --voters: a broker that
// advertises its controller listener for Raft to reach it.
func TestMigrateBrokerOnly(t *testing.T) {
	out, err := migrateFile(kafka30(t, 4, nil), "4", threeVoters)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := properties.Parse(strings.NewReader(out))
	c, _, err := parseConfig("migrated", p)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if c.Coordinator.Voter || slices.Contains(c.Roles, "controller") || c.Coordinator.AdvertisedAddr != "h4:9093" {
		t.Errorf("roles %v, voter %v, Raft address %s; want a broker reached at h4:9093", c.Roles, c.Coordinator.Voter, c.Coordinator.AdvertisedAddr)
	}
}

// TestMigrateRefuses covers hostile and wrong input: each gives a clear
// error naming the file and line, or the flag.
func TestMigrateRefuses(t *testing.T) {
	tests := []struct {
		name          string
		file          string // "" for the walkthrough's node 1
		nodeID, votes string
		want          string // %s is the file
	}{
		{"garbage", "\x7fELF\x02\x01\x01\x00\x00\x00\x00", "1", threeVoters, "%s:1: control character"},
		{"huge line", "log.dirs=" + strings.Repeat("/x", properties.MaxLineBytes), "1", threeVoters, "%s:1: line of 131081 bytes"},
		{"huge file", strings.Repeat("# padding\n", properties.MaxBytes/10+1), "1", threeVoters, "%s: more than 1048576 bytes"},
		{"node id not a number", "", "one", threeVoters, "--node-id one: must be a number from 0 to 2147483647"},
		{"node id negative", "", "-1", threeVoters, "--node-id -1: must be a number"},
		{"node id missing", "", "", threeVoters, `--node-id "": must be a number`},
		{"voters missing", "", "1", "", `--voters "": no voter given`},
		{"voters without port", "", "1", "1@h1,2@h2", "--voters 1@h1,2@h2: 1@h1: \"h1\" has no port"},
		{"voters twice", "", "1", "1@h1:9093,1@h2:9093", "node id 1 appears twice"},
		{"voters junk", "", "1", "h1:9093", "--voters h1:9093: h1:9093 is not id@host:port"},
		{"controller port taken", "broker.id=1\nlisteners=PLAINTEXT://:9093\n", "1", threeVoters,
			"%s:2: listeners=PLAINTEXT://:9093: port 9093 is node 1's controller port in --voters"},
		{"controller name taken", "listeners=CONTROLLER://:9092\n", "1", threeVoters,
			"%s:1: listeners=CONTROLLER://:9092: the listener name CONTROLLER is taken"},
		{"bad listeners", "listeners=PLAINTEXT:9092\n", "1", threeVoters, "%s:1: listeners=PLAINTEXT:9092: PLAINTEXT:9092 is not NAME://host:port"},
		{"bad kept value", "num.partitions=many\n", "1", threeVoters, "%s:1: num.partitions=many: Not a number of type INT"},
		{"secret not echoed", "ssl.client.auth=maybe\nssl.keystore.password=hunter2\n", "1", threeVoters, "%s:1: ssl.client.auth=maybe: String must be one of"},
		{"broker-only without host", "listeners=PLAINTEXT://:9092\n", "4", threeVoters, "%s:1: listeners=PLAINTEXT://:9092: node 4 is not in --voters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.properties")
			if tt.file == "" {
				path = kafka30(t, 1, nil)
			} else if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := migrateFile(path, tt.nodeID, tt.votes)
			want := strings.Replace(tt.want, "%s", path, 1)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want it to say %q; output:\n%s", err, want, out)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("a password is echoed: %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, path) && !strings.HasPrefix(line, "--") {
					t.Errorf("%q names neither the file nor a flag", line)
				}
			}
		})
	}
}

// FuzzMigrateConfig checks that no input panics migrate-config, that every
// problem names the file or a flag, and that what it writes reads back with
// the node id and voters asked for and every kept key's value unchanged.
func FuzzMigrateConfig(f *testing.F) {
	stock, err := os.ReadFile("testdata/kafka-3.0.0-server.properties")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(stock), "1", threeVoters)
	f.Add(string(stock), "4", threeVoters)
	f.Add("listeners=SSL://[::1]:9092\nlistener.security.protocol.map=SSL:SSL\nfoo=bar\n", "0", "0@[::1]:9093")
	f.Add("listeners=PLAINTEXT://:9093", "1", "1@h:9093")
	f.Add("a\\\n b=\\u0041\nzookeeper.x=1", "2147483647", "2147483647@h:1")
	f.Fuzz(func(t *testing.T, text, nodeID, voters string) {
		old, err := properties.Parse(strings.NewReader(text))
		if err != nil {
			return
		}
		out, err := migrateConfig("old.properties", old, nodeID, voters)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "old.properties:") && !strings.HasPrefix(line, "--") {
					t.Fatalf("%q names neither the file nor a flag", line)
				}
			}
			return
		}
		p, err := properties.Parse(strings.NewReader(out))
		if err != nil {
			t.Fatalf("the output does not parse: %v\n%s", err, out)
		}
		if id, _ := p.Get("node.id"); id != strings.TrimSpace(nodeID) {
			t.Fatalf("node.id=%s, asked for %q", id, nodeID)
		}
		if _, ok := p.Get("controller.quorum.voters"); !ok {
			t.Fatal("no controller.quorum.voters")
		}
		for _, k := range p.Keys() {
			if slices.Contains(rewritten, k) {
				continue
			}
			if want, ok := old.Get(k); !ok || want != must(p.Get(k)) {
				t.Fatalf("%s=%q, the old file has %q", k, must(p.Get(k)), want)
			}
		}
	})
}

func must(v string, _ bool) string { return v }
