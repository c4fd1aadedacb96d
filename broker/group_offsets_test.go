package broker

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// idImage holds topics a and b (one partition each, as image makes them)
// and reports the id of each.
func idImage() (md *coordinator.Metadata, a, b [16]byte) {
	md = image(1, "a", "b")
	return md, md.Topic("a").ID, md.Topic("b").ID
}

// An OffsetCommit v10 / TxnOffsetCommit v6 topic is named from its id;
// an unknown or zero id leaves it nameless, and its partitions answer
// UNKNOWN_TOPIC_ID whatever else holds (it cannot be authorized, and
// Kafka checks it first). By name (v9 and older) an empty name is just a
// topic that does not exist.
func TestCommitRefusalByTopicID(t *testing.T) {
	md, a, _ := idImage()
	unknown := [16]byte{0xde, 0xad}
	refused := map[string]bool{"b": true, "": true}
	for _, tc := range []struct {
		name      string
		byID      bool
		topic     string
		partition int32
		want      protocol.ErrorCode
	}{
		{"known id", true, topicNameByID(md, a), 0, protocol.None},
		{"known id, partition it lacks", true, topicNameByID(md, a), 1, protocol.UnknownTopicOrPartition},
		{"known id, partition -1", true, topicNameByID(md, a), -1, protocol.UnknownTopicOrPartition},
		{"unknown id", true, topicNameByID(md, unknown), 0, protocol.UnknownTopicID},
		{"zero id", true, topicNameByID(md, [16]byte{}), 0, protocol.UnknownTopicID},
		{"refused topic by id", true, topicNameByID(md, md.Topic("b").ID), 0, protocol.TopicAuthorizationFailed},
		{"by name", false, "a", 0, protocol.None},
		{"by name, refused", false, "b", 0, protocol.TopicAuthorizationFailed},
		{"by name, empty", false, "", 0, protocol.TopicAuthorizationFailed},
		{"by name, unknown", false, "nowhere", 0, protocol.UnknownTopicOrPartition},
	} {
		if got := commitRefusal(md, tc.byID, tc.topic, tc.partition, refused, protocol.TopicAuthorizationFailed); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A zero id must not find a topic even if the image somehow keys one
// under it (a topic created before ids, a hostile snapshot).
func TestTopicNameByIDIgnoresTheZeroID(t *testing.T) {
	md, _, _ := idImage()
	md = md.WithTopics(md.AppliedIndex, &coordinator.Topic{Name: "before-ids"})
	if got := topicNameByID(md, [16]byte{}); got != "" {
		t.Fatalf("zero id named %q", got)
	}
}

// fetchAnswer renders an OffsetFetch v10 group's topics: id, partition,
// offset, metadata, error code.
func fetchAnswer(md *coordinator.Metadata, topics []kmsg.OffsetFetchResponseGroupTopic) []string {
	var out []string
	for _, t := range topics {
		name := "?"
		if mt := md.TopicByID(t.TopicID); mt != nil {
			name = mt.Name
		} else if t.TopicID != ([16]byte{}) {
			name = fmt.Sprintf("%x", t.TopicID[:2])
		}
		for _, p := range t.Partitions {
			meta := "<nil>"
			if p.Metadata != nil {
				meta = *p.Metadata
			}
			out = append(out, fmt.Sprintf("%s/%d:%d/%q/%d", name, p.Partition, p.Offset, meta, p.ErrorCode))
		}
	}
	return out
}

// OffsetFetch v10 asks the group coordinator by name for the ids the
// image holds and answers the others UNKNOWN_TOPIC_ID, offset -1 and
// metadata "" as Kafka does; a request that repeats or mixes ids keeps
// each entry.
func TestOffsetFetchTopicsByID(t *testing.T) {
	md, a, b := idImage()
	unknown := [16]byte{0xde, 0xad}
	named, missing := topicsByID(md, []kmsg.OffsetFetchRequestGroupTopic{
		{TopicID: a, Partitions: []int32{0, 7}},
		{TopicID: unknown, Partitions: []int32{0, 1}},
		{Partitions: []int32{3}}, // zero id
		{TopicID: b, Partitions: []int32{0}},
		{TopicID: a, Partitions: []int32{0}},
		{TopicID: unknown}, // no partitions: echoed, as a named one is
	})
	var names []string
	for _, rt := range named {
		names = append(names, fmt.Sprintf("%s %v", rt.Topic, rt.Partitions))
	}
	if want := []string{"a [0 7]", "b [0]", "a [0]"}; !slices.Equal(names, want) {
		t.Errorf("asked by name %v, want %v", names, want)
	}
	want := []string{`dead/0:-1/""/100`, `dead/1:-1/""/100`, `?/3:-1/""/100`} // UNKNOWN_TOPIC_ID
	if got := fetchAnswer(md, missing); !slices.Equal(got, want) {
		t.Errorf("answered %v, want %v", got, want)
	}
	if len(missing) != 3 || missing[0].TopicID != unknown || missing[1].TopicID != ([16]byte{}) || missing[2].TopicID != unknown {
		t.Errorf("unknown topics do not echo their ids: %+v", missing)
	}
	if named, missing := topicsByID(md, nil); named != nil || missing != nil {
		t.Errorf("all topics (nil) became %v, %v", named, missing)
	}
}

// The coordinator's answer, by name, gets the ids of the image; a topic
// it no longer holds (deleted, found by a fetch of all) is left out, as
// v10 has no way to name it.
func TestWithTopicIDs(t *testing.T) {
	md, a, b := idImage()
	topic := func(name string) kmsg.OffsetFetchResponseGroupTopic {
		t := kmsg.NewOffsetFetchResponseGroupTopic()
		t.Topic = name
		p := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		p.Offset = 4
		t.Partitions = append(t.Partitions, p)
		return t
	}
	got := withTopicIDs(md, []kmsg.OffsetFetchResponseGroupTopic{topic("deleted"), topic("b"), topic("a"), topic("")})
	if len(got) != 2 || got[0].Topic != "b" || got[0].TopicID != b || got[1].Topic != "a" || got[1].TopicID != a {
		t.Fatalf("got %+v, want b and a with their ids", got)
	}
}

// FuzzOffsetCommitByTopicID decodes any body as OffsetCommit v10 and
// TxnOffsetCommit v6 and names its topics as the handlers do: nothing
// panics, and a partition of a topic whose id the image lacks is never
// let through to the group coordinator.
func FuzzOffsetCommitByTopicID(f *testing.F) {
	md, a, _ := idImage()
	seed := kmsg.NewPtrOffsetCommitRequest()
	seed.Version, seed.Group = 10, "g"
	seed.Topics = []kmsg.OffsetCommitRequestTopic{
		{TopicID: a, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}},
		{TopicID: [16]byte{9}, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}},
		{Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: -1, Offset: 1}}},
	}
	f.Add(seed.AppendTo(nil))
	txn := kmsg.NewPtrTxnOffsetCommitRequest()
	txn.Version, txn.Group, txn.TransactionalID = 6, "g", "t"
	txn.Topics = []kmsg.TxnOffsetCommitRequestTopic{{TopicID: a, Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Offset: 3}}}}
	f.Add(txn.AppendTo(nil))
	f.Add([]byte{})
	f.Add([]byte{0, 1, 'g', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, body []byte) {
		type asked struct {
			id        [16]byte
			partition int32
		}
		var all []asked
		oc := kmsg.NewPtrOffsetCommitRequest()
		oc.Version = 10
		if oc.ReadFrom(body) == nil {
			for _, rt := range oc.Topics {
				for _, rp := range rt.Partitions {
					all = append(all, asked{rt.TopicID, rp.Partition})
				}
			}
		}
		tc := kmsg.NewPtrTxnOffsetCommitRequest()
		tc.Version = 6
		if tc.ReadFrom(body) == nil {
			for _, rt := range tc.Topics {
				for _, rp := range rt.Partitions {
					all = append(all, asked{rt.TopicID, rp.Partition})
				}
			}
		}
		for _, a := range all {
			code := commitRefusal(md, true, topicNameByID(md, a.id), a.partition, nil, protocol.TopicAuthorizationFailed)
			if md.TopicByID(a.id) == nil && code != protocol.UnknownTopicID {
				t.Fatalf("id %x answered %v", a.id, code)
			}
		}
	})
}
