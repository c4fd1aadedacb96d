package interop

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/gokafka/gokafka/test/harness"
)

// TestOffsetsByTopicID: franz-go at its newest versions commits a group's
// offsets with OffsetCommit v10 and reads them with OffsetFetch v10, both
// naming the topic by id, and a transactional consume-transform-produce
// commits with TxnOffsetCommit v6. A client capped at Kafka 3.9's versions
// reads and writes the same offsets by name; an id the cluster does not
// know answers UNKNOWN_TOPIC_ID.
func TestOffsetsByTopicID(t *testing.T) {
	c := harness.StartT(t, 1, "group.initial.rebalance.delay.ms=0")
	id := createTopic(t, c, "ids", 1, nil)
	createTopic(t, c, "ids-out", 1, nil)
	produceN(t, c, "ids", "in", 10)

	cons := client(t, c, kgo.ConsumerGroup("ids-g"), kgo.ConsumeTopics("ids"), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for got := 0; got < 10; {
		fs := cons.PollFetches(testCtx(t))
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	if err := cons.CommitUncommittedOffsets(testCtx(t)); err != nil {
		t.Fatalf("commit: %v", err)
	}
	cons.Close()

	cl := client(t, c)
	offsetByID(t, cl, "ids-g", id, 10, 0)
	offsetByID(t, cl, "ids-g", [16]byte{0xba, 0xd1, 0xd}, -1, kerr.UnknownTopicID.Code)
	offsetByID(t, cl, "ids-g", [16]byte{}, -1, kerr.UnknownTopicID.Code)
	commitByID(t, cl, [16]byte{0xba, 0xd1, 0xd}, kerr.UnknownTopicID.Code)

	old := kadm.NewClient(client(t, c, kgo.MaxVersions(kversion.V3_9_0())))
	if got := fetchAll(t, old, "ids-g"); got != "ids-0:10" {
		t.Fatalf("by name (v9): %s, want ids-0:10", got)
	}
	var o kadm.Offsets
	o.Add(kadm.Offset{Topic: "ids", Partition: 0, At: 7, LeaderEpoch: -1})
	if r, err := old.CommitOffsets(testCtx(t), "ids-old", o); err != nil || r.Error() != nil {
		t.Fatalf("commit by name (v9): %v %v", err, r.Error())
	}
	offsetByID(t, cl, "ids-old", id, 7, 0)
	if got := fetchAll(t, kadm.NewClient(cl), "ids-old"); got != "ids-0:7" {
		t.Fatalf("all topics by id (v10): %s, want ids-0:7", got)
	}

	// Consume-transform-produce: the session commits the group's offsets
	// in the transaction (TxnOffsetCommit v6).
	sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(c.Seeds()...), kgo.TransactionalID("ids-tx"),
		kgo.ConsumerGroup("ids-tx-g"), kgo.ConsumeTopics("ids"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DefaultProduceTopic("ids-out"))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for moved := 0; moved < 10; {
		fs := sess.PollFetches(testCtx(t))
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		if err := sess.Begin(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			sess.Produce(testCtx(t), &kgo.Record{Value: r.Value}, func(_ *kgo.Record, err error) {
				if err != nil {
					t.Errorf("produce: %v", err)
				}
			})
		})
		committed, err := sess.End(testCtx(t), kgo.TryCommit)
		if err != nil || !committed {
			t.Fatalf("end: committed %v, %v", committed, err)
		}
		moved += fs.NumRecords()
	}
	offsetByID(t, cl, "ids-tx-g", id, 10, 0)
}

// offsetByID asks OffsetFetch v10 for group's offset of partition 0 of the
// topic with id, and fails unless it is want with error code.
func offsetByID(t *testing.T, cl *kgo.Client, group string, id [16]byte, want int64, code int16) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.RequireStable = true // the transactional commit may still be settling: wait it out
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{TopicID: id, Partitions: []int32{0}}}
	req.Groups = append(req.Groups, rg)
	var resp *kmsg.OffsetFetchResponse
	retry(t, func() int16 {
		var err error
		if resp, err = req.RequestWith(testCtx(t), cl); err != nil {
			t.Fatal(err)
		}
		if resp.Groups[0].ErrorCode != 0 {
			return resp.Groups[0].ErrorCode
		}
		if c := resp.Groups[0].Topics[0].Partitions[0].ErrorCode; c == kerr.UnstableOffsetCommit.Code {
			return kerr.CoordinatorLoadInProgress.Code // retried
		}
		return 0
	})
	if resp.Version != 10 {
		t.Fatalf("OffsetFetch went out at v%d, want v10", resp.Version)
	}
	tp := resp.Groups[0].Topics[0]
	p := tp.Partitions[0]
	if tp.TopicID != id || p.Offset != want || p.ErrorCode != code {
		t.Fatalf("group %s, topic id %x: offset %d (%v), topic id %x; want %d (%v)", group, id, p.Offset,
			kerr.ErrorForCode(p.ErrorCode), tp.TopicID, want, kerr.ErrorForCode(code))
	}
}

// commitByID commits offset 1 of partition 0 of the topic with id for the
// group ids-g with OffsetCommit v10 and fails unless it answers code.
func commitByID(t *testing.T, cl *kgo.Client, id [16]byte, code int16) {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = "ids-g", -1
	req.Topics = []kmsg.OffsetCommitRequestTopic{{TopicID: id, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Offset: 1, LeaderEpoch: -1}}}}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Version != 10 || len(resp.Topics) != 1 || resp.Topics[0].TopicID != id || resp.Topics[0].Partitions[0].ErrorCode != code {
		t.Fatalf("OffsetCommit v%d of topic id %x: %+v, want %v", resp.Version, id, resp.Topics, kerr.ErrorForCode(code))
	}
}

// fetchAll is every committed offset of group as kadm reads it, "topic-partition:offset" sorted.
func fetchAll(t *testing.T, adm *kadm.Client, group string) string {
	t.Helper()
	got, err := adm.FetchOffsets(testCtx(t), group)
	if err == nil {
		err = got.Error()
	}
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	var out []string
	got.Each(func(o kadm.OffsetResponse) { out = append(out, fmt.Sprintf("%s-%d:%d", o.Topic, o.Partition, o.At)) })
	slices.Sort(out)
	return strings.Join(out, " ")
}

// topicIDOf is the id of topic name, for requests that name topics by id
// from some version on (zero if the topic does not exist).
func topicIDOf(t *testing.T, cl *kgo.Client, name string) [16]byte {
	t.Helper()
	td, err := kadm.NewClient(cl).ListTopics(testCtx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return td[name].ID
}
