package protocol

import "github.com/twmb/franz-go/pkg/kmsg"

// VersionRange is the inclusive range of versions served for one API key.
type VersionRange struct{ Min, Max int16 }

// supported is the table of APIs this broker serves, advertised verbatim in
// ApiVersions. An API is listed only once its handler exists end to end.
// The oldest versions are Kafka 4's (KIP-896 removed the rest); a request
// at a removed version closes the connection, as Kafka 4 does. Produce
// starts at v3, where Kafka 4 advertises v0 yet closes the connection on
// v0-v2 all the same.
var supported = map[kmsg.Key]VersionRange{
	kmsg.Produce:                      {3, 13},
	kmsg.Fetch:                        {4, 18},
	kmsg.ListOffsets:                  {1, 11},
	kmsg.Metadata:                     {0, 13},
	kmsg.FindCoordinator:              {0, 5},
	kmsg.ApiVersions:                  {0, 5},
	kmsg.CreateTopics:                 {2, 7},
	kmsg.DeleteTopics:                 {1, 6},
	kmsg.InitProducerID:               {0, 5},
	kmsg.OffsetForLeaderEpoch:         {2, 4},
	kmsg.CreatePartitions:             {0, 3},
	kmsg.AlterConfigs:                 {0, 2},
	kmsg.DescribeConfigs:              {1, 4},
	kmsg.DescribeCluster:              {0, 2},
	kmsg.DescribeLogDirs:              {1, 5},
	kmsg.ElectLeaders:                 {0, 2},
	kmsg.DescribeQuorum:               {0, 2},
	kmsg.DeleteRecords:                {0, 2},
	kmsg.AlterPartitionAssignments:    {0, 0},
	kmsg.ListPartitionReassignments:   {0, 0},
	kmsg.DescribeProducers:            {0, 0},
	kmsg.WriteTxnMarkers:              {1, 1},
	kmsg.IncrementalAlterConfigs:      {0, 1},
	kmsg.OffsetCommit:                 {2, 10},
	kmsg.OffsetFetch:                  {1, 10},
	kmsg.JoinGroup:                    {0, 9},
	kmsg.SyncGroup:                    {0, 5},
	kmsg.Heartbeat:                    {0, 4},
	kmsg.LeaveGroup:                   {0, 5},
	kmsg.DescribeGroups:               {0, 6},
	kmsg.ListGroups:                   {0, 5},
	kmsg.DeleteGroups:                 {0, 3},
	kmsg.OffsetDelete:                 {0, 0},
	kmsg.DescribeTopicPartitions:      {0, 0},
	kmsg.CreateACLs:                   {1, 3},
	kmsg.DescribeACLs:                 {1, 3},
	kmsg.DeleteACLs:                   {1, 3},
	kmsg.DescribeClientQuotas:         {0, 1},
	kmsg.DescribeUserSCRAMCredentials: {0, 0},
	kmsg.AlterUserSCRAMCredentials:    {0, 0},
	kmsg.SASLHandshake:                {0, 1},
	kmsg.SASLAuthenticate:             {0, 2},
	kmsg.TxnOffsetCommit:              {0, 6},
	kmsg.AddPartitionsToTxn:           {0, 5},
	kmsg.AddOffsetsToTxn:              {0, 4},
	kmsg.EndTxn:                       {0, 5},
	kmsg.DescribeTransactions:         {0, 0},
	kmsg.ListTransactions:             {0, 2},
}

// Supported reports whether the broker serves key at version v.
func Supported(key, v int16) bool {
	r, ok := supported[kmsg.Key(key)]
	return ok && v >= r.Min && v <= r.Max
}

// APIKeys returns every served key with its range, ordered by key, in the
// shape ApiVersions answers with.
func APIKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(supported))
	for k := int16(0); k <= kmsg.MaxKey; k++ {
		if r, ok := supported[kmsg.Key(k)]; ok {
			keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: r.Min, MaxVersion: r.Max})
		}
	}
	return keys
}
