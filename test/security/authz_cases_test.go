package security

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// authzCases are the requests alice sends, one per API and kind of request
// in broker.Authorizations.
func authzCases() []*authzCase {
	txn := authzTxnID
	// txnCoordinatorUp has admin create the transaction state topic and
	// give authzTxnID a producer, for the requests that need both.
	txnCoordinatorUp := func(t *testing.T, e *authzEnv) {
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey, fc.CoordinatorKeys, fc.CoordinatorType = txn, []string{txn}, 1
		send[*kmsg.FindCoordinatorResponse](t, e.admin, fc)
		init := kmsg.NewPtrInitProducerIDRequest()
		init.TransactionalID, init.TransactionTimeoutMillis = &txn, 10000
		send[*kmsg.InitProducerIDResponse](t, e.admin, init)
	}
	return []*authzCase{
		{key: kmsg.Produce, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return produceAs(t, e.alice, authzTopic, e.topicID(t, authzTopic), nil)
		}},
		{key: kmsg.Produce, when: "transactional", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return produceAs(t, e.alice, authzTopic, e.topicID(t, authzTopic), &txn)
		}},
		{key: kmsg.Fetch, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return fetchAs(t, e, -1)
		}},
		{key: kmsg.Fetch, when: "from a follower", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return fetchAs(t, e, 2) // no replica: the fetch is answered, and changes nothing
		}},
		{key: kmsg.ListOffsets, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrListOffsetsRequest()
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = authzTopic
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Timestamp = -1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			return send[*kmsg.ListOffsetsResponse](t, e.alice, req).Topics[0].Partitions[0].ErrorCode
		}},
		{key: kmsg.OffsetForLeaderEpoch, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrOffsetForLeaderEpochRequest()
			req.ReplicaID = -1
			rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
			rt.Topic = authzTopic
			rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
			rp.CurrentLeaderEpoch, rp.LeaderEpoch = -1, 0
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			return send[*kmsg.OffsetForLeaderEpochResponse](t, e.alice, req).Topics[0].Partitions[0].ErrorCode
		}},
		{key: kmsg.Metadata, when: "named topics", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return metadataAs(t, e, authzTopic, false)
		}},
		{key: kmsg.Metadata, when: "all topics", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			resp := send[*kmsg.MetadataResponse](t, e.alice, kmsg.NewPtrMetadataRequest())
			return listing(0, resp.Topics, func(mt kmsg.MetadataResponseTopic) bool { return mt.Topic != nil && *mt.Topic == authzTopic })
		}},
		{key: kmsg.Metadata, when: "auto-creating a topic", freshTopic: "authz-auto",
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				code := metadataAs(t, e, c.topic, true)
				if code == kerr.LeaderNotAvailable.Code {
					return 0 // created now; answered before its leader serves it
				}
				return code
			}},
		{key: kmsg.OffsetCommit, group: "authz-commit", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return commitAs(t, e.alice, c.group, authzTopic, e.topicID(t, authzTopic))
		}},
		// Past authorization the coordinator refuses the made-up producer.
		{key: kmsg.TxnOffsetCommit, group: "authz-txn-commit", granted: kerr.InvalidProducerIDMapping.Code,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrTxnOffsetCommitRequest()
				req.TransactionalID, req.Group, req.ProducerID, req.Generation = authzTxnID, c.group, 1, -1
				rt := kmsg.NewTxnOffsetCommitRequestTopic()
				rt.Topic, rt.TopicID = authzTopic, e.topicID(t, authzTopic) // by name before v6, by id after
				rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
				rp.Offset = 1
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				return send[*kmsg.TxnOffsetCommitResponse](t, e.alice, req).Topics[0].Partitions[0].ErrorCode
			}},
		{key: kmsg.OffsetFetch, when: "named topics", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			g := offsetFetchAs(t, e, authzGroup, false)
			if g.ErrorCode != 0 || len(g.Topics) == 0 {
				return g.ErrorCode
			}
			return g.Topics[0].Partitions[0].ErrorCode
		}},
		{key: kmsg.OffsetFetch, when: "all topics", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			g := offsetFetchAs(t, e, authzGroup, true)
			id := e.topicID(t, authzTopic)
			return listing(g.ErrorCode, g.Topics, func(gt kmsg.OffsetFetchResponseGroupTopic) bool { return gt.Topic == authzTopic || gt.TopicID == id })
		}},
		{key: kmsg.WriteTxnMarkers, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			// An abort marker for a producer the partition never saw: written
			// once allowed, and harmless to every other case.
			req := kmsg.NewPtrWriteTxnMarkersRequest()
			m := kmsg.NewWriteTxnMarkersRequestMarker()
			m.ProducerID, m.ProducerEpoch, m.Committed = 999999, 0, false
			m.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: authzTopic, Partitions: []int32{0}}}
			req.Markers = append(req.Markers, m)
			resp := send[*kmsg.WriteTxnMarkersResponse](t, e.alice, req)
			if len(resp.Markers) != 1 || len(resp.Markers[0].Topics) != 1 || len(resp.Markers[0].Topics[0].Partitions) != 1 {
				t.Fatalf("WriteTxnMarkers answered %+v", resp)
			}
			return resp.Markers[0].Topics[0].Partitions[0].ErrorCode
		}},
		{key: kmsg.FindCoordinator, when: "group", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return findCoordinatorAs(t, e, authzGroup, 0)
		}},
		{key: kmsg.FindCoordinator, when: "transaction", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return findCoordinatorAs(t, e, authzTxnID, 1)
		}},
		{key: kmsg.JoinGroup, group: "authz-members", granted: kerr.MemberIDRequired.Code,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrJoinGroupRequest()
				req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = c.group, 10000, 10000, "consumer"
				req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 0, 0, 0}})
				return send[*kmsg.JoinGroupResponse](t, e.alice, req).ErrorCode
			}},
		{key: kmsg.SyncGroup, group: "authz-members", granted: kerr.UnknownMemberID.Code,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrSyncGroupRequest()
				req.Group, req.MemberID, req.Generation = c.group, "nobody", 1
				return send[*kmsg.SyncGroupResponse](t, e.alice, req).ErrorCode
			}},
		{key: kmsg.Heartbeat, group: "authz-members", granted: kerr.UnknownMemberID.Code,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrHeartbeatRequest()
				req.Group, req.MemberID, req.Generation = c.group, "nobody", 1
				return send[*kmsg.HeartbeatResponse](t, e.alice, req).ErrorCode
			}},
		{key: kmsg.LeaveGroup, group: "authz-members", granted: kerr.UnknownMemberID.Code,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrLeaveGroupRequest()
				req.Group, req.MemberID = c.group, "nobody"
				req.Members = append(req.Members, kmsg.LeaveGroupRequestMember{MemberID: "nobody"})
				resp := send[*kmsg.LeaveGroupResponse](t, e.alice, req)
				codes := []int16{resp.ErrorCode}
				for _, m := range resp.Members {
					codes = append(codes, m.ErrorCode)
				}
				return first(codes...)
			}},
		{key: kmsg.DescribeGroups, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrDescribeGroupsRequest()
			req.Groups = []string{authzGroup}
			return send[*kmsg.DescribeGroupsResponse](t, e.alice, req).Groups[0].ErrorCode
		}},
		{key: kmsg.ListGroups, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			resp := send[*kmsg.ListGroupsResponse](t, e.alice, kmsg.NewPtrListGroupsRequest())
			return listing(resp.ErrorCode, resp.Groups, func(g kmsg.ListGroupsResponseGroup) bool { return g.Group == authzGroup })
		}},
		{key: kmsg.SASLHandshake, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return 0 // alice's client authenticated to get here
		}},
		{key: kmsg.ApiVersions, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrApiVersionsRequest()
			req.ClientSoftwareName, req.ClientSoftwareVersion = "authz-test", "1"
			return send[*kmsg.ApiVersionsResponse](t, e.alice, req).ErrorCode
		}},
		{key: kmsg.SASLAuthenticate, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return 0 // as SaslHandshake
		}},
		{key: kmsg.CreateTopics, topic: "authz-created", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrCreateTopicsRequest()
			req.ValidateOnly = true
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = c.topic, 1, 1
			req.Topics = append(req.Topics, rt)
			r := send[*kmsg.CreateTopicsResponse](t, e.alice, req).Topics[0]
			return first(r.ErrorCode, r.ConfigErrorCode)
		}},
		{key: kmsg.DeleteTopics, topic: "authz-doomed",
			setup: func(t *testing.T, e *authzEnv) { e.createTopic(t, "authz-doomed") },
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrDeleteTopicsRequest()
				req.TopicNames = []string{c.topic}
				req.Topics = append(req.Topics, kmsg.DeleteTopicsRequestTopic{Topic: &c.topic})
				return send[*kmsg.DeleteTopicsResponse](t, e.alice, req).Topics[0].ErrorCode
			}},
		{key: kmsg.DeleteRecords, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrDeleteRecordsRequest()
			rt := kmsg.NewDeleteRecordsRequestTopic()
			rt.Topic = authzTopic
			rt.Partitions = append(rt.Partitions, kmsg.DeleteRecordsRequestTopicPartition{Partition: 0, Offset: 0})
			req.Topics = append(req.Topics, rt)
			return send[*kmsg.DeleteRecordsResponse](t, e.alice, req).Topics[0].Partitions[0].ErrorCode
		}},
		{key: kmsg.InitProducerID, when: "transactional", setup: txnCoordinatorUp,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrInitProducerIDRequest()
				req.TransactionalID, req.TransactionTimeoutMillis = &txn, 10000
				return send[*kmsg.InitProducerIDResponse](t, e.alice, req).ErrorCode
			}},
		{key: kmsg.InitProducerID, when: "idempotent", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrInitProducerIDRequest()
			return send[*kmsg.InitProducerIDResponse](t, e.alice, req).ErrorCode
		}},
		// The transaction coordinator's APIs name a producer that is not
		// the id's: granted, they fail past authorization with
		// INVALID_PRODUCER_ID_MAPPING.
		{key: kmsg.AddPartitionsToTxn, when: "v0-v3", setup: txnCoordinatorUp, granted: kerr.InvalidProducerIDMapping.Code,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrAddPartitionsToTxnRequest()
				req.TransactionalID, req.ProducerID, req.ProducerEpoch = txn, 1<<40, 0
				req.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: authzTopic, Partitions: []int32{0}}}
				return send[*kmsg.AddPartitionsToTxnResponse](t, e.aliceV3, req).Topics[0].Partitions[0].ErrorCode
			}},
		{key: kmsg.AddPartitionsToTxn, when: "v4+, from a broker", setup: txnCoordinatorUp,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrAddPartitionsToTxnRequest()
				tr := kmsg.NewAddPartitionsToTxnRequestTransaction()
				tr.TransactionalID, tr.ProducerID, tr.VerifyOnly = txn, 1<<40, true
				tr.Topics = []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: authzTopic, Partitions: []int32{0}}}
				req.Transactions = append(req.Transactions, tr)
				return send[*kmsg.AddPartitionsToTxnResponse](t, e.alice, req).ErrorCode
			}},
		{key: kmsg.AddOffsetsToTxn, setup: txnCoordinatorUp, granted: kerr.InvalidProducerIDMapping.Code,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrAddOffsetsToTxnRequest()
				req.TransactionalID, req.ProducerID, req.Group = txn, 1<<40, authzGroup
				return send[*kmsg.AddOffsetsToTxnResponse](t, e.alice, req).ErrorCode
			}},
		{key: kmsg.EndTxn, setup: txnCoordinatorUp, granted: kerr.InvalidProducerIDMapping.Code,
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrEndTxnRequest()
				req.TransactionalID, req.ProducerID = txn, 1<<40
				return send[*kmsg.EndTxnResponse](t, e.alice, req).ErrorCode
			}},
		{key: kmsg.DescribeACLs, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrDescribeACLsRequest()
			req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
			req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			return send[*kmsg.DescribeACLsResponse](t, e.alice, req).ErrorCode
		}},
		{key: kmsg.CreateACLs, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrCreateACLsRequest()
			cr := kmsg.NewCreateACLsRequestCreation()
			cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = kmsg.ACLResourceTypeTopic, "authz-unused", kmsg.ACLResourcePatternTypeLiteral
			cr.Principal, cr.Host, cr.Operation, cr.PermissionType = "User:bob", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
			req.Creations = append(req.Creations, cr)
			return send[*kmsg.CreateACLsResponse](t, e.alice, req).Results[0].ErrorCode
		}},
		{key: kmsg.DeleteACLs, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrDeleteACLsRequest()
			f := kmsg.NewDeleteACLsRequestFilter()
			f.ResourceType, f.ResourceName, f.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("authz-unused"), kmsg.ACLResourcePatternTypeAny
			f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			req.Filters = append(req.Filters, f)
			return send[*kmsg.DeleteACLsResponse](t, e.alice, req).Results[0].ErrorCode
		}},
		{key: kmsg.DescribeConfigs, when: "topic", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return describeConfigsAs(t, e, kmsg.ConfigResourceTypeTopic, authzTopic)
		}},
		{key: kmsg.DescribeConfigs, when: "broker", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return describeConfigsAs(t, e, kmsg.ConfigResourceTypeBroker, "1")
		}},
		{key: kmsg.AlterConfigs, when: "topic", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return alterConfigsAs(t, e, kmsg.ConfigResourceTypeTopic, authzTopic)
		}},
		{key: kmsg.AlterConfigs, when: "broker", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return alterConfigsAs(t, e, kmsg.ConfigResourceTypeBroker, "1")
		}},
		{key: kmsg.IncrementalAlterConfigs, when: "topic", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return incrementalAlterAs(t, e, kmsg.ConfigResourceTypeTopic, authzTopic)
		}},
		{key: kmsg.IncrementalAlterConfigs, when: "broker", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return incrementalAlterAs(t, e, kmsg.ConfigResourceTypeBroker, "1")
		}},
		{key: kmsg.DescribeLogDirs, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return send[*kmsg.DescribeLogDirsResponse](t, e.alice, kmsg.NewPtrDescribeLogDirsRequest()).ErrorCode
		}},
		{key: kmsg.CreatePartitions, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrCreatePartitionsRequest()
			req.ValidateOnly, req.TimeoutMillis = true, 5000
			req.Topics = append(req.Topics, kmsg.CreatePartitionsRequestTopic{Topic: authzTopic, Count: 2})
			return send[*kmsg.CreatePartitionsResponse](t, e.alice, req).Topics[0].ErrorCode
		}},
		{key: kmsg.DeleteGroups, group: "authz-gone",
			setup: func(t *testing.T, e *authzEnv) { e.commit(t, "authz-gone", authzTopic) },
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrDeleteGroupsRequest()
				req.Groups = []string{c.group}
				return send[*kmsg.DeleteGroupsResponse](t, e.alice, req).Groups[0].ErrorCode
			}},
		{key: kmsg.ElectLeaders, granted: kerr.ElectionNotNeeded.Code, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrElectLeadersRequest()
			req.TimeoutMillis = 5000
			req.Topics = append(req.Topics, kmsg.ElectLeadersRequestTopic{Topic: authzTopic, Partitions: []int32{0}})
			resp := send[*kmsg.ElectLeadersResponse](t, e.alice, req)
			codes := []int16{resp.ErrorCode}
			for _, rt := range resp.Topics {
				for _, rp := range rt.Partitions {
					codes = append(codes, rp.ErrorCode)
				}
			}
			return first(codes...)
		}},
		{key: kmsg.AlterPartitionAssignments, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
			req.TimeoutMillis = 5000
			return send[*kmsg.AlterPartitionAssignmentsResponse](t, e.alice, req).ErrorCode
		}},
		{key: kmsg.ListPartitionReassignments, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrListPartitionReassignmentsRequest()
			req.TimeoutMillis = 5000
			return send[*kmsg.ListPartitionReassignmentsResponse](t, e.alice, req).ErrorCode
		}},
		{key: kmsg.OffsetDelete, group: "authz-odel",
			setup: func(t *testing.T, e *authzEnv) { e.commit(t, "authz-odel", authzTopic) },
			run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
				req := kmsg.NewPtrOffsetDeleteRequest()
				req.Group = c.group
				req.Topics = append(req.Topics, kmsg.OffsetDeleteRequestTopic{Topic: authzTopic,
					Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}})
				resp := send[*kmsg.OffsetDeleteResponse](t, e.alice, req)
				if resp.ErrorCode != 0 || len(resp.Topics) == 0 {
					return resp.ErrorCode
				}
				return resp.Topics[0].Partitions[0].ErrorCode
			}},
		{key: kmsg.DescribeUserSCRAMCredentials, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return send[*kmsg.DescribeUserSCRAMCredentialsResponse](t, e.alice, kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()).ErrorCode
		}},
		{key: kmsg.AlterUserSCRAMCredentials, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
			req.Deletions = append(req.Deletions, kmsg.AlterUserSCRAMCredentialsRequestDeletion{Name: "authz-nobody", Mechanism: 1})
			resp := send[*kmsg.AlterUserSCRAMCredentialsResponse](t, e.alice, req)
			if code := resp.Results[0].ErrorCode; code != kerr.ResourceNotFound.Code {
				return code
			}
			return 0 // past authorization: there was no credential to delete
		}},
		{key: kmsg.DescribeClientQuotas, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			return send[*kmsg.DescribeClientQuotasResponse](t, e.alice, kmsg.NewPtrDescribeClientQuotasRequest()).ErrorCode
		}},
		{key: kmsg.DescribeQuorum, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrDescribeQuorumRequest()
			req.Topics = append(req.Topics, kmsg.DescribeQuorumRequestTopic{Topic: "__cluster_metadata",
				Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}})
			return send[*kmsg.DescribeQuorumResponse](t, e.alice, req).ErrorCode
		}},
		{key: kmsg.DescribeCluster, when: "asking for authorized operations", run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrDescribeClusterRequest()
			req.IncludeClusterAuthorizedOperations = true
			resp := send[*kmsg.DescribeClusterResponse](t, e.alice, req)
			if resp.ErrorCode != 0 {
				return resp.ErrorCode
			}
			return listed(resp.ClusterAuthorizedOperations&(1<<kmsg.ACLOperationDescribe) != 0)
		}},
		{key: kmsg.DescribeProducers, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrDescribeProducersRequest()
			req.Topics = append(req.Topics, kmsg.DescribeProducersRequestTopic{Topic: authzTopic, Partitions: []int32{0}})
			return send[*kmsg.DescribeProducersResponse](t, e.alice, req).Topics[0].Partitions[0].ErrorCode
		}},
		{key: kmsg.DescribeTransactions, setup: txnCoordinatorUp, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrDescribeTransactionsRequest()
			req.TransactionalIDs = []string{txn}
			return send[*kmsg.DescribeTransactionsResponse](t, e.alice, req).TransactionStates[0].ErrorCode
		}},
		{key: kmsg.ListTransactions, setup: txnCoordinatorUp, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			resp := send[*kmsg.ListTransactionsResponse](t, e.alice, kmsg.NewPtrListTransactionsRequest())
			return listing(resp.ErrorCode, resp.TransactionStates, func(s kmsg.ListTransactionsResponseTransactionState) bool { return s.TransactionalID == txn })
		}},
		{key: kmsg.DescribeTopicPartitions, run: func(t *testing.T, e *authzEnv, c *authzCase) int16 {
			req := kmsg.NewPtrDescribeTopicPartitionsRequest()
			req.ResponsePartitionLimit = 100
			req.Topics = append(req.Topics, kmsg.DescribeTopicPartitionsRequestTopic{Topic: authzTopic})
			return send[*kmsg.DescribeTopicPartitionsResponse](t, e.alice, req).Topics[0].ErrorCode
		}},
	}
}

func fetchAs(t *testing.T, e *authzEnv, replica int32) int16 {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.ReplicaState.ID, req.MaxBytes, req.MaxWaitMillis = replica, replica, 1<<20, 0
	req.SessionEpoch = -1 // no session
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = authzTopic, e.topicID(t, authzTopic) // by name before v13, by ID after
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := send[*kmsg.FetchResponse](t, e.alice, req)
	if resp.ErrorCode != 0 {
		return resp.ErrorCode
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

func metadataAs(t *testing.T, e *authzEnv, topic string, autoCreate bool) int16 {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = autoCreate
	req.Topics = append(req.Topics, kmsg.MetadataRequestTopic{Topic: &topic})
	return send[*kmsg.MetadataResponse](t, e.alice, req).Topics[0].ErrorCode
}

func offsetFetchAs(t *testing.T, e *authzEnv, group string, all bool) kmsg.OffsetFetchResponseGroup {
	req := kmsg.NewPtrOffsetFetchRequest()
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	if !all {
		// The id from admin's metadata: alice's client would look it up
		// with alice's rights and keep what a refused Describe answered.
		rg.Topics = append(rg.Topics, kmsg.OffsetFetchRequestGroupTopic{Topic: authzTopic, TopicID: e.topicID(t, authzTopic), Partitions: []int32{0}})
	}
	req.Groups = append(req.Groups, rg)
	return send[*kmsg.OffsetFetchResponse](t, e.alice, req).Groups[0]
}

func findCoordinatorAs(t *testing.T, e *authzEnv, key string, typ int8) int16 {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey, req.CoordinatorKeys, req.CoordinatorType = key, []string{key}, typ
	resp := send[*kmsg.FindCoordinatorResponse](t, e.alice, req)
	if len(resp.Coordinators) > 0 {
		return resp.Coordinators[0].ErrorCode
	}
	return resp.ErrorCode
}

func describeConfigsAs(t *testing.T, e *authzEnv, typ kmsg.ConfigResourceType, name string) int16 {
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Resources = append(req.Resources, kmsg.DescribeConfigsRequestResource{ResourceType: typ, ResourceName: name})
	return send[*kmsg.DescribeConfigsResponse](t, e.alice, req).Resources[0].ErrorCode
}

func alterConfigsAs(t *testing.T, e *authzEnv, typ kmsg.ConfigResourceType, name string) int16 {
	req := kmsg.NewPtrAlterConfigsRequest()
	req.ValidateOnly = true
	req.Resources = append(req.Resources, kmsg.AlterConfigsRequestResource{ResourceType: typ, ResourceName: name})
	return send[*kmsg.AlterConfigsResponse](t, e.alice, req).Resources[0].ErrorCode
}

func incrementalAlterAs(t *testing.T, e *authzEnv, typ kmsg.ConfigResourceType, name string) int16 {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.ValidateOnly = true
	req.Resources = append(req.Resources, kmsg.IncrementalAlterConfigsRequestResource{ResourceType: typ, ResourceName: name})
	return send[*kmsg.IncrementalAlterConfigsResponse](t, e.alice, req).Resources[0].ErrorCode
}
