package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handler serves one decoded request. It must complete resp exactly once,
// now or later (a parked produce or fetch completes it from a waiter).
type handler func(b *Broker, c *conn, req kmsg.Request, resp *response)

// handlers maps each served API key to its handler; it reads like the
// protocol's index, one file per API family. protocol's version table lists
// the same keys (a test checks that they agree).
var handlers = map[kmsg.Key]handler{
	kmsg.Produce:                      parked(handleProduce),
	kmsg.Fetch:                        parked(handleFetch),
	kmsg.ListOffsets:                  immediate(handleListOffsets),
	kmsg.Metadata:                     immediate(handleMetadata),
	kmsg.FindCoordinator:              immediate(handleFindCoordinator),
	kmsg.ApiVersions:                  immediate(handleAPIVersions),
	kmsg.CreateTopics:                 immediate(handleCreateTopics),
	kmsg.DeleteTopics:                 immediate(handleDeleteTopics),
	kmsg.InitProducerID:               parked(handleInitProducerID),
	kmsg.OffsetForLeaderEpoch:         immediate(handleOffsetForLeaderEpoch),
	kmsg.CreatePartitions:             immediate(handleCreatePartitions),
	kmsg.AlterConfigs:                 immediate(handleAlterConfigs),
	kmsg.DescribeConfigs:              immediate(handleDescribeConfigs),
	kmsg.DescribeCluster:              immediate(handleDescribeCluster),
	kmsg.DescribeLogDirs:              immediate(handleDescribeLogDirs),
	kmsg.ElectLeaders:                 immediate(handleElectLeaders),
	kmsg.DescribeQuorum:               immediate(handleDescribeQuorum),
	kmsg.DeleteRecords:                immediate(handleDeleteRecords),
	kmsg.AlterPartitionAssignments:    immediate(handleAlterPartitionReassignments),
	kmsg.ListPartitionReassignments:   immediate(handleListPartitionReassignments),
	kmsg.DescribeProducers:            immediate(handleDescribeProducers),
	kmsg.WriteTxnMarkers:              parked(handleWriteTxnMarkers),
	kmsg.IncrementalAlterConfigs:      immediate(handleIncrementalAlterConfigs),
	kmsg.OffsetCommit:                 parked(handleOffsetCommit),
	kmsg.OffsetFetch:                  immediate(handleOffsetFetch),
	kmsg.JoinGroup:                    parked(handleJoinGroup),
	kmsg.SyncGroup:                    parked(handleSyncGroup),
	kmsg.Heartbeat:                    immediate(handleHeartbeat),
	kmsg.LeaveGroup:                   immediate(handleLeaveGroup),
	kmsg.DescribeGroups:               immediate(handleDescribeGroups),
	kmsg.ListGroups:                   immediate(handleListGroups),
	kmsg.DeleteGroups:                 parked(handleDeleteGroups),
	kmsg.OffsetDelete:                 parked(handleOffsetDelete),
	kmsg.DescribeTopicPartitions:      immediate(handleDescribeTopicPartitions),
	kmsg.CreateACLs:                   immediate(handleCreateAcls),
	kmsg.DescribeACLs:                 immediate(handleDescribeAcls),
	kmsg.DeleteACLs:                   immediate(handleDeleteAcls),
	kmsg.DescribeClientQuotas:         immediate(handleDescribeClientQuotas),
	kmsg.DescribeUserSCRAMCredentials: immediate(handleDescribeUserScram),
	kmsg.AlterUserSCRAMCredentials:    immediate(handleAlterUserScram),
	kmsg.SASLHandshake:                parked(handleSaslHandshake),
	kmsg.SASLAuthenticate:             parked(handleSaslAuthenticate),
	kmsg.TxnOffsetCommit:              parked(handleTxnOffsetCommit),
	kmsg.AddPartitionsToTxn:           parked(handleAddPartitionsToTxn),
	kmsg.AddOffsetsToTxn:              parked(handleAddOffsetsToTxn),
	kmsg.EndTxn:                       parked(handleEndTxn),
	kmsg.DescribeTransactions:         immediate(handleDescribeTransactions),
	kmsg.ListTransactions:             immediate(handleListTransactions),
}

// immediate adapts a handler that answers before returning.
func immediate[Req kmsg.Request, Resp kmsg.Response](f func(*Broker, *conn, Req) Resp) handler {
	return func(b *Broker, c *conn, req kmsg.Request, resp *response) {
		resp.complete(f(b, c, req.(Req)))
	}
}

// parked adapts a handler that may complete its response later.
func parked[Req kmsg.Request](f func(*Broker, *conn, Req, *response)) handler {
	return func(b *Broker, c *conn, req kmsg.Request, resp *response) {
		f(b, c, req.(Req), resp)
	}
}

func (b *Broker) dispatch(c *conn, req kmsg.Request, resp *response) {
	handlers[kmsg.Key(req.Key())](b, c, req, resp)
}
