package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/replica"
)

// The authorization matrix: what each API checks, as Kafka 4.4's KafkaApis
// and AuthHelper check it. Each row is a package variable that the handler
// passes to conn.may, so this table is the one place where an API's
// resource, operation and error code are written; Authorizations exports
// it for the tests (test/security walks it row by row) and the docs.

// Authorization is one row: a request of Key, of the kind When names (""
// for every one), needs Operation on a resource of type Resource, and is
// answered with Error where it lacks it.
type Authorization struct {
	Key  kmsg.Key
	When string
	// Resource is ACLResourceTypeUnknown for an API that checks nothing.
	Resource  kmsg.ACLResourceType
	Operation kmsg.ACLOperation
	// OrPrevious makes the row an alternative to the one before it: either
	// grant suffices (CreateTopics: Create on the cluster or on the topic).
	OrPrevious bool
	// Error is the code of a refused resource; None when the resource is
	// left out of the response instead (Metadata and ListGroups listing
	// all: they do not disclose what the principal may not Describe).
	Error protocol.ErrorCode
	Note  string
}

const (
	resTopic   = kmsg.ACLResourceTypeTopic
	resGroup   = kmsg.ACLResourceTypeGroup
	resCluster = kmsg.ACLResourceTypeCluster
	resTxnID   = kmsg.ACLResourceTypeTransactionalId

	errTopic   = protocol.TopicAuthorizationFailed
	errGroup   = protocol.GroupAuthorizationFailed
	errCluster = protocol.ClusterAuthorizationFailed
	errTxnID   = protocol.TransactionalIDAuthFailed
)

func row(key kmsg.Key, when string, rt kmsg.ACLResourceType, op kmsg.ACLOperation, code protocol.ErrorCode) Authorization {
	return Authorization{Key: key, When: when, Resource: rt, Operation: op, Error: code}
}

// or marks a row as the alternative of the row before it.
func (a Authorization) or() Authorization { a.OrPrevious = true; return a }

// note attaches what a reader of the table should know.
func (a Authorization) note(s string) Authorization { a.Note = s; return a }

// unchecked is a row for an API that checks nothing.
func unchecked(key kmsg.Key, note string) Authorization {
	return Authorization{Key: key, Resource: kmsg.ACLResourceTypeUnknown, Note: note}
}

var (
	authzProduce    = row(kmsg.Produce, "", resTopic, kmsg.ACLOperationWrite, errTopic)
	authzProduceTxn = row(kmsg.Produce, "transactional", resTxnID, kmsg.ACLOperationWrite, errTxnID).note("every partition gets the error")
	// A transactional produce's topic check is authzProduce's own; this
	// row says so in the matrix.
	authzProduceTxnTop = row(kmsg.Produce, "transactional", resTopic, kmsg.ACLOperationWrite, errTopic)

	authzFetch         = row(kmsg.Fetch, "", resTopic, kmsg.ACLOperationRead, errTopic)
	authzFetchFollower = row(kmsg.Fetch, "from a follower", resCluster, kmsg.ACLOperationClusterAction, errTopic).note("replica id >= 0; every partition gets the error")

	authzListOffsets = row(kmsg.ListOffsets, "", resTopic, kmsg.ACLOperationDescribe, errTopic)

	authzEpochCluster = row(kmsg.OffsetForLeaderEpoch, "", resCluster, kmsg.ACLOperationClusterAction, errTopic).note("followers")
	authzEpochTopic   = row(kmsg.OffsetForLeaderEpoch, "", resTopic, kmsg.ACLOperationDescribe, errTopic).or().note("consumers, KIP-320")

	authzMetadata          = row(kmsg.Metadata, "named topics", resTopic, kmsg.ACLOperationDescribe, errTopic)
	authzMetadataAll       = row(kmsg.Metadata, "all topics", resTopic, kmsg.ACLOperationDescribe, protocol.None)
	authzMetadataCreate    = row(kmsg.Metadata, "auto-creating a topic", resTopic, kmsg.ACLOperationDescribe, errTopic)
	authzMetadataCreateCl  = row(kmsg.Metadata, "auto-creating a topic", resCluster, kmsg.ACLOperationCreate, errTopic)
	authzMetadataCreateTop = row(kmsg.Metadata, "auto-creating a topic", resTopic, kmsg.ACLOperationCreate, errTopic).or()

	authzCommitGroup = row(kmsg.OffsetCommit, "", resGroup, kmsg.ACLOperationRead, errGroup)
	authzCommitTopic = row(kmsg.OffsetCommit, "", resTopic, kmsg.ACLOperationRead, errTopic)

	authzTxnCommitTxnID = row(kmsg.TxnOffsetCommit, "", resTxnID, kmsg.ACLOperationWrite, errTxnID).note("every partition gets the error")
	authzTxnCommitGroup = row(kmsg.TxnOffsetCommit, "", resGroup, kmsg.ACLOperationRead, errGroup).note("every partition gets the error")
	authzTxnCommitTopic = row(kmsg.TxnOffsetCommit, "", resTopic, kmsg.ACLOperationRead, errTopic)

	authzOffsetFetchGroup    = row(kmsg.OffsetFetch, "named topics", resGroup, kmsg.ACLOperationDescribe, errGroup)
	authzOffsetFetchTopic    = row(kmsg.OffsetFetch, "named topics", resTopic, kmsg.ACLOperationDescribe, errTopic)
	authzOffsetFetchAllGroup = row(kmsg.OffsetFetch, "all topics", resGroup, kmsg.ACLOperationDescribe, errGroup)
	authzOffsetFetchAllTopic = row(kmsg.OffsetFetch, "all topics", resTopic, kmsg.ACLOperationDescribe, protocol.None)

	authzFindGroup = row(kmsg.FindCoordinator, "group", resGroup, kmsg.ACLOperationDescribe, errGroup)
	authzFindTxn   = row(kmsg.FindCoordinator, "transaction", resTxnID, kmsg.ACLOperationDescribe, errTxnID)

	authzJoin      = row(kmsg.JoinGroup, "", resGroup, kmsg.ACLOperationRead, errGroup)
	authzSync      = row(kmsg.SyncGroup, "", resGroup, kmsg.ACLOperationRead, errGroup)
	authzHeartbeat = row(kmsg.Heartbeat, "", resGroup, kmsg.ACLOperationRead, errGroup)
	authzLeave     = row(kmsg.LeaveGroup, "", resGroup, kmsg.ACLOperationRead, errGroup)

	authzDescribeGroups = row(kmsg.DescribeGroups, "", resGroup, kmsg.ACLOperationDescribe, errGroup)
	authzListGroupsAll  = row(kmsg.ListGroups, "", resCluster, kmsg.ACLOperationDescribe, protocol.None).note("every group")
	authzListGroups     = row(kmsg.ListGroups, "", resGroup, kmsg.ACLOperationDescribe, protocol.None).or().note("that group; the others are left out")
	authzDeleteGroups   = row(kmsg.DeleteGroups, "", resGroup, kmsg.ACLOperationDelete, errGroup)
	authzOffsetDelete   = row(kmsg.OffsetDelete, "", resGroup, kmsg.ACLOperationDelete, errGroup)
	authzOffsetDelTopic = row(kmsg.OffsetDelete, "", resTopic, kmsg.ACLOperationRead, errTopic)

	authzCreateCluster = row(kmsg.CreateTopics, "", resCluster, kmsg.ACLOperationCreate, errTopic)
	authzCreateTopic   = row(kmsg.CreateTopics, "", resTopic, kmsg.ACLOperationCreate, errTopic).or()
	authzCreateConfigs = row(kmsg.CreateTopics, "", resTopic, kmsg.ACLOperationDescribeConfigs, errTopic).note("in topic_config_error_code; the topic is still created")
	authzDeleteTopics  = row(kmsg.DeleteTopics, "", resTopic, kmsg.ACLOperationDelete, errTopic)
	authzDeleteRecords = row(kmsg.DeleteRecords, "", resTopic, kmsg.ACLOperationDelete, errTopic)
	authzPartitions    = row(kmsg.CreatePartitions, "", resTopic, kmsg.ACLOperationAlter, errTopic)

	authzDescribeConfigsTopic  = row(kmsg.DescribeConfigs, "topic", resTopic, kmsg.ACLOperationDescribeConfigs, errTopic)
	authzDescribeConfigsBroker = row(kmsg.DescribeConfigs, "broker", resCluster, kmsg.ACLOperationDescribeConfigs, errCluster).note("broker and broker-logger resources")
	authzAlterConfigsTopic     = row(kmsg.AlterConfigs, "topic", resTopic, kmsg.ACLOperationAlterConfigs, errTopic)
	authzAlterConfigsBroker    = row(kmsg.AlterConfigs, "broker", resCluster, kmsg.ACLOperationAlterConfigs, errCluster)
	authzIncrAlterTopic        = row(kmsg.IncrementalAlterConfigs, "topic", resTopic, kmsg.ACLOperationAlterConfigs, errTopic)
	authzIncrAlterBroker       = row(kmsg.IncrementalAlterConfigs, "broker", resCluster, kmsg.ACLOperationAlterConfigs, errCluster)

	authzDescribeLogDirs   = row(kmsg.DescribeLogDirs, "", resCluster, kmsg.ACLOperationDescribe, errCluster)
	authzDescribeQuorum    = row(kmsg.DescribeQuorum, "", resCluster, kmsg.ACLOperationDescribe, errCluster)
	authzListReassignments = row(kmsg.ListPartitionReassignments, "", resCluster, kmsg.ACLOperationDescribe, errCluster)
	authzAlterReassign     = row(kmsg.AlterPartitionAssignments, "", resCluster, kmsg.ACLOperationAlter, errCluster)
	authzElectLeaders      = row(kmsg.ElectLeaders, "", resCluster, kmsg.ACLOperationAlter, errCluster)

	authzClusterOps = row(kmsg.DescribeCluster, "asking for authorized operations", resCluster, kmsg.ACLOperationDescribe, protocol.None).
			note("the cluster's authorized operations are 0 without it; Metadata's field too")

	authzDescribeProducers = row(kmsg.DescribeProducers, "", resTopic, kmsg.ACLOperationRead, errTopic)
	authzWriteTxnMarkers   = row(kmsg.WriteTxnMarkers, "", resCluster, kmsg.ACLOperationClusterAction, errCluster)
	authzTopicPartitions   = row(kmsg.DescribeTopicPartitions, "", resTopic, kmsg.ACLOperationDescribe, errTopic)

	authzInitTxn = row(kmsg.InitProducerID, "transactional", resTxnID, kmsg.ACLOperationWrite, errTxnID)
	// The transaction coordinator's APIs (txn.go).
	authzAddPartitionsTxn    = row(kmsg.AddPartitionsToTxn, "v0-v3", resTxnID, kmsg.ACLOperationWrite, errTxnID).note("every partition gets the error")
	authzAddPartitionsTop    = row(kmsg.AddPartitionsToTxn, "v0-v3", resTopic, kmsg.ACLOperationWrite, errTopic).note("the others get OPERATION_NOT_ATTEMPTED")
	authzAddPartitionsBroker = row(kmsg.AddPartitionsToTxn, "v4+, from a broker", resCluster, kmsg.ACLOperationClusterAction, errCluster)
	authzAddOffsetsTxn       = row(kmsg.AddOffsetsToTxn, "", resTxnID, kmsg.ACLOperationWrite, errTxnID)
	authzAddOffsetsGroup     = row(kmsg.AddOffsetsToTxn, "", resGroup, kmsg.ACLOperationRead, errGroup)
	authzEndTxn              = row(kmsg.EndTxn, "", resTxnID, kmsg.ACLOperationWrite, errTxnID)
	authzDescribeTxn         = row(kmsg.DescribeTransactions, "", resTxnID, kmsg.ACLOperationDescribe, errTxnID)
	authzListTxns            = row(kmsg.ListTransactions, "", resTxnID, kmsg.ACLOperationDescribe, protocol.None).note("refused ids are left out")
	authzInitIdempotent      = row(kmsg.InitProducerID, "idempotent", resCluster, kmsg.ACLOperationIdempotentWrite, errCluster)
	authzInitAnyTopic        = row(kmsg.InitProducerID, "idempotent", resTopic, kmsg.ACLOperationWrite, errCluster).or().note("any topic, KIP-679")

	authzCreateACLs     = row(kmsg.CreateACLs, "", resCluster, kmsg.ACLOperationAlter, errCluster)
	authzDescribeACLs   = row(kmsg.DescribeACLs, "", resCluster, kmsg.ACLOperationDescribe, errCluster)
	authzDeleteACLs     = row(kmsg.DeleteACLs, "", resCluster, kmsg.ACLOperationAlter, errCluster)
	authzDescribeScram  = row(kmsg.DescribeUserSCRAMCredentials, "", resCluster, kmsg.ACLOperationDescribe, errCluster)
	authzAlterScram     = row(kmsg.AlterUserSCRAMCredentials, "", resCluster, kmsg.ACLOperationAlter, errCluster)
	authzDescribeQuotas = row(kmsg.DescribeClientQuotas, "", resCluster, kmsg.ACLOperationDescribeConfigs, errCluster)
)

// authorizations is the matrix in the protocol's order. Alternatives
// follow the row they are alternatives of.
var authorizations = []Authorization{
	authzProduce, authzProduceTxn, authzProduceTxnTop,
	authzFetch, authzFetchFollower,
	authzListOffsets,
	authzMetadata, authzMetadataAll, authzMetadataCreate, authzMetadataCreateCl, authzMetadataCreateTop,
	authzCommitGroup, authzCommitTopic,
	authzOffsetFetchGroup, authzOffsetFetchTopic, authzOffsetFetchAllGroup, authzOffsetFetchAllTopic,
	authzFindGroup, authzFindTxn,
	authzJoin, authzHeartbeat, authzLeave, authzSync,
	authzDescribeGroups, authzListGroupsAll, authzListGroups,
	unchecked(kmsg.SASLHandshake, "authentication"),
	unchecked(kmsg.ApiVersions, "served before authentication"),
	authzCreateCluster, authzCreateTopic, authzCreateConfigs,
	authzDeleteTopics, authzDeleteRecords,
	authzInitTxn, authzInitIdempotent, authzInitAnyTopic,
	authzAddPartitionsTxn, authzAddPartitionsTop, authzAddPartitionsBroker,
	authzAddOffsetsTxn, authzAddOffsetsGroup,
	authzEndTxn,
	authzEpochCluster, authzEpochTopic,
	authzDescribeACLs, authzCreateACLs, authzDeleteACLs,
	authzDescribeConfigsTopic, authzDescribeConfigsBroker,
	authzAlterConfigsTopic, authzAlterConfigsBroker,
	authzDescribeLogDirs,
	unchecked(kmsg.SASLAuthenticate, "authentication"),
	authzPartitions,
	authzDeleteGroups,
	authzElectLeaders,
	authzIncrAlterTopic, authzIncrAlterBroker,
	authzAlterReassign, authzListReassignments,
	authzOffsetDelete, authzOffsetDelTopic,
	authzDescribeQuotas,
	authzDescribeScram, authzAlterScram,
	authzDescribeQuorum,
	authzClusterOps,
	authzDescribeProducers,
	authzWriteTxnMarkers,
	authzDescribeTxn, authzListTxns,
	authzTopicPartitions,
	authzTxnCommitTxnID, authzTxnCommitGroup, authzTxnCommitTopic,
}

// Authorizations returns the authorization matrix, one row per check.
func Authorizations() []Authorization {
	return append([]Authorization(nil), authorizations...)
}

// authorized reports whether the connection's principal may perform op on
// the resource, as authorizer.class.name's ACLs say; without an authorizer
// everything is allowed, as in Kafka.
func (c *conn) authorized(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	a := c.b.cfg.Authorizer
	if a == nil {
		return true
	}
	return a.Authorize(c.b.coord.Metadata().ACLs, c.principal, c.ip, op, rt, name)
}

// may reports whether the connection passes one row of the matrix for the
// resource named name (the cluster's rows ignore it).
func (c *conn) may(a Authorization, name string) bool {
	if a.Resource == resCluster {
		name = clusterName
	}
	return c.authorized(a.Operation, a.Resource, name)
}

// check is may as an error: nil when allowed, else the row's refusal.
func (c *conn) check(a Authorization, name string) error {
	if c.may(a, name) {
		return nil
	}
	return a.refused()
}

// localIfAllowed finds a local partition of a topic that passed its check:
// a refused topic is not looked up, so its existence is not disclosed.
func (b *Broker) localIfAllowed(refusal error, md *coordinator.Metadata, topic string, partition int32) (*replica.Partition, error) {
	if refusal != nil {
		return nil, refusal
	}
	return b.replicas.Local(md, topic, partition)
}

// refusedTopics checks a's operation on each topic a request names, once
// per topic, and returns the refused ones; nil without an authorizer.
func refusedTopics[T any](c *conn, a Authorization, topics []T, name func(T) string) map[string]bool {
	if c.b.cfg.Authorizer == nil {
		return nil
	}
	var refused map[string]bool
	for _, t := range topics {
		if n := name(t); !c.may(a, n) {
			if refused == nil {
				refused = map[string]bool{}
			}
			refused[n] = true
		}
	}
	return refused
}

// configRefusal checks one config resource of DescribeConfigs or
// (Incremental)AlterConfigs: a topic against the topic's row, a broker or
// broker logger against the cluster's.
func (c *conn) configRefusal(typ kmsg.ConfigResourceType, name string, topic, broker Authorization) error {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		return c.check(topic, name)
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
		return c.check(broker, "")
	}
	return nil
}

// mayAny reports whether the connection may do a's operation on some
// resource of a's type (Kafka's authorizeByResourceType).
func (c *conn) mayAny(a Authorization) bool {
	az := c.b.cfg.Authorizer
	if az == nil {
		return true
	}
	return az.AuthorizeAny(c.b.coord.Metadata().ACLs, c.principal, c.ip, a.Operation, a.Resource)
}

// refused is the error a row's refusal puts on the wire.
func (a Authorization) refused() error {
	return protocol.Errorf(a.Error, "%s authorization failed", kmsg.NameForKey(int16(a.Key)))
}

// clusterName is the one cluster resource's name in ACLs.
const clusterName = "kafka-cluster"

// supportedOperations are the operations an ACL may grant on each resource
// type (Kafka's AclEntry.supportedOperations), in bit order; the
// *_authorized_operations fields are computed over them.
var supportedOperations = map[kmsg.ACLResourceType][]kmsg.ACLOperation{
	resTopic: {kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate, kmsg.ACLOperationDelete,
		kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe, kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs},
	resGroup: {kmsg.ACLOperationRead, kmsg.ACLOperationDelete, kmsg.ACLOperationDescribe,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs},
	resCluster: {kmsg.ACLOperationCreate, kmsg.ACLOperationClusterAction, kmsg.ACLOperationDescribe,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite, kmsg.ACLOperationAlter},
}

// notRequested is the value of an *_authorized_operations field the client
// did not ask for (Kafka's Integer.MIN_VALUE).
const notRequested = -2147483648

// authorizedOperations is the bit field of the operations the connection
// may do on the resource: bit n set for the operation numbered n.
func (c *conn) authorizedOperations(rt kmsg.ACLResourceType, name string) int32 {
	var bits int32
	for _, op := range supportedOperations[rt] {
		if c.authorized(op, rt, name) {
			bits |= 1 << op
		}
	}
	return bits
}
