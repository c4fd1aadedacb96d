package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kafka30 is Kafka 3.0.0's stock config/server.properties (ZooKeeper mode)
// as one node of the three-node walkthrough edits it: its own broker.id,
// listeners, advertised listeners, log.dirs and the three ZooKeeper hosts.
// edits maps a 1-based line of the stock file to what replaces it.
func kafka30(t *testing.T, node int, edits map[int]string) string {
	t.Helper()
	stock, err := os.ReadFile("testdata/kafka-3.0.0-server.properties")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(stock), "\n")
	host := "h" + string(rune('0'+node))
	walkthrough := map[int]string{
		21:  "broker.id=" + string(rune('0'+node)),
		31:  "listeners=PLAINTEXT://" + host + ":9092",
		36:  "advertised.listeners=PLAINTEXT://" + host + ":9092",
		60:  "log.dirs=/var/lib/kafka",
		123: "zookeeper.connect=zk1:2181,zk2:2181,zk3:2181",
	}
	for _, m := range []map[int]string{walkthrough, edits} {
		for n, text := range m {
			if n == 21 || n == 31 || n == 36 || n == 39 || n == 60 || n == 123 {
				if !strings.Contains(lines[n-1], "=") {
					t.Fatalf("line %d of the stock file is %q, not a setting", n, lines[n-1])
				}
			}
			lines[n-1] = text
		}
	}
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKafka30FileAllProblemsAtOnce feeds the walkthrough's ZooKeeper-mode
// file, which took four starts to get through one problem at a time: one
// run must name all of them, each with its file and line, key and value,
// and the line to write instead.
func TestKafka30FileAllProblemsAtOnce(t *testing.T) {
	for _, tt := range []struct {
		name  string
		edits map[int]string
		want  []string // each must be one whole line of the output, in this order
	}{
		{"stock map", nil, []string{
			"%s:123: zookeeper.connect=zk1:2181,zk2:2181,zk3:2181: not used: gokafka's embedded coordinator replaces ZooKeeper; remove this line and add controller.quorum.voters=1@zk1:9093,2@zk2:9093,3@zk3:9093, with the ids and hosts of the nodes whose process.roles include controller (gokafka-server migrate-config writes it)",
			"%s: process.roles is missing: set broker, controller, or broker,controller; add: process.roles=broker,controller",
			"%s:31: listeners=PLAINTEXT://h1:9092: no controller listener named CONTROLLER (controller.listener.names): every node needs one, a broker-only node too, since Raft replicates the metadata to it there; write instead: listeners=PLAINTEXT://h1:9092,CONTROLLER://:9093",
		}},
		// The walkthrough uncommented Kafka's stock map, which lacks the
		// controller listener: the fourth start's problem.
		{"explicit map", map[int]string{39: "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"}, []string{
			"%s:123: zookeeper.connect=zk1:2181,zk2:2181,zk3:2181: not used: ",
			"%s: process.roles is missing: ",
			"%s:31: listeners=PLAINTEXT://h1:9092: no controller listener named CONTROLLER",
			"%s:39: listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL: listener CONTROLLER has no security protocol; write instead: listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT (or the protocol it needs)",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := kafka30(t, 1, tt.edits)
			_, warnings, err := loadConfig(path)
			if err == nil {
				t.Fatal("a ZooKeeper-mode file loads")
			}
			var out bytes.Buffer
			reportConfig(&out, warnings, err)
			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			want := append([]string(nil), tt.want...)
			want = append(want, "warning: %s:126: zookeeper.connection.timeout.ms=18000: a ZooKeeper-mode Kafka key that gokafka does not use (gokafka's embedded Raft coordinator replaces ZooKeeper); remove this line")
			if len(got) != len(want)+1 || got[len(got)-1] != "gokafka-server: nothing started" {
				t.Errorf("%d lines, want %d and the last to say nothing started:\n%s", len(got), len(want)+1, out.String())
			}
			for i, w := range want {
				w = "gokafka-server: " + strings.Replace(w, "%s", path, 1)
				if !strings.HasPrefix(w, "gokafka-server: warning: ") {
					w = strings.Replace(w, "gokafka-server: ", "gokafka-server: error: ", 1)
				}
				if i >= len(got) || !strings.HasPrefix(got[i], w) {
					t.Errorf("line %d of the report:\n%s\nwant it to start with\n%s", i+1, out.String(), w)
				}
			}
		})
	}
}

// TestKafka30FileExitsWithoutStarting runs the command as an operator
// would: exit code 2 and nothing created in log.dirs.
func TestKafka30FileExitsWithoutStarting(t *testing.T) {
	dirs := filepath.Join(t.TempDir(), "data")
	path := kafka30(t, 1, map[int]string{60: "log.dirs=" + dirs})
	if code := run([]string{"--config", path}); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if _, err := os.Stat(dirs); !os.IsNotExist(err) {
		t.Errorf("log.dirs %s was touched: %v", dirs, err)
	}
}
