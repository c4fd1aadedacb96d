package broker

import (
	"io"
	"log/slog"
	"testing"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
)

// newTestReplicaManager is broker 1's replica manager over logs in a
// temporary directory, with no coordinator: tests hand it images.
func newTestReplicaManager(t *testing.T) *replicaManager {
	lc := klog.DefaultManagerConfig()
	lc.Dirs = []string{t.TempDir()}
	return newTestBroker(t, 1, lc).replicas
}

// newTestBroker is broker id over a log manager opened with lc, with no
// coordinator.
func newTestBroker(t testing.TB, id int32, lc klog.ManagerConfig) *Broker {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	logs, err := klog.OpenManager(lc, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	cfg := DefaultConfig()
	cfg.NodeID = id
	b, err := New(cfg, logs, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

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

// Two handlers load images 5 and 6, and the one holding 6 takes the lock
// first. Applying 5 afterwards used to delete topic b, created at 6, whose
// produce may already have been acknowledged (issue 13, item 8).
func TestReconcileDropsAnOlderImage(t *testing.T) {
	rm := newTestReplicaManager(t)
	bp := klog.TopicPartition{Topic: "b", Partition: 0}
	rm.reconcile(image(6, "a", "b"))
	if rm.get(bp) == nil {
		t.Fatal("b-0 not opened from image 6")
	}
	rm.reconcile(image(5, "a"))
	if rm.get(bp) == nil || rm.b.logs.Get(bp) == nil {
		t.Fatal("image 5, older than the applied 6, deleted b-0")
	}
	rm.reconcile(image(7, "a"))
	if rm.get(bp) != nil || rm.b.logs.Get(bp) != nil {
		t.Fatal("image 7 deleted topic b, but b-0 is still here")
	}
}

// A replica goes only when the newest image no longer assigns its topic ID
// here; an image that reflects no Raft entry deletes nothing.
func TestRemoveUnwantedNeedsTheTopicGoneOrMoved(t *testing.T) {
	rm := newTestReplicaManager(t)
	ap := klog.TopicPartition{Topic: "a", Partition: 0}
	rm.reconcile(image(3, "a", "b"))
	rm.removeUnwanted(image(0))
	if rm.get(ap) == nil {
		t.Fatal("an empty image at index 0 deleted a-0")
	}
	moved := image(4, "a", "b")
	moved.Topic("a").Partitions[0].Replicas = []int32{2}
	rm.reconcile(moved)
	if rm.get(ap) != nil {
		t.Fatal("a-0 reassigned to broker 2 but still here")
	}
	if rm.get(klog.TopicPartition{Topic: "b", Partition: 0}) == nil {
		t.Fatal("b-0, still assigned here, was deleted")
	}
}

// A reconcile acts on the topics an image changed (images share the
// topics they leave alone) and on every topic when the dynamic broker
// configs, which set the logs' defaults, change.
func TestReconcileActsOnChangedTopics(t *testing.T) {
	rm := newTestReplicaManager(t)
	first := image(3, "a", "b")
	rm.reconcile(first)
	pa, pb := rm.get(klog.TopicPartition{Topic: "a"}), rm.get(klog.TopicPartition{Topic: "b"})
	// Marks that only a reconcile of the topic overwrites.
	pa.leaderEpoch, pb.leaderEpoch = 99, 99

	next := image(4, "b").WithTopics(4, first.Topic("a"))
	rm.reconcile(next)
	if pa.leaderEpoch != 99 {
		t.Errorf("a, unchanged, was reconciled: leader epoch %d", pa.leaderEpoch)
	}
	if pb.leaderEpoch != 0 {
		t.Errorf("b, changed, was not reconciled: leader epoch %d", pb.leaderEpoch)
	}

	configs := next.WithTopics(5)
	configs.BrokerConfigs = map[string]map[string]string{"": {"log.retention.ms": "60000"}}
	rm.reconcile(configs)
	if pa.leaderEpoch != 0 {
		t.Errorf("a was not reconciled after the broker configs changed: leader epoch %d", pa.leaderEpoch)
	}
}
