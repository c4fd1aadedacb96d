package ops

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// TestGroupLagFromTheCoordinator commits offset 40 of a 100-record
// partition led by another broker than the group's coordinator: the
// coordinator asks that leader for its high watermark and reports lag 60,
// per partition and summed per topic.
func TestGroupLagFromTheCoordinator(t *testing.T) {
	c := harness.StartT(t, 3)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic("lagged"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var coordinator int32 = -1
	harness.WaitFor(t, "a coordinator for group g", 30*time.Second, func() bool {
		if r, ok := adm.FindGroupCoordinators(ctx, "g")["g"]; ok && r.Err == nil {
			coordinator = r.NodeID
		}
		return coordinator >= 0
	})
	createOn(t, ctx, cl, "lagged", coordinator%3+1)
	for i := range 100 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "lagged", Partition: 0, At: 40, LeaderEpoch: -1})
	if rs, err := adm.CommitOffsets(ctx, "g", offsets); err != nil || rs.Error() != nil {
		t.Fatalf("commit: %v %v", err, rs.Error())
	}
	node := c.Nodes[coordinator-1]
	harness.WaitFor(t, "the coordinator reporting lag 60", 10*time.Second, func() bool {
		lag, found, err := node.Metric("gokafka_consumergroup_lag", `consumergroup="g"`, `topic="lagged"`, `partition="0"`)
		return err == nil && found && lag == 60
	})
	if sum := harness.Metric(t, node, "gokafka_consumergroup_lag_sum", `consumergroup="g"`, `topic="lagged"`); sum != 60 {
		t.Errorf("lag_sum %v, want 60", sum)
	}
	if off := harness.Metric(t, node, "gokafka_consumergroup_current_offset", `consumergroup="g"`); off != 40 {
		t.Errorf("current_offset %v, want 40", off)
	}
}

// TestPerPartitionSeriesCanBeSwitchedOff: with
// metrics.per.partition.enable=false a broker keeps its per-topic and
// per-broker series and drops every per-partition one.
func TestPerPartitionSeriesCanBeSwitchedOff(t *testing.T) {
	c := harness.StartT(t, 1, "metrics.per.partition.enable=false", "offsets.topic.replication.factor=1")
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic("quiet"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "quiet", Partition: 0, At: 0, LeaderEpoch: -1})
	if rs, err := kadm.NewClient(cl).CommitOffsets(ctx, "g", offsets); err != nil || rs.Error() != nil {
		t.Fatalf("commit: %v %v", err, rs.Error())
	}
	n := c.Nodes[0]
	harness.WaitFor(t, "per-topic lag", 10*time.Second, func() bool {
		v, found, err := n.Metric("gokafka_consumergroup_lag_sum", `topic="quiet"`)
		return err == nil && found && v == 1
	})
	if v := harness.Metric(t, n, "gokafka_server_brokertopicmetrics_messagesin_total", `topic="quiet"`); v != 1 {
		t.Errorf("messagesin_total %v, want 1", v)
	}
	for _, name := range []string{"gokafka_log_log_size", "gokafka_log_log_logendoffset", "gokafka_cluster_partition_highwatermark", "gokafka_consumergroup_lag", "gokafka_consumergroup_current_offset"} {
		if _, found, err := n.Metric(name); err != nil || found {
			t.Errorf("%s exported (err %v) with per-partition series off", name, err)
		}
	}
}

// createOn creates a one-partition topic whose only replica is broker.
func createOn(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, broker int32) {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{broker}}}
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("creating %s on broker %d: %v", topic, broker, err)
	}
}
