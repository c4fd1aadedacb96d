package broker

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

// A fetch of an old segment whose file the cache closed and can no longer
// open (log.segment.fd.cache.size) answers KAFKA_STORAGE_ERROR and is
// counted, as a failed read is; the partition's other segments still
// serve.
func TestSegmentOpenFailureAnswersKafkaStorageError(t *testing.T) {
	dir := t.TempDir()
	r := startReplica(t, 1, dir, klog.NewFaultFS(nil), false, coordinator.Partition{Leader: 1, ISR: []int32{1}, Replicas: []int32{1}},
		func(lc *klog.ManagerConfig) { lc.SegmentFileCacheSize = 1 })
	cfg := r.p.Log().Config()
	cfg.SegmentBytes = 14 // a batch a segment
	r.p.Log().SetConfig(cfg)
	topic := &coordinator.Topic{Name: durTP.Topic, ID: [16]byte{9}, Partitions: []coordinator.Partition{{ID: 0}}}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 9, 1
	rp := kmsg.NewProduceRequestTopicPartition()
	for i := range 4 {
		rp.Records = prototest.Plain(0, fmt.Sprint(i)).Encode()
		if err := r.b.produceOne(topic, rp, req); err != nil {
			t.Fatal(err)
		}
	}
	fetch := func(offset int64) error {
		out := kmsg.NewFetchResponseTopicPartition()
		ft := &fetchTarget{p: r.p, out: &out}
		ft.req.FetchOffset, ft.req.PartitionMaxBytes, ft.req.CurrentLeaderEpoch = offset, 1<<20, -1
		_, err := r.b.readPartition(ft, 0, false, 1<<20, true, false)
		if err == nil && len(out.RecordBatches) == 0 {
			err = fmt.Errorf("offset %d: no records", offset)
		}
		return err
	}
	for _, o := range []int64{0, 1, 2} { // 1 and 2 leave segment 0 closed
		if err := fetch(o); err != nil {
			t.Fatal(err)
		}
	}
	seg0 := filepath.Join(dir, durTP.String(), fmt.Sprintf("%020d.log", 0))
	if err := os.Rename(seg0, seg0+".gone"); err != nil {
		t.Fatal(err)
	}
	if err := fetch(0); protocol.Code(err) != protocol.KafkaStorageError {
		t.Fatalf("fetch of a segment that cannot be opened: %v, want KAFKA_STORAGE_ERROR", err)
	}
	if n := r.b.Stats().StorageErrors; n != 1 {
		t.Fatalf("storage errors counted %d, want 1", n)
	}
	if st := r.logs.SegmentFiles(); st.Failed != 1 {
		t.Fatalf("failed segment opens %d, want 1", st.Failed)
	}
	if err := fetch(3); err != nil {
		t.Fatalf("the active segment: %v", err)
	}
}
