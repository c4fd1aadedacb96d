package broker

import (
	"io"
	"log/slog"
	"testing"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/replica"
)

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

// leaderOf returns partition t-0 led by broker 1 with replicas 1,2,3 and
// ISR 1,3, and three records appended, under lease (nil: always held).
func leaderOf(t *testing.T, lease *replica.Lease) *replica.Partition {
	lc := klog.DefaultManagerConfig()
	lc.Dirs = []string{t.TempDir()}
	tp := klog.TopicPartition{Topic: "t", Partition: 0}
	l, err := newTestBroker(t, 1, lc).logs.GetOrCreate(tp, [16]byte{1}, lc.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	p := replica.NewPartition(tp, [16]byte{}, l, 1, lease)
	p.ApplyState(coordinator.Partition{Leader: 1, ISR: []int32{1, 3}, Replicas: []int32{1, 2, 3}}, 1)
	if _, err := p.AppendAsLeader(prototest.Plain(0, "a", "b", "c").Encode(), -1); err != nil {
		t.Fatal(err)
	}
	return p
}

// image returns metadata at Raft index idx holding the named topics, each
// one partition led by broker 1, with IDs derived from the names.
func image(idx uint64, names ...string) *coordinator.Metadata {
	md := &coordinator.Metadata{}
	for _, n := range names {
		md = md.WithTopics(idx, &coordinator.Topic{Name: n, ID: [16]byte{1, n[0], n[len(n)-1]},
			Partitions: []coordinator.Partition{{ID: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}})
	}
	return md
}
