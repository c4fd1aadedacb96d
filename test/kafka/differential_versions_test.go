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
	for _, c := range []struct {
		step     string
		endpoint int8
	}{
		{"DescribeCluster v2 with fenced brokers", 1},
		{"DescribeCluster v2 controllers", 2},
		{"DescribeCluster v2 endpoint type 0", 0},
		{"DescribeCluster v2 endpoint type 9", 9},
	} {
		dc, _ := s.do(c.step, &kmsg.DescribeClusterRequest{IncludeFencedBrokers: true, EndpointType: c.endpoint}, 2).(*kmsg.DescribeClusterResponse)
		if dc != nil {
			var brokers []string
			for _, b := range dc.Brokers {
				brokers = append(brokers, fmt.Sprintf("fenced=%t", b.IsFenced))
			}
			s.see(c.step, "%s %q %v", errName(dc.ErrorCode), deref(dc.ErrorMessage), brokers)
		}
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

// apiVersionsV5 sends ApiVersions v5 naming the cluster and node meant,
// rightly and wrongly (KIP-1242), each on a connection of its own.
func (s *scenario) apiVersionsV5() {
	md, err := s.w.do(&kmsg.MetadataRequest{}, 12)
	if err != nil {
		s.t.Fatalf("%s: metadata: %v", s.addr, err)
	}
	cluster, node := deref(md.(*kmsg.MetadataResponse).ClusterID), md.(*kmsg.MetadataResponse).Brokers[0].NodeID
	for _, c := range []struct {
		step    string
		cluster *string
		node    int32
	}{
		{"ApiVersions v5 bootstrapping", nil, -1},
		{"ApiVersions v5 this node", &cluster, node},
		{"ApiVersions v5 another cluster", kmsg.StringPtr("not-" + cluster), node},
		{"ApiVersions v5 another node", &cluster, node + 1},
		{"ApiVersions v5 cluster without node", &cluster, -1},
		{"ApiVersions v5 node without cluster", nil, node},
	} {
		req := &kmsg.ApiVersionsRequest{ClientSoftwareName: "diff", ClientSoftwareVersion: "1", ClusterID: c.cluster, NodeID: c.node}
		resp, _ := s.doOn(dialWire(s.t, s.addr), c.step, req, 5).(*kmsg.ApiVersionsResponse)
		if resp != nil {
			s.see(c.step, "%s keys=%t", errName(resp.ErrorCode), len(resp.ApiKeys) > 0)
		}
	}
}

// newestFetchAndListOffsets: Fetch v18 (v17 and v18 add only followers'
// fields) by topic id, and ListOffsets v11 with the tiered-storage
// timestamps of v9 (-5, latest tiered) and v11 (-6, earliest pending
// upload), which a log without tiered storage answers too.
func (s *scenario) newestFetchAndListOffsets() {
	// kmsg's defaults, which v15+ needs: ReplicaState's replica id -1
	// marks a consumer.
	req := kmsg.NewPtrFetchRequest()
	req.MaxBytes, req.SessionEpoch = 1<<20, -1
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes = 4, 1<<20
	req.Topics = []kmsg.FetchRequestTopic{{TopicID: s.topicID(topic), Partitions: []kmsg.FetchRequestTopicPartition{rp}}}
	if resp, _ := s.do("Fetch v18 by topic id", req, 18).(*kmsg.FetchResponse); resp != nil {
		var parts []string
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, fmt.Sprintf("%s hw=%d bytes=%t", errName(p.ErrorCode), p.HighWatermark, len(p.RecordBatches) > 0))
			}
		}
		s.see("Fetch v18 by topic id", "%s %v", errName(resp.ErrorCode), parts)
	}
	for _, c := range []struct {
		step    string
		version int16
		ts      int64
	}{
		{"ListOffsets v11 latest", 11, -1},
		{"ListOffsets v11 earliest local", 11, -4},
		{"ListOffsets v11 latest tiered", 11, -5},
		{"ListOffsets v11 earliest pending upload", 11, -6},
		{"ListOffsets v11 timestamp -7", 11, -7},
		{"ListOffsets v6 max-timestamp", 6, -3},
		{"ListOffsets v7 earliest local", 7, -4},
		{"ListOffsets v8 latest tiered", 8, -5},
		{"ListOffsets v10 earliest pending upload", 10, -6},
	} {
		resp, _ := s.do(c.step, &kmsg.ListOffsetsRequest{ReplicaID: -1, TimeoutMillis: 1000, Topics: []kmsg.ListOffsetsRequestTopic{{
			Topic: topic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: c.ts, CurrentLeaderEpoch: -1}},
		}}}, c.version).(*kmsg.ListOffsetsResponse)
		if resp != nil && len(resp.Topics) == 1 && len(resp.Topics[0].Partitions) == 1 {
			p := resp.Topics[0].Partitions[0]
			s.see(c.step, "%s offset=%d timestamp=%d epoch=%d", errName(p.ErrorCode), p.Offset, p.Timestamp, p.LeaderEpoch)
		}
	}
}

// produceByID sends Produce v13, which names topics by id (KIP-516):
// the topic's own id, one no topic has, zero, and a partition the topic
// lacks.
func (s *scenario) produceByID() {
	id := s.topicID(topic)
	for _, c := range []struct {
		step      string
		id        [16]byte
		partition int32
	}{
		{"Produce v13 by topic id", id, 0},
		{"Produce v13 unknown topic id", [16]byte{0xde, 0xad}, 0},
		{"Produce v13 zero topic id", [16]byte{}, 0},
		{"Produce v13 partition the topic lacks", id, 7},
	} {
		req := produceReq("", c.partition, -1, 5000, "v13")
		req.Topics[0].TopicID = c.id
		resp, _ := s.do(c.step, req, 13).(*kmsg.ProduceResponse)
		if resp == nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			continue
		}
		p := resp.Topics[0].Partitions[0]
		s.see(c.step, "%s base=%d id=%t", errName(p.ErrorCode), p.BaseOffset, resp.Topics[0].TopicID == c.id)
	}
}
