package hostile

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// TestFetchSessionsHostile drives the fetch session cache (KIP-227) as a
// hostile client would: more sessions than slots, epochs and ids that do
// not match, and incremental fetches naming hundreds of thousands of
// partitions of topics that do not exist. The cache stays within its
// slots, errors are Kafka's codes, and sessions stay small.
func TestFetchSessionsHostile(t *testing.T) {
	tg := newTarget(t, 1, "max.incremental.fetch.session.cache.slots=10")
	nd := tg.c.Nodes[0]
	cl := tg.client(kgo.MaxVersions(kversion.V3_0_0())) // Fetch v12: topics by name
	defer cl.Close()
	broker := cl.Broker(nd.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fetch := func(id, epoch int32, topics []kmsg.FetchRequestTopic) *kmsg.FetchResponse {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxBytes = 12, -1, 1<<20
		req.SessionID, req.SessionEpoch, req.Topics = id, epoch, topics
		resp, err := req.RequestWith(ctx, broker)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	topic := func(name string, partitions int) kmsg.FetchRequestTopic {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = name
		for p := range partitions {
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.PartitionMaxBytes = int32(p), 1<<20
			rt.Partitions = append(rt.Partitions, rp)
		}
		return rt
	}
	witness := []kmsg.FetchRequestTopic{topic("witness", 1)}

	// 30 new sessions in 10 slots: young consumer sessions are not
	// evicted by consumers, so 20 fetches go sessionless, with their data.
	var opened []int32
	for range 30 {
		r := fetch(0, 0, witness)
		if r.ErrorCode != 0 || len(r.Topics) != 1 || len(r.Topics[0].Partitions[0].RecordBatches) == 0 {
			t.Fatalf("full fetch: error %d, %d topics", r.ErrorCode, len(r.Topics))
		}
		if r.SessionID != 0 {
			opened = append(opened, r.SessionID)
		}
	}
	if len(opened) != 10 {
		t.Fatalf("%d sessions opened in 10 slots", len(opened))
	}
	id := opened[0]
	for _, tc := range []struct {
		id, epoch int32
		want      int16
	}{
		{id, 7, 71},          // INVALID_FETCH_SESSION_EPOCH
		{id, -7, 71},         // not full (only 0 and -1 are): an epoch, wrong
		{id ^ 0x5a5a, 1, 70}, // FETCH_SESSION_ID_NOT_FOUND (ids are random: this one is not ours)
		{0, 1, 70},
	} {
		if r := fetch(tc.id, tc.epoch, nil); r.ErrorCode != tc.want || len(r.Topics) != 0 {
			t.Fatalf("session %d epoch %d: error %d with %d topics, want %d and none", tc.id, tc.epoch, r.ErrorCode, len(r.Topics), tc.want)
		}
	}

	// Five incremental fetches, each naming 40k partitions of 20 new long
	// topic names: every one is answered, 100 are kept in the session.
	before := rss(t, nd)
	for epoch := int32(1); epoch <= 5; epoch++ {
		var topics []kmsg.FetchRequestTopic
		for i := range 20 {
			topics = append(topics, topic(fmt.Sprintf("%d-%d-%s", epoch, i, strings.Repeat("x", 240)), 2000))
		}
		r := fetch(id, epoch, topics)
		n := 0
		for _, rt := range r.Topics {
			n += len(rt.Partitions)
		}
		if r.ErrorCode != 0 || r.SessionID != id || n < 40000 {
			t.Fatalf("epoch %d: error %d, session %d, %d partitions answered", epoch, r.ErrorCode, r.SessionID, n)
		}
	}
	t.Logf("200k partitions of unknown topics named in one session: RSS grew %d MiB", (rss(t, nd)-before)>>20)
	// The session answers what it holds with an error every time: the
	// witness partition's answer is unchanged, the 100 kept unknown ones err.
	r := fetch(id, 6, nil)
	unknown := 0
	for _, rt := range r.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode == 3 { // UNKNOWN_TOPIC_OR_PARTITION
				unknown++
			}
		}
	}
	if r.ErrorCode != 0 || unknown != 100 {
		t.Fatalf("the session holds %d partitions of unknown topics (error %d), want 100", unknown, r.ErrorCode)
	}
	tg.check()
}
