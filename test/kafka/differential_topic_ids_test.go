package kafka

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The offset APIs' topic-ID versions (OffsetCommit v10, OffsetFetch v10,
// TxnOffsetCommit v6) name topics by id alone. A scenario cannot compare
// ids (each broker makes its own), so each topic of an answer is noted by
// the role its id plays: the topic's own, the made-up one, zero, or
// another.

const idsGroup = "diff-ids"

// idRoles names the ids a step sends.
type idRoles struct{ known, unknown [16]byte }

func (r idRoles) name(id [16]byte) string {
	switch id {
	case r.known:
		return "known"
	case r.unknown:
		return "unknown"
	case [16]byte{}:
		return "zero"
	}
	return "other"
}

// topicID reads topic's id from Metadata v12.
func (s *scenario) topicID(name string) [16]byte {
	r, err := s.w.do(&kmsg.MetadataRequest{Topics: []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(name)}}}, 12)
	if err != nil {
		s.t.Fatalf("%s: metadata of %s: %v", s.addr, name, err)
	}
	return r.(*kmsg.MetadataResponse).Topics[0].TopicID
}

func (s *scenario) offsetsByTopicID() {
	s.awaitCoordinator(idsGroup)
	ids := idRoles{known: s.topicID(topic), unknown: [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
	commit := func(step string, version int16, topics ...kmsg.OffsetCommitRequestTopic) {
		resp, _ := s.do(step, &kmsg.OffsetCommitRequest{Group: idsGroup, Generation: -1, Topics: topics}, version).(*kmsg.OffsetCommitResponse)
		if resp == nil {
			return
		}
		var parts []string
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, fmt.Sprintf("%s/%q/%d:%s", ids.name(t.TopicID), t.Topic, p.Partition, errName(p.ErrorCode)))
			}
		}
		slices.Sort(parts) // Kafka answers refused partitions first
		s.see(step, "%v", parts)
	}
	byID := func(id [16]byte, offset int64, partitions ...int32) kmsg.OffsetCommitRequestTopic {
		t := kmsg.OffsetCommitRequestTopic{TopicID: id}
		for _, p := range partitions {
			t.Partitions = append(t.Partitions, kmsg.OffsetCommitRequestTopicPartition{Partition: p, Offset: offset, LeaderEpoch: -1})
		}
		return t
	}
	commit("OffsetCommit v10 known, unknown and zero ids", 10,
		byID(ids.known, 5, 0, 9), byID(ids.unknown, 5, 0), byID([16]byte{}, 5, 1))
	commit("OffsetCommit v10 the same id twice", 10, byID(ids.known, 6, 1), byID(ids.known, 7, 2))
	commit("OffsetCommit v10 no topics", 10)
	s.fetchByID("OffsetFetch v10 known, unknown and zero ids", ids, []kmsg.OffsetFetchRequestGroupTopic{
		{TopicID: ids.known, Partitions: []int32{0, 1, 2}}, {TopicID: ids.unknown, Partitions: []int32{0}}, {Partitions: []int32{0}},
	})
	s.fetchByID("OffsetFetch v10 of a partition the topic lacks", ids, []kmsg.OffsetFetchRequestGroupTopic{{TopicID: ids.known, Partitions: []int32{9}}})
	s.fetchByID("OffsetFetch v10 all topics", ids, nil)
	byName := func(t kmsg.OffsetFetchResponseGroupTopic) string { return t.Topic }
	s.fetchGroup("OffsetFetch v9 by name sees v10's commits", 9, idsGroup, nil, byName)
	s.fetchGroup("OffsetFetch v9 of a partition the topic lacks", 9, idsGroup,
		[]kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, Partitions: []int32{9}}}, byName)
	s.txnCommitByID(ids)
	s.fetchByID("OffsetFetch v10 after TxnOffsetCommit v6", ids, []kmsg.OffsetFetchRequestGroupTopic{{TopicID: ids.known, Partitions: []int32{0}}})
}

// fetchByID notes one OffsetFetch v10 of idsGroup, its topics by id role.
func (s *scenario) fetchByID(step string, ids idRoles, topics []kmsg.OffsetFetchRequestGroupTopic) {
	s.fetchGroup(step, 10, idsGroup, topics, func(t kmsg.OffsetFetchResponseGroupTopic) string {
		return fmt.Sprintf("%s/%q", ids.name(t.TopicID), t.Topic)
	})
}

// txnCommitByID commits offsets by topic id in a transaction
// (TxnOffsetCommit v6) beside an unknown and a zero id, and commits it.
func (s *scenario) txnCommitByID(ids idRoles) {
	const txnID = "diff-ids-txn"
	s.untilLoaded("FindCoordinator "+txnID, func() kmsg.Response {
		return s.do("FindCoordinator "+txnID, &kmsg.FindCoordinatorRequest{CoordinatorType: 1, CoordinatorKeys: []string{txnID}}, 4)
	}, func(r kmsg.Response) int16 { return r.(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode })
	// Kafka answers NOT_COORDINATOR for a while after FindCoordinator
	// found it, until it has loaded the id's __transaction_state
	// partition: that is waited out too.
	ip, _ := s.untilLoaded("InitProducerID transactional", func() kmsg.Response {
		return s.do("InitProducerID transactional", &kmsg.InitProducerIDRequest{TransactionalID: kmsg.StringPtr(txnID),
			TransactionTimeoutMillis: 60000, ProducerID: -1, ProducerEpoch: -1}, 4)
	}, func(r kmsg.Response) int16 {
		if c := r.(*kmsg.InitProducerIDResponse).ErrorCode; c != kerr.NotCoordinator.Code {
			return c
		}
		return kerr.CoordinatorLoadInProgress.Code
	}).(*kmsg.InitProducerIDResponse)
	if ip == nil {
		return
	}
	s.see("InitProducerID transactional", "%s", errName(ip.ErrorCode))
	pid, epoch := ip.ProducerID, ip.ProducerEpoch
	ao, _ := s.do("AddOffsetsToTxn", &kmsg.AddOffsetsToTxnRequest{TransactionalID: txnID, ProducerID: pid, ProducerEpoch: epoch,
		Group: idsGroup}, 4).(*kmsg.AddOffsetsToTxnResponse)
	if ao != nil {
		s.see("AddOffsetsToTxn", "%s", errName(ao.ErrorCode))
	}
	req := &kmsg.TxnOffsetCommitRequest{TransactionalID: txnID, Group: idsGroup, ProducerID: pid, ProducerEpoch: epoch, Generation: -1}
	for _, t := range []struct {
		id [16]byte
		p  int32
	}{{ids.known, 0}, {ids.known, 9}, {ids.unknown, 0}, {[16]byte{}, 0}} {
		req.Topics = append(req.Topics, kmsg.TxnOffsetCommitRequestTopic{TopicID: t.id, Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{
			Partition: t.p, Offset: 11, LeaderEpoch: -1,
		}}})
	}
	tc, _ := s.do("TxnOffsetCommit v6", req, 6).(*kmsg.TxnOffsetCommitResponse)
	if tc != nil {
		var parts []string
		for _, t := range tc.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, fmt.Sprintf("%s/%q/%d:%s", ids.name(t.TopicID), t.Topic, p.Partition, errName(p.ErrorCode)))
			}
		}
		slices.Sort(parts)
		s.see("TxnOffsetCommit v6", "%s", strings.Join(parts, " "))
	}
	et, _ := s.do("EndTxn commit", &kmsg.EndTxnRequest{TransactionalID: txnID, ProducerID: pid, ProducerEpoch: epoch, Commit: true}, 4).(*kmsg.EndTxnResponse)
	if et != nil {
		s.see("EndTxn commit", "%s", errName(et.ErrorCode))
	}
	s.awaitStableOffsets(idsGroup)
}

// awaitStableOffsets waits, without noting it, until no offset of groupID
// is pending: the commit marker lands after EndTxn answers.
func (s *scenario) awaitStableOffsets(groupID string) {
	for range 200 {
		r, err := s.w.do(&kmsg.OffsetFetchRequest{Groups: []kmsg.OffsetFetchRequestGroup{{Group: groupID}}, RequireStable: true}, 9)
		if err != nil {
			return
		}
		stable := true
		for _, t := range r.(*kmsg.OffsetFetchResponse).Groups[0].Topics {
			for _, p := range t.Partitions {
				stable = stable && p.ErrorCode == 0
			}
		}
		if stable {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
