package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
)

// newTestReplicaManager is broker 1's replica manager over logs in a
// temporary directory, with no controller: tests hand it images.
func newTestReplicaManager(t *testing.T) *Manager {
	return newManagerWith(t, Config{NodeID: 1}, nil, nil)
}

// newManagerWith is a replica manager over logs in a temporary directory,
// reaching the controller through ctrl and other brokers through dial
// (nil: none).
func newManagerWith(t *testing.T, cfg Config, ctrl Controller, dial func(int32) (Peer, error)) *Manager {
	logs := testLogs(t)
	return New(context.Background(), cfg, logs, ctrl, testHost{logs, dial}, nil, quiet)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testLogs is a log manager over a temporary directory.
func testLogs(t *testing.T) *klog.Manager {
	lc := klog.DefaultManagerConfig()
	lc.Dirs = []string{t.TempDir()}
	logs, err := klog.OpenManager(lc, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	return logs
}

// testHost is a broker with the logs' defaults, min.insync.replicas 1, no
// coordinators to load and no throttle, dialing peers with dial.
type testHost struct {
	logs *klog.Manager
	dial func(int32) (Peer, error)
}

func (testHost) ApplyConfigs(*coordinator.Metadata) {}

func (h testHost) LogConfig(*coordinator.Topic) (klog.Config, error) { return h.logs.Defaults(), nil }

func (testHost) MinISR(*coordinator.Topic) int { return 1 }

func (testHost) ISRChanged(shrank, grew bool) {}

func (testHost) StateApplied(*Partition, coordinator.Partition) {}

func (h testHost) DialLeader(id int32) (Peer, error) {
	if h.dial == nil {
		return nil, errors.New("no peers")
	}
	return h.dial(id)
}

func (testHost) FollowerThrottled(*coordinator.Metadata, *Partition) bool { return false }

func (testHost) FollowerQuotaExceeded(time.Time) bool { return false }

func (testHost) FollowerQuotaRecord(int, time.Time) {}

// image returns metadata at Raft index idx holding the named topics, each
// one partition led by broker 1, with IDs derived from the names.
func image(idx uint64, names ...string) *coordinator.Metadata {
	var topics []*coordinator.Topic
	for _, n := range names {
		topics = append(topics, &coordinator.Topic{Name: n, ID: [16]byte{1, n[0], n[len(n)-1]},
			Partitions: []coordinator.Partition{{ID: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}})
	}
	return (&coordinator.Metadata{}).WithTopics(idx, topics...)
}

// A reconcile writes one INFO line with what it changed, however many
// partitions that is; the line a partition stays at DEBUG (issue 16:
// 200,000 INFO lines at a restart of 100,000 partitions).
func TestReconcileLogsOneSummaryLine(t *testing.T) {
	var out bytes.Buffer
	logs := testLogs(t)
	rm := New(context.Background(), Config{NodeID: 1}, logs, nil, testHost{logs, nil}, nil, slog.New(slog.NewTextHandler(&out, nil)))
	var names []string
	for i := range 50 { // image derives IDs from the first and last letters
		names = append(names, fmt.Sprintf("%c%d", 'a'+i/10, i%10))
	}
	rm.Reconcile(image(3, names...))
	next := image(4, names[1:]...) // a0 deleted
	for _, n := range names[1:6] {
		next.Topic(n).Partitions[0] = coordinator.Partition{ID: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, PartitionEpoch: 1}
	}
	for _, n := range names[6:9] {
		next.Topic(n).Partitions[0] = coordinator.Partition{ID: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: -1, LeaderEpoch: 1, PartitionEpoch: 1}
	}
	rm.Reconcile(next)
	rm.Reconcile(next.WithTopics(5)) // nothing changed: no line
	var summaries []string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "partition state") {
			t.Errorf("a partition's state logged at INFO: %s", line)
		}
		if strings.Contains(line, `msg="replicas reconciled"`) {
			summaries = append(summaries, line)
		}
	}
	if len(summaries) != 2 {
		t.Fatalf("%d summary lines for two reconciles that changed something, want 2:\n%s", len(summaries), out.String())
	}
	for i, want := range [][]string{
		{" leader=50 ", " follower=0 ", " leaderless=0 ", " isr_changed=0 ", " removed=0 ", " failed=0 "},
		{" leader=0 ", " leaderless=3 ", " isr_changed=5 ", " removed=1 "},
	} {
		for _, w := range want {
			if !strings.Contains(summaries[i], w) {
				t.Errorf("summary %d lacks %q: %s", i, w, summaries[i])
			}
		}
	}
}

// Two handlers load images 5 and 6, and the one holding 6 takes the lock
// first. Applying 5 afterwards used to delete topic b, created at 6, whose
// produce may already have been acknowledged (issue 13, item 8).
func TestReconcileDropsAnOlderImage(t *testing.T) {
	rm := newTestReplicaManager(t)
	bp := klog.TopicPartition{Topic: "b", Partition: 0}
	rm.Reconcile(image(6, "a", "b"))
	if rm.Get(bp) == nil {
		t.Fatal("b-0 not opened from image 6")
	}
	rm.Reconcile(image(5, "a"))
	if rm.Get(bp) == nil || rm.logs.Get(bp) == nil {
		t.Fatal("image 5, older than the applied 6, deleted b-0")
	}
	rm.Reconcile(image(7, "a"))
	if rm.Get(bp) != nil || rm.logs.Get(bp) != nil {
		t.Fatal("image 7 deleted topic b, but b-0 is still here")
	}
}

// A replica goes only when the newest image no longer assigns its topic ID
// here; an image that reflects no Raft entry deletes nothing.
func TestRemoveUnwantedNeedsTheTopicGoneOrMoved(t *testing.T) {
	rm := newTestReplicaManager(t)
	ap := klog.TopicPartition{Topic: "a", Partition: 0}
	rm.Reconcile(image(3, "a", "b"))
	rm.removeUnwanted(image(0))
	if rm.Get(ap) == nil {
		t.Fatal("an empty image at index 0 deleted a-0")
	}
	moved := image(4, "a", "b")
	moved.Topic("a").Partitions[0].Replicas = []int32{2}
	rm.Reconcile(moved)
	if rm.Get(ap) != nil {
		t.Fatal("a-0 reassigned to broker 2 but still here")
	}
	if rm.Get(klog.TopicPartition{Topic: "b", Partition: 0}) == nil {
		t.Fatal("b-0, still assigned here, was deleted")
	}
}

// A reconcile acts on the topics an image changed (images share the
// topics they leave alone) and on every topic when the dynamic broker
// configs, which set the logs' defaults, change.
func TestReconcileActsOnChangedTopics(t *testing.T) {
	rm := newTestReplicaManager(t)
	first := image(3, "a", "b")
	rm.Reconcile(first)
	pa, pb := rm.Get(klog.TopicPartition{Topic: "a"}), rm.Get(klog.TopicPartition{Topic: "b"})
	// Marks that only a reconcile of the topic overwrites.
	pa.leaderEpoch, pb.leaderEpoch = 99, 99

	next := image(4, "b").WithTopics(4, first.Topic("a"))
	rm.Reconcile(next)
	if pa.leaderEpoch != 99 {
		t.Errorf("a, unchanged, was reconciled: leader epoch %d", pa.leaderEpoch)
	}
	if pb.leaderEpoch != 0 {
		t.Errorf("b, changed, was not reconciled: leader epoch %d", pb.leaderEpoch)
	}

	configs := next.WithTopics(5)
	configs.BrokerConfigs = map[string]map[string]string{"": {"log.retention.ms": "60000"}}
	rm.Reconcile(configs)
	if pa.leaderEpoch != 0 {
		t.Errorf("a was not reconciled after the broker configs changed: leader epoch %d", pa.leaderEpoch)
	}
}

// Kicks coalesce, so a reconcile may skip images: it still acts on every
// topic changed since the last image it reconciled, deletions included,
// and on nothing else.
func TestReconcileCatchesUpOverSkippedImages(t *testing.T) {
	rm := newTestReplicaManager(t)
	first := image(3, "a", "b", "c")
	rm.Reconcile(first)
	pa, pb, pc := rm.Get(klog.TopicPartition{Topic: "a"}), rm.Get(klog.TopicPartition{Topic: "b"}), rm.Get(klog.TopicPartition{Topic: "c"})
	pa.leaderEpoch, pb.leaderEpoch, pc.leaderEpoch = 99, 99, 99

	// 4 changes a's ISR, 5 deletes b and grows c by a partition; only
	// 5 is reconciled.
	a := *first.Topic("a")
	a.Partitions = []coordinator.Partition{{ID: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1, PartitionEpoch: 1}}
	fourth := first.WithTopics(4, &a)
	c := *first.Topic("c")
	c.Partitions = append(slices.Clone(c.Partitions), coordinator.Partition{ID: 1, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
	fifth := fourth.WithoutTopics(5, "b").WithTopics(5, &c)
	rm.Reconcile(fifth)

	if pa.leaderEpoch != 0 {
		t.Errorf("a, changed in the skipped image 4, was not reconciled: leader epoch %d", pa.leaderEpoch)
	}
	if rm.Get(klog.TopicPartition{Topic: "b"}) != nil {
		t.Error("b, deleted at 5, is still here")
	}
	if pc.leaderEpoch != 0 || rm.Get(klog.TopicPartition{Topic: "c", Partition: 1}) == nil {
		t.Errorf("c, grown at 5, was not reconciled: leader epoch %d", pc.leaderEpoch)
	}
	pc.leaderEpoch = 99
	rm.Reconcile(fifth.WithTopics(6))
	if pc.leaderEpoch != 99 {
		t.Error("an image that changed no topic reconciled c again")
	}
}
