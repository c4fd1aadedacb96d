package log

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Files in Kafka's own formats, so that an operator who knows Kafka's data
// directory finds the same things here.
const (
	recoveryPointFile     = "recovery-point-offset-checkpoint"
	logStartOffsetFile    = "log-start-offset-checkpoint"
	cleanShutdownFile     = ".kafka_cleanshutdown"
	leaderEpochFile       = "leader-epoch-checkpoint"
	partitionMetaFile     = "partition.metadata"
	checkpointVersion     = 0
	lockFile              = ".lock"
	deleteDirSuffix       = "-delete"
	legacyDeleteDirSuffix = ".delete" // gokafka before Kafka's suffix
	strayDirSuffix        = "-stray"
	metadataPartitionDir  = "__cluster_metadata-0"
)

// writeCheckpoint writes Kafka's checkpoint layout: a version line, a count
// line, then one line per entry.
func writeCheckpoint(fs FS, path string, lines []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(lines))
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return writeFileSync(fs, path, []byte(b.String()))
}

// readCheckpoint returns the entry lines split into fields. A missing file
// is empty; a malformed one is an error naming the file.
func readCheckpoint(fs FS, path string, fields int) ([][]string, error) {
	b, err := readFile(fs, path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out, err := parseCheckpoint(b, fields)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// parseCheckpoint checks the version, then that the count line matches
// the entries that follow, each of exactly fields fields.
func parseCheckpoint(b []byte, fields int) ([][]string, error) {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 2 || lines[0] != strconv.Itoa(checkpointVersion) || lines[1] != strconv.Itoa(len(lines)-2) {
		return nil, fmt.Errorf("bad header %q for %d entries", lines[:min(2, len(lines))], len(lines)-2)
	}
	out := make([][]string, 0, len(lines)-2)
	for _, line := range lines[2:] {
		parts := strings.Fields(line)
		if len(parts) != fields {
			return nil, fmt.Errorf("line %q: want %d fields", line, fields)
		}
		out = append(out, parts)
	}
	return out, nil
}

// writeOffsets writes a per-directory checkpoint of topic partition offset.
func writeOffsets(fs FS, path string, offsets map[TopicPartition]int64) error {
	lines := make([]string, 0, len(offsets))
	for tp, off := range offsets {
		lines = append(lines, fmt.Sprintf("%s %d %d", tp.Topic, tp.Partition, off))
	}
	return writeCheckpoint(fs, path, lines)
}

func readOffsets(fs FS, path string) (map[TopicPartition]int64, error) {
	rows, err := readCheckpoint(fs, path, 3)
	if err != nil {
		return nil, err
	}
	out, err := offsetsFromRows(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func offsetsFromRows(rows [][]string) (map[TopicPartition]int64, error) {
	out := map[TopicPartition]int64{}
	for _, r := range rows {
		p, err1 := strconv.ParseInt(r[1], 10, 32)
		off, err2 := strconv.ParseInt(r[2], 10, 64)
		if err1 != nil || err2 != nil || p < 0 || off < 0 {
			return nil, fmt.Errorf("bad entry %q", r)
		}
		out[TopicPartition{Topic: r[0], Partition: int32(p)}] = off
	}
	return out, nil
}

func writeEpochs(fs FS, path string, c *epochCache) error {
	lines := make([]string, len(c.entries))
	for i, e := range c.entries {
		lines[i] = fmt.Sprintf("%d %d", e.Epoch, e.StartOffset)
	}
	return writeCheckpoint(fs, path, lines)
}

func readEpochs(fs FS, path string) (*epochCache, error) {
	rows, err := readCheckpoint(fs, path, 2)
	if err != nil {
		return nil, err
	}
	c, err := epochsFromRows(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func epochsFromRows(rows [][]string) (*epochCache, error) {
	c := &epochCache{}
	for _, r := range rows {
		e, err1 := strconv.ParseInt(r[0], 10, 32)
		off, err2 := strconv.ParseInt(r[1], 10, 64)
		// endOffsetFor searches the entries, so they must be in order.
		n := len(c.entries)
		if err1 != nil || err2 != nil || e < 0 || off < 0 ||
			(n > 0 && (int32(e) <= c.entries[n-1].Epoch || off < c.entries[n-1].StartOffset)) {
			return nil, fmt.Errorf("bad or out-of-order entry %q", r)
		}
		c.entries = append(c.entries, epochEntry{Epoch: int32(e), StartOffset: off})
	}
	return c, nil
}

// errBadPartitionMeta is a partition.metadata that was read but says no
// topic ID: empty, torn, or not ours.
var errBadPartitionMeta = errors.New("unreadable partition.metadata")

// Topic IDs are written the way Kafka prints a Uuid: URL-safe base64
// without padding.
func writePartitionMeta(fs FS, path string, id [16]byte) error {
	return writeFileSync(fs, path, []byte(fmt.Sprintf("version: 0\ntopic_id: %s\n", base64.RawURLEncoding.EncodeToString(id[:]))))
}

func readPartitionMeta(fs FS, path string) ([16]byte, error) {
	var id [16]byte
	b, err := readFile(fs, path)
	if err != nil {
		return id, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "topic_id: "); ok {
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil || len(raw) != 16 {
				return id, fmt.Errorf("%s: %w: bad topic_id %q", path, errBadPartitionMeta, v)
			}
			copy(id[:], raw)
			return id, nil
		}
	}
	return id, fmt.Errorf("%s: %w: no topic_id", path, errBadPartitionMeta)
}
