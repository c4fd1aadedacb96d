package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// newerVersions sends the newest version Kafka 4.4 serves of APIs whose
// last versions change only a field or the errors a client must expect,
// so that serving them is a matter of the version table.
func (s *scenario) newerVersions() {
	md, _ := s.do("Metadata v13", &kmsg.MetadataRequest{Topics: []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(topic)}}}, 13).(*kmsg.MetadataResponse)
	if md != nil && len(md.Topics) == 1 {
		s.see("Metadata v13", "%s topic=%s partitions=%d brokers=%d", errName(md.ErrorCode), errName(md.Topics[0].ErrorCode),
			len(md.Topics[0].Partitions), len(md.Brokers))
	}
	fc, _ := s.do("FindCoordinator v5", &kmsg.FindCoordinatorRequest{CoordinatorKeys: []string{group, ""}}, 5).(*kmsg.FindCoordinatorResponse)
	if fc != nil {
		var codes []string
		for _, c := range fc.Coordinators {
			codes = append(codes, errName(c.ErrorCode))
		}
		s.see("FindCoordinator v5", "%v", codes)
	}
	ip, _ := s.do("InitProducerID v5 idempotent", &kmsg.InitProducerIDRequest{TransactionTimeoutMillis: -1, ProducerID: -1, ProducerEpoch: -1}, 5).(*kmsg.InitProducerIDResponse)
	if ip != nil {
		s.see("InitProducerID v5 idempotent", "%s id=%t epoch=%d", errName(ip.ErrorCode), ip.ProducerID >= 0, ip.ProducerEpoch)
	}
	dg, _ := s.do("DeleteGroups v3 unknown", &kmsg.DeleteGroupsRequest{Groups: []string{"diff-nobody"}}, 3).(*kmsg.DeleteGroupsResponse)
	if dg != nil && len(dg.Groups) == 1 {
		s.see("DeleteGroups v3 unknown", "%s %q", errName(dg.Groups[0].ErrorCode), deref(dg.Groups[0].ErrorMessage))
	}
	dc, _ := s.do("DescribeCluster v2 with fenced brokers", &kmsg.DescribeClusterRequest{IncludeFencedBrokers: true}, 2).(*kmsg.DescribeClusterResponse)
	if dc != nil {
		var brokers []string
		for _, b := range dc.Brokers {
			brokers = append(brokers, fmt.Sprintf("fenced=%t", b.IsFenced))
		}
		s.see("DescribeCluster v2 with fenced brokers", "%s %v", errName(dc.ErrorCode), brokers)
	}
	dl, _ := s.do("DescribeLogDirs v5", &kmsg.DescribeLogDirsRequest{Topics: []kmsg.DescribeLogDirsRequestTopic{{Topic: topic, Partitions: []int32{0}}}}, 5).(*kmsg.DescribeLogDirsResponse)
	if dl != nil {
		var dirs []string
		for _, d := range dl.Dirs {
			parts := 0
			for _, t := range d.Topics {
				parts += len(t.Partitions)
			}
			dirs = append(dirs, fmt.Sprintf("%s cordoned=%t partitions=%d space=%t", errName(d.ErrorCode), d.IsCordoned, parts, d.TotalBytes > 0))
		}
		s.see("DescribeLogDirs v5", "%s %v", errName(dl.ErrorCode), dirs)
	}
}
