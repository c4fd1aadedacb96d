package broker

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/replica"
)

var durTP = klog.TopicPartition{Topic: "d", Partition: 0}

// replicaNode is one node's copy of partition d-0, in process: a log manager
// on a disk of its own that can fail or lose power, and a Broker without a
// coordinator whose replica manager holds the partition, so that group
// commit reaches its high watermark as in the server.
type replicaNode struct {
	id   int32
	dir  string
	disk *klog.FaultFS
	logs *klog.Manager
	b    *Broker
	p    *replica.Partition
}

func startReplica(t *testing.T, id int32, dir string, disk *klog.FaultFS, durable bool, st coordinator.Partition, tune ...func(*klog.ManagerConfig)) *replicaNode {
	t.Helper()
	lc := klog.DefaultManagerConfig()
	lc.Dirs, lc.FS = []string{dir}, disk
	lc.Defaults.FlushBeforeAck = durable
	for _, f := range tune {
		f(&lc)
	}
	b := newTestBroker(t, id, lc)
	logs := b.logs
	l, err := logs.GetOrCreate(durTP, [16]byte{9}, lc.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	p := replica.NewPartition(durTP, [16]byte{9}, l, id, nil)
	b.replicas.Add(p)
	p.ApplyState(st, 2)
	return &replicaNode{id: id, dir: dir, disk: disk, logs: logs, b: b, p: p}
}

// fetchOnce is one round of the replica fetcher (fetcher.fetch) without
// the network: the follower's log made durable (WaitDurable), its end sent
// as the fetch offset, the leader's answer appended.
func fetchOnce(t *testing.T, leader, f *replicaNode, epoch int32) {
	t.Helper()
	if err := klog.WaitDurable(context.Background(), []*klog.Log{f.p.Log()}); err != nil {
		t.Fatal(err)
	}
	offset := f.p.Log().LogEndOffset()
	leader.p.FollowerFetched(f.id, epoch, offset, true, time.Minute, time.Now())
	res, err := leader.p.Log().Read(offset, 1<<20, leader.p.Log().LogEndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.AppendAsFollower(leader.id, epoch, res.Records, leader.p.HighWatermark(), 0); err != nil {
		t.Fatal(err)
	}
}

// produceAcked appends n batches with acks=all on the leader, replicating
// to the follower until each is acknowledged, and returns the high
// watermark: everything below it was acknowledged.
func produceAcked(t *testing.T, leader, f *replicaNode, n int) int64 {
	t.Helper()
	for i := range n {
		res, err := leader.p.AppendAsLeader(prototest.Plain(int64(i), "v").Encode(), -1)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !leader.p.Acked(res.LastOffset + 1) {
			if time.Now().After(deadline) {
				t.Fatalf("offset %d not acknowledged: high watermark %d", res.LastOffset, leader.p.HighWatermark())
			}
			fetchOnce(t, leader, f, 0)
		}
	}
	return leader.p.HighWatermark()
}

func readAll(t *testing.T, l *klog.Log, upTo int64) []byte {
	t.Helper()
	if upTo == 0 {
		return nil
	}
	res, err := l.Read(0, 1<<30, upTo, true)
	if err != nil {
		t.Fatal(err)
	}
	return res.Records
}

// Issue 17, beyond Kafka: the ISR is brokers 1 and 2 (3 has fallen out),
// and both lose power at once after acks=all writes were acknowledged. As
// in Kafka, without log.flush.before.ack the acknowledged records were
// only in the page cache and are lost; with it, none is, on either
// replica, whichever leads next.
func TestCorrelatedPowerLoss(t *testing.T) {
	for _, durable := range []bool{false, true} {
		t.Run(map[bool]string{false: "page-cache", true: "flush.before.ack"}[durable], func(t *testing.T) {
			st := coordinator.Partition{Leader: 1, ISR: []int32{1, 2}, Replicas: []int32{1, 2, 3}}
			dirs := []string{t.TempDir(), t.TempDir()}
			disks := []*klog.FaultFS{klog.NewFaultFS(nil), klog.NewFaultFS(nil)}
			r1 := startReplica(t, 1, dirs[0], disks[0], durable, st)
			r2 := startReplica(t, 2, dirs[1], disks[1], durable, st)
			r2.p.TruncateForLeader(-1, -1) // the fetcher's first step; its log is empty
			hw := produceAcked(t, r1, r2, 30)
			acked := readAll(t, r1.p.Log(), hw)
			for _, r := range []*replicaNode{r1, r2} {
				if err := r.disk.Crash(); err != nil {
					t.Fatal(err)
				}
				r.logs.Close() // the dead process's writes fail: nothing is synced now
				r.disk.Restart()
			}
			next := coordinator.Partition{Leader: 2, LeaderEpoch: 1, ISR: []int32{1, 2}, Replicas: []int32{1, 2, 3}}
			for i, r := range []*replicaNode{r1, r2} {
				back := startReplica(t, r.id, dirs[i], disks[i], durable, next)
				kept := back.p.Log().LogEndOffset()
				switch {
				case !durable && kept >= hw:
					t.Errorf("broker %d kept %d of %d acknowledged offsets without fsync: the power loss lost nothing, so the test proves nothing", r.id, kept, hw)
				case durable && kept < hw:
					t.Errorf("broker %d kept %d of %d acknowledged offsets with flush.before.ack", r.id, kept, hw)
				case durable && !bytes.Equal(readAll(t, back.p.Log(), hw), acked):
					t.Errorf("broker %d holds other bytes than were acknowledged", r.id)
				}
			}
		})
	}
}

// produceOne runs one partition's records through produce's checks and
// append, as handleProduce does.
func (b *Broker) produceOne(t *coordinator.Topic, rp kmsg.ProduceRequestTopicPartition, req *kmsg.ProduceRequest) error {
	a, err := b.checkProduce(t, t.Name, rp, req)
	if err == nil {
		_, err = b.appendProduce(a, req)
	}
	return err
}

// A disk that refuses writes or reads makes produce and fetch answer
// KAFKA_STORAGE_ERROR for that partition, and the broker counts them.
func TestStorageErrorsAnswerKafkaStorageError(t *testing.T) {
	disk := klog.NewFaultFS(nil)
	r := startReplica(t, 1, t.TempDir(), disk, false, coordinator.Partition{Leader: 1, ISR: []int32{1}, Replicas: []int32{1}})
	topic := &coordinator.Topic{Name: durTP.Topic, ID: [16]byte{9}, Partitions: []coordinator.Partition{{ID: 0}}}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 9, 1
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = prototest.Plain(0, "a").Encode()
	if err := r.b.produceOne(topic, rp, req); err != nil {
		t.Fatal(err)
	}

	disk.Fail(klog.FaultWrite, ".log", errors.New("injected"))
	rp.Records = prototest.Plain(0, "b").Encode()
	if err := r.b.produceOne(topic, rp, req); protocol.Code(err) != protocol.KafkaStorageError {
		t.Fatalf("produce on a failing disk: %v, want KAFKA_STORAGE_ERROR", err)
	}
	disk.Heal()
	disk.Fail(klog.FaultRead, ".log", errors.New("injected"))
	out := kmsg.NewFetchResponseTopicPartition()
	ft := &fetchTarget{p: r.p, out: &out}
	ft.req.FetchOffset, ft.req.PartitionMaxBytes, ft.req.CurrentLeaderEpoch = 0, 1<<20, -1
	_, err := r.b.readPartition(ft, 0, false, 1<<20, true, false)
	out.ErrorCode = int16(protocol.Code(err))
	if code := protocol.ErrorCode(out.ErrorCode); code != protocol.KafkaStorageError {
		t.Fatalf("fetch on a failing disk: error %v, want KAFKA_STORAGE_ERROR", code)
	}
	if n := r.b.Stats().StorageErrors; n != 2 {
		t.Fatalf("storage errors counted %d, want 2", n)
	}
}
