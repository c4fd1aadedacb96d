package broker

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
)

// pagedMetadata holds topics a (3 partitions), b (1) and c (2).
func pagedMetadata() *coordinator.Metadata {
	md := &coordinator.Metadata{}
	for i, tc := range []struct {
		name string
		n    int
	}{{"a", 3}, {"b", 1}, {"c", 2}} {
		t := &coordinator.Topic{Name: tc.name, ID: [16]byte{byte(i + 1)}}
		for p := range tc.n {
			t.Partitions = append(t.Partitions, coordinator.Partition{ID: int32(p), Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
		}
		md = md.WithTopics(0, t)
	}
	return md
}

// page renders an answer as "topic:partitions... next=cursor".
func page(resp *kmsg.DescribeTopicPartitionsResponse) string {
	var out []string
	for _, t := range resp.Topics {
		s := fmt.Sprintf("%s/%d:", *t.Topic, t.ErrorCode)
		for _, p := range t.Partitions {
			s += fmt.Sprint(p.Partition)
		}
		out = append(out, s)
	}
	next := "none"
	if resp.NextCursor != nil {
		next = fmt.Sprintf("%s-%d", resp.NextCursor.Topic, resp.NextCursor.Partition)
	}
	return strings.Join(out, " ") + " next=" + next
}

// TestDescribeTopicPartitionsPages: the partition limit pages through the
// topics in name order, the cursor resumes where the last page stopped,
// and hostile limits and cursors still answer.
func TestDescribeTopicPartitionsPages(t *testing.T) {
	md := pagedMetadata()
	cursor := func(topic string, p int32) *kmsg.DescribeTopicPartitionsRequestCursor {
		return &kmsg.DescribeTopicPartitionsRequestCursor{Topic: topic, Partition: p}
	}
	for _, tc := range []struct {
		topics []string
		limit  int32
		cursor *kmsg.DescribeTopicPartitionsRequestCursor
		want   string
	}{
		{nil, 2000, nil, "a/0:012 b/0:0 c/0:01 next=none"},
		{nil, 2, nil, "a/0:01 next=a-2"},
		{nil, 2, cursor("a", 2), "a/0:2 b/0:0 next=c-0"},
		{nil, 2, cursor("c", 0), "c/0:01 next=none"},
		{[]string{"c", "zz", "a", "c"}, 2000, nil, "a/0:012 c/0:01 zz/3: next=none"},
		{[]string{"b"}, 0, nil, "b/0:0 next=none"},                  // a limit under 1 still answers one
		{nil, -5, cursor("a", -3), "a/0:0 next=a-1"},                // negative cursor: from the start
		{nil, 2000, cursor("bb", 9), "c/0:01 next=none"},            // a cursor between topics
		{nil, 2000, cursor("a", 99), "a/0: b/0:0 c/0:01 next=none"}, // past a topic's end
	} {
		req := &kmsg.DescribeTopicPartitionsRequest{ResponsePartitionLimit: tc.limit, Cursor: tc.cursor}
		for _, n := range tc.topics {
			req.Topics = append(req.Topics, kmsg.DescribeTopicPartitionsRequestTopic{Topic: n})
		}
		if got := page(describeTopicPartitions(md, req, func(string) bool { return true })); got != tc.want {
			t.Errorf("topics %v limit %d cursor %+v: %s, want %s", tc.topics, tc.limit, tc.cursor, got, tc.want)
		}
	}
}

// TestDescribeTopicPartitionsTopicCount: a request whose topic count is
// over the bound is refused before it is decoded, one under it is not.
func TestDescribeTopicPartitionsTopicCount(t *testing.T) {
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.Topics = make([]kmsg.DescribeTopicPartitionsRequestTopic, 3)
	if err := checkTopicCount("DescribeTopicPartitions", true, req.AppendTo(nil)); err != nil {
		t.Errorf("three topics refused: %v", err)
	}
	huge := binary.AppendUvarint(nil, maxMetadataTopics+2) // count+1, no entries
	if err := checkTopicCount("DescribeTopicPartitions", true, huge); err == nil {
		t.Errorf("%d topics accepted", maxMetadataTopics+1)
	}
}
