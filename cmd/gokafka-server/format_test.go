package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokafka/gokafka/coordinator"
)

func storageConfig(t *testing.T) (*serverConfig, string) {
	dir := t.TempDir()
	cfg, _ := mustParse(t, minimal+"log.dirs="+dir+"\n")
	return cfg, dir
}

// TestMetaPropertiesGoldenBytes pins the layout kafka-storage format writes
// and reads back a Kafka 3.x file and a ZooKeeper-era one.
func TestMetaPropertiesGoldenBytes(t *testing.T) {
	m := metaProperties{Version: 1, NodeID: 3, ClusterID: "MkU3OEVBNTcwNTJENDM2Qk", DirectoryID: "J8aAPcfLQt2bqs1JT_rMgQ"}
	want := "#\n#Written by gokafka-server\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\nnode.id=3\nversion=1\n"
	if got := string(m.encode()); got != want {
		t.Fatalf("encode:\n%s\nwant:\n%s", got, want)
	}
	kafka := "#\n#Mon Nov 25 10:00:00 UTC 2024\nnode.id=3\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n"
	if got, err := parseMetaProperties([]byte(kafka)); err != nil || got != m {
		t.Fatalf("Kafka's file: %+v %v, want %+v", got, err, m)
	}
	if got, err := parseMetaProperties([]byte("version=0\nbroker.id=7\ncluster.id=x\n")); err != nil || got.NodeID != 7 {
		t.Fatalf("version 0: %+v %v", got, err)
	}
	for _, bad := range []string{"", "version=2\nnode.id=1\ncluster.id=x", "version=1\ncluster.id=x", "version=1\nnode.id=-1\ncluster.id=x", "version=1\nnode.id=1"} {
		if _, err := parseMetaProperties([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestCheckStorageRefusesForeignData covers what must never start: another
// node's or cluster's meta.properties, and partition data with no store.
// Each refusal names the file, and nothing on disk changes.
func TestCheckStorageRefusesForeignData(t *testing.T) {
	t.Run("other node", func(t *testing.T) {
		cfg, dir := storageConfig(t)
		writeMetaProperties(dir, metaProperties{Version: 1, NodeID: 9, ClusterID: "c"})
		_, err := checkStorage(cfg)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, metaPropertiesFile)) || !strings.Contains(err.Error(), "node.id 9") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("data without store", func(t *testing.T) {
		cfg, dir := storageConfig(t)
		writeMetaProperties(dir, metaProperties{Version: 1, NodeID: 1, ClusterID: "foreign"})
		os.MkdirAll(filepath.Join(dir, "topic-A-0"), 0o755)
		_, err := checkStorage(cfg)
		if err == nil || !strings.Contains(err.Error(), "topic-A-0") || !strings.Contains(err.Error(), "foreign") {
			t.Fatalf("got %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "topic-A-0")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("two clusters", func(t *testing.T) {
		cfg, dir := storageConfig(t)
		other := t.TempDir()
		cfg.Log.Dirs = append(cfg.Log.Dirs, other)
		writeMetaProperties(dir, metaProperties{Version: 1, NodeID: 1, ClusterID: "one"})
		os.WriteFile(filepath.Join(other, metaPropertiesFile), []byte("version=0\nbroker.id=1\n"), 0o644)
		if id, err := checkStorage(cfg); err != nil || id.clusterID != "one" {
			t.Fatalf("a version 0 file without cluster.id: %+v %v", id, err)
		}
		writeMetaProperties(other, metaProperties{Version: 1, NodeID: 1, ClusterID: "two"})
		_, err := checkStorage(cfg)
		if err == nil || !strings.Contains(err.Error(), "one") || !strings.Contains(err.Error(), "two") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("store of another cluster", func(t *testing.T) {
		cfg, dir := storageConfig(t)
		writeMetaProperties(dir, metaProperties{Version: 1, NodeID: 1, ClusterID: "foreign"})
		id, err := checkStorage(cfg)
		if err != nil || id.clusterID != "foreign" {
			t.Fatalf("formatted empty dir: %+v %v", id, err)
		}
		err = adoptClusterID(cfg, id, "ours")
		if err == nil || !strings.Contains(err.Error(), "foreign") || !strings.Contains(err.Error(), "ours") {
			t.Fatalf("got %v", err)
		}
	})
}

// TestEmptyDirsStartAndGetMetaProperties is today's first start: empty or
// missing log.dirs (a lost+found is not data) are a new cluster, and once
// the metadata is current every directory records the cluster id.
func TestEmptyDirsStartAndGetMetaProperties(t *testing.T) {
	cfg, dir := storageConfig(t)
	os.MkdirAll(filepath.Join(dir, "lost+found"), 0o755)
	id, err := checkStorage(cfg)
	if err != nil || id.clusterID != "" {
		t.Fatalf("empty dir: %+v %v", id, err)
	}
	if err := adoptClusterID(cfg, id, "ours"); err != nil {
		t.Fatal(err)
	}
	m, err := readMetaProperties(dir)
	if err != nil || m == nil || m.ClusterID != "ours" || m.NodeID != 1 || m.DirectoryID == "" {
		t.Fatalf("meta.properties after the first start: %+v %v", m, err)
	}
	if id, err := checkStorage(cfg); err != nil || id.clusterID != "ours" {
		t.Fatalf("second start: %+v %v", id, err)
	}
}

// TestFormat checks kafka-storage format's rules: a valid Uuid, no
// directory formatted twice unless --ignore-formatted with the same ids.
func TestFormat(t *testing.T) {
	cfg, dir := storageConfig(t)
	if validClusterID("not-a-uuid") == nil || validClusterID("MkU3OEVBNTcwNTJENDM2Qk") != nil {
		t.Fatal("cluster id validation")
	}
	if err := format(cfg, "MkU3OEVBNTcwNTJENDM2Qk", false); err != nil {
		t.Fatal(err)
	}
	if m, _ := readMetaProperties(dir); m == nil || m.ClusterID != "MkU3OEVBNTcwNTJENDM2Qk" {
		t.Fatalf("after format: %+v", m)
	}
	if err := format(cfg, "MkU3OEVBNTcwNTJENDM2Qk", false); err == nil {
		t.Fatal("formatted twice")
	}
	if err := format(cfg, "MkU3OEVBNTcwNTJENDM2Qk", true); err != nil {
		t.Fatalf("--ignore-formatted: %v", err)
	}
	// After the node has started once (it has a metadata store), format
	// --ignore-formatted with the same ids still succeeds, as Kafka's does,
	// and another cluster id is still refused.
	if err := os.MkdirAll(cfg.Coordinator.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Coordinator.Dir, "raft.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !coordinator.HasStore(cfg.Coordinator.Dir) {
		t.Fatal("the test's raft.db is not seen as a metadata store")
	}
	if err := format(cfg, "MkU3OEVBNTcwNTJENDM2Qk", true); err != nil {
		t.Fatalf("--ignore-formatted after a start: %v", err)
	}
	if err := format(cfg, "MkU3OEVBNTcwNTJENDM2Qk", false); err == nil {
		t.Fatal("format without --ignore-formatted over a metadata store succeeded")
	}
	if err := format(cfg, "NkU3OEVBNTcwNTJENDM2Qk", true); err == nil {
		t.Fatal("--ignore-formatted accepted another cluster id")
	}
}

// FuzzMetaProperties feeds meta.properties bytes: no panic, and what is
// accepted survives a write and a read.
func FuzzMetaProperties(f *testing.F) {
	f.Add([]byte("version=1\nnode.id=1\ncluster.id=abc\ndirectory.id=d\n"))
	f.Add([]byte("version=0\nbroker.id=0\n"))
	f.Add([]byte("version=1\nnode.id=99999999999\ncluster.id=\\u0000\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMetaProperties(b)
		if err != nil || m.Version != 1 || strings.ContainsAny(m.ClusterID+m.DirectoryID, "\n\r\\:=# \t\f!") {
			return
		}
		back, err := parseMetaProperties(m.encode())
		if err != nil || back != m {
			t.Fatalf("round trip of %+v: %+v %v", m, back, err)
		}
	})
}
