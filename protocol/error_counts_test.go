package protocol

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func collectCodes(resp kmsg.Response) []ErrorCode {
	var codes []ErrorCode
	EachErrorCode(resp, func(c ErrorCode) { codes = append(codes, c) })
	return codes
}

func TestEachErrorCodeFindsNestedCodes(t *testing.T) {
	// DescribeGroups nests nothing, CreateTopics one level, OffsetCommit
	// two; all go through the reflective walk.
	dg := kmsg.NewPtrDescribeGroupsResponse()
	dg.Groups = []kmsg.DescribeGroupsResponseGroup{{ErrorCode: int16(GroupIDNotFound)}, {ErrorCode: 0}}
	oc := kmsg.NewPtrOffsetCommitResponse()
	oc.Topics = []kmsg.OffsetCommitResponseTopic{{Partitions: []kmsg.OffsetCommitResponseTopicPartition{
		{ErrorCode: int16(UnknownMemberID)}, {ErrorCode: int16(IllegalGeneration)}}}}
	pr := kmsg.NewPtrProduceResponse()
	pr.Topics = []kmsg.ProduceResponseTopic{{Partitions: []kmsg.ProduceResponseTopicPartition{{ErrorCode: int16(NotLeaderOrFollower)}}}}
	fr := kmsg.NewPtrFetchResponse()
	fr.Topics = []kmsg.FetchResponseTopic{{Partitions: []kmsg.FetchResponseTopicPartition{{ErrorCode: int16(OffsetOutOfRange), RecordBatches: []byte{1, 2}}}}}
	for _, tc := range []struct {
		resp kmsg.Response
		want []ErrorCode
	}{
		{dg, []ErrorCode{GroupIDNotFound, None}},
		{oc, []ErrorCode{UnknownMemberID, IllegalGeneration}},
		{pr, []ErrorCode{NotLeaderOrFollower}},
		{fr, []ErrorCode{None, OffsetOutOfRange}},
		{kmsg.NewPtrHeartbeatResponse(), []ErrorCode{None}},
		{nil, nil},
	} {
		if got := collectCodes(tc.resp); !slices.Equal(got, tc.want) {
			t.Errorf("%T: codes %v, want %v", tc.resp, got, tc.want)
		}
	}
}
