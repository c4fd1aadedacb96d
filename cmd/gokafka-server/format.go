package main

// Storage identity, as Kafka keeps it: every log directory holds a
// meta.properties naming the cluster and the node it belongs to, and a
// node refuses to start over a directory that names another, or over
// partition data without the metadata store that says what it is.
// `gokafka-server format` is the counterpart of `kafka-storage format`;
// without it, a new cluster is created only over empty directories.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/properties"
)

const metaPropertiesFile = "meta.properties"

// metaProperties is Kafka's meta.properties, version 1 (KRaft) or 0 (a
// ZooKeeper-mode Kafka directory, where broker.id is the node id).
type metaProperties struct {
	Version     int
	NodeID      int32
	ClusterID   string
	DirectoryID string // optional in version 0 and in Kafka before 3.7
}

func parseMetaProperties(b []byte) (metaProperties, error) {
	p, err := properties.Parse(bytes.NewReader(b))
	if err != nil {
		return metaProperties{}, err
	}
	var m metaProperties
	get := func(k string) string { v, _ := p.Get(k); return strings.TrimSpace(v) }
	version, err := strconv.Atoi(get("version"))
	if err != nil || (version != 0 && version != 1) {
		return m, fmt.Errorf("version %q: want 0 or 1", get("version"))
	}
	idKey := "node.id"
	if version == 0 {
		idKey = "broker.id"
	}
	id, err := strconv.ParseInt(get(idKey), 10, 32)
	if err != nil || id < 0 {
		return m, fmt.Errorf("%s %q: want a node id", idKey, get(idKey))
	}
	m = metaProperties{Version: version, NodeID: int32(id), ClusterID: get("cluster.id"), DirectoryID: get("directory.id")}
	if version == 1 && m.ClusterID == "" {
		return m, errors.New("no cluster.id")
	}
	return m, nil
}

// encode writes Kafka's layout (kafka-storage format writes these keys).
func (m metaProperties) encode() []byte {
	return fmt.Appendf(nil, "#\n#Written by gokafka-server\ncluster.id=%s\ndirectory.id=%s\nnode.id=%d\nversion=%d\n",
		m.ClusterID, m.DirectoryID, m.NodeID, m.Version)
}

// readMetaProperties returns dir's meta.properties, or nil when it has none.
func readMetaProperties(dir string) (*metaProperties, error) {
	path := filepath.Join(dir, metaPropertiesFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := parseMetaProperties(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// writeMetaProperties replaces dir's meta.properties atomically.
func writeMetaProperties(dir string, m metaProperties) error {
	return klog.WriteFileSync(filepath.Join(dir, metaPropertiesFile), m.encode())
}

// storageDirs are log.dirs and the metadata log directory (the parent of
// the Raft store), each once.
func storageDirs(cfg *serverConfig) []string {
	var out []string
	for _, d := range append(slices.Clone(cfg.Log.Dirs), filepath.Dir(cfg.Coordinator.Dir)) {
		if d = filepath.Clean(d); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// identity is what the storage directories say about the cluster before
// anything is opened: the cluster.id of their meta.properties and which
// file said so ("" when none has one yet).
type identity struct {
	clusterID string
	file      string
}

// checkStorage runs before anything opens a file: every meta.properties
// must name this node and one cluster, and partition data without a
// metadata store is another cluster's (or one whose store was lost),
// which a new cluster must never be created over.
func checkStorage(cfg *serverConfig) (identity, error) {
	var id identity
	for _, dir := range storageDirs(cfg) {
		m, err := readMetaProperties(dir)
		if err != nil || m == nil {
			if err != nil {
				return id, err
			}
			continue
		}
		file := filepath.Join(dir, metaPropertiesFile)
		if m.NodeID != cfg.Coordinator.NodeID {
			return id, fmt.Errorf("%s: node.id %d, but this node is node.id %d: refusing to start over another node's data", file, m.NodeID, cfg.Coordinator.NodeID)
		}
		switch {
		case m.ClusterID == "": // version 0 may have none
		case id.clusterID != "" && m.ClusterID != id.clusterID:
			return id, fmt.Errorf("%s: cluster.id %s, but %s has cluster.id %s: refusing to start over another cluster's data", file, m.ClusterID, id.file, id.clusterID)
		default:
			id = identity{clusterID: m.ClusterID, file: file}
		}
	}
	if coordinator.HasStore(cfg.Coordinator.Dir) {
		return id, nil
	}
	for _, dir := range cfg.Log.Dirs {
		data, err := klog.PartitionData(dir)
		if err != nil {
			return id, err
		}
		if len(data) == 0 {
			continue
		}
		owner := "no meta.properties"
		if id.file != "" {
			owner = fmt.Sprintf("%s has cluster.id %s", id.file, id.clusterID)
		}
		return id, fmt.Errorf("%s holds partition data (%s) but there is no metadata store %s (%s): refusing to create a new cluster over it; restore the store or move the data away",
			dir, strings.Join(data[:min(3, len(data))], ", "), filepath.Join(cfg.Coordinator.Dir, "raft.db"), owner)
	}
	return id, nil
}

// adoptClusterID runs once the metadata is current: a meta.properties that
// names another cluster than the store refuses the start; directories
// without one get one, so that the next start can check them.
func adoptClusterID(cfg *serverConfig, id identity, clusterID string) error {
	if id.clusterID != "" && id.clusterID != clusterID {
		return fmt.Errorf("%s: cluster.id %s, but the metadata store %s belongs to cluster.id %s: refusing to start over another cluster's data",
			id.file, id.clusterID, cfg.Coordinator.Dir, clusterID)
	}
	for _, dir := range storageDirs(cfg) {
		if m, err := readMetaProperties(dir); err != nil || m != nil {
			if err != nil {
				return err
			}
			continue
		}
		m := metaProperties{Version: 1, NodeID: cfg.Coordinator.NodeID, ClusterID: clusterID, DirectoryID: coordinator.NewClusterID()}
		if err := writeMetaProperties(dir, m); err != nil {
			return err
		}
	}
	return nil
}

// validClusterID is Kafka's rule: a Uuid, 16 bytes in URL-safe base64.
func validClusterID(s string) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return fmt.Errorf("cluster id %q: want 16 bytes in URL-safe base64 without padding (see gokafka-server random-uuid)", s)
	}
	return nil
}

// runFormat is `gokafka-server format --config X --cluster-id ID`: it writes
// meta.properties into every storage directory so that the node's first
// start creates (or joins) that cluster. Like kafka-storage format it
// refuses a directory already formatted, unless --ignore-formatted and the
// same identity, and it refuses directories that hold data.
func runFormat(args []string) int {
	fs := flag.NewFlagSet("gokafka-server format", flag.ContinueOnError)
	configPath := fs.String("config", "", "path of server.properties")
	clusterID := fs.String("cluster-id", "", "the cluster id (gokafka-server random-uuid makes one)")
	ignore := fs.Bool("ignore-formatted", false, "succeed on directories already formatted with the same cluster and node id")
	var scram scramArgs
	fs.Var(&scram, "add-scram", "a SCRAM credential for the new cluster, as kafka-storage's: 'SCRAM-SHA-256=[name=admin,password=secret]' (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := validClusterID(*clusterID); err != nil {
		fmt.Fprintln(os.Stderr, "gokafka-server format:", err)
		return 2
	}
	creds, err := parseAddScram(scram)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gokafka-server format:", err)
		return 1
	}
	cfg, _, err := loadConfig(*configPath)
	if err == nil {
		err = format(cfg, *clusterID, *ignore)
	}
	if err == nil && len(creds) > 0 {
		// Read by the controller that initialises the cluster, on its
		// first start only (coordinator/scram.go).
		err = coordinator.WriteBootstrapScram(cfg.Coordinator.Dir, creds)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gokafka-server format:", err)
		return 1
	}
	return 0
}

func format(cfg *serverConfig, clusterID string, ignoreFormatted bool) error {
	// With --ignore-formatted a started node formats again as a no-op
	// (a container's entrypoint runs format before every start): each
	// directory's meta.properties must then name this cluster and node.
	if coordinator.HasStore(cfg.Coordinator.Dir) && !ignoreFormatted {
		return fmt.Errorf("%s already holds a metadata store", cfg.Coordinator.Dir)
	}
	for _, dir := range storageDirs(cfg) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		m, err := readMetaProperties(dir)
		if err != nil {
			return err
		}
		if m != nil {
			if ignoreFormatted && m.ClusterID == clusterID && m.NodeID == cfg.Coordinator.NodeID {
				continue
			}
			return fmt.Errorf("%s is already formatted (cluster.id %s, node.id %d)", filepath.Join(dir, metaPropertiesFile), m.ClusterID, m.NodeID)
		}
		data, err := klog.PartitionData(dir)
		if err != nil {
			return err
		}
		if len(data) > 0 {
			return fmt.Errorf("%s holds partition data (%s)", dir, strings.Join(data, ", "))
		}
		m = &metaProperties{Version: 1, NodeID: cfg.Coordinator.NodeID, ClusterID: clusterID, DirectoryID: coordinator.NewClusterID()}
		if err := writeMetaProperties(dir, *m); err != nil {
			return err
		}
		fmt.Printf("Formatting %s with cluster.id %s and node.id %d\n", dir, clusterID, m.NodeID)
	}
	return nil
}
