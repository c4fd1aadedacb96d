package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/replica"
)

// parkedFetchOn is a consumer's fetch of t-0 from offset, waiting for
// minBytes, on broker 1 leading t-0 with ISR 1,3.
func parkedFetchOn(t *testing.T, minBytes int32) (*Broker, *replica.Partition, func(offset int64) *delayedFetch) {
	lc := klog.DefaultManagerConfig()
	lc.Dirs = []string{t.TempDir()}
	b := newTestBroker(t, 1, lc)
	tp := klog.TopicPartition{Topic: "t", Partition: 0}
	l, err := b.logs.GetOrCreate(tp, [16]byte{1}, lc.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	p := replica.NewPartition(tp, [16]byte{}, l, 1, nil)
	p.ApplyState(coordinator.Partition{Leader: 1, ISR: []int32{1, 3}, Replicas: []int32{1, 3}}, 1)
	fetch := func(offset int64) *delayedFetch {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MinBytes, req.MaxBytes, req.MaxWaitMillis = 12, -1, minBytes, 50<<20, 500
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = offset, 1<<20, -1
		out := kmsg.NewFetchResponseTopicPartition()
		return b.newDelayedFetch(req, []*fetchTarget{{req: rp, p: p, out: &out}})
	}
	return b, p, fetch
}

// A parked fetch counts the bytes below the high watermark from segment
// positions, reading nothing: bytes appended above it do not count, a
// high watermark move makes them count, and a lost leadership completes
// the fetch at once.
func TestDelayedFetchCountsBytesBelowTheHighWatermark(t *testing.T) {
	b, p, fetch := parkedFetchOn(t, 2500)
	batch := func() { // ~1,100 bytes
		if _, err := p.AppendAsLeader(prototest.Plain(0, strings.Repeat("v", 1000)).Encode(), 1); err != nil {
			t.Fatal(err)
		}
	}
	replicate := func() { p.FollowerFetched(3, 0, p.Log().LogEndOffset(), true, time.Minute, time.Now()) }
	df := fetch(0)
	if df.ready() {
		t.Fatal("an empty partition satisfies 2,500 bytes")
	}
	reads := b.logs.ReadBytes()
	batch()
	batch()
	batch()
	if df.ready() {
		t.Fatal("bytes above the high watermark counted")
	}
	replicate()
	if !df.ready() {
		t.Fatalf("3 batches below the high watermark %d do not make 2,500 bytes", p.HighWatermark())
	}
	later := fetch(p.HighWatermark())
	batch()
	replicate()
	batch()
	replicate()
	if later.ready() {
		t.Fatal("2 batches make 2,500 bytes")
	}
	batch()
	replicate()
	if !later.ready() {
		t.Fatal("3 new batches do not make 2,500 bytes")
	}
	if got := b.logs.ReadBytes() - reads; got != 0 {
		t.Errorf("counting read %d bytes from segment files", got)
	}
	waiting := fetch(p.Log().LogEndOffset())
	if waiting.ready() {
		t.Fatal("a fetch at the log end is ready")
	}
	p.ApplyState(coordinator.Partition{Leader: 3, LeaderEpoch: 1, ISR: []int32{1, 3}, Replicas: []int32{1, 3}}, 1)
	if !waiting.ready() {
		t.Error("a fetch from a deposed leader waits")
	}
}
