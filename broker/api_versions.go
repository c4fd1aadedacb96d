package broker

import (
	"regexp"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// clientSoftware is KIP-511's pattern for ClientSoftwareName and -Version.
var clientSoftware = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func handleAPIVersions(b *Broker, c *conn, req *kmsg.ApiVersionsRequest) *kmsg.ApiVersionsResponse {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if req.Version >= 3 && (!clientSoftware.MatchString(req.ClientSoftwareName) || !clientSoftware.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = int16(protocol.InvalidRequest)
		return resp
	}
	if req.Version >= 5 {
		if resp.ErrorCode = int16(intendedNodeMismatch(req.ClusterID, req.NodeID, b.coord.Metadata().ClusterID, b.cfg.NodeID)); resp.ErrorCode != 0 {
			return resp
		}
	}
	resp.ApiKeys = protocol.APIKeys()
	if req.Version >= 3 {
		addFeatures(resp, int64(b.coord.Metadata().AppliedIndex))
	}
	return resp
}

// intendedNodeMismatch checks ApiVersions v5's ClusterId and NodeId
// (KIP-1242), which a client that knows the cluster sends to the node it
// means to reach: either one not ours answers REBOOTSTRAP_REQUIRED (the
// address now leads elsewhere), one without the other INVALID_REQUEST,
// neither (bootstrapping) nothing. ourCluster is "" until this node has
// read the metadata: then only the node id can be told wrong.
func intendedNodeMismatch(clusterID *string, nodeID int32, ourCluster string, ourNode int32) protocol.ErrorCode {
	switch {
	case clusterID == nil && nodeID == -1:
		return protocol.None
	case clusterID == nil || nodeID == -1:
		return protocol.InvalidRequest
	case nodeID != ourNode, ourCluster != "" && *clusterID != ourCluster:
		return protocol.RebootstrapRequired
	}
	return protocol.None
}

// transactionVersion is the transaction.version feature: 2 is KIP-890
// part 2 (Produce v12+ and TxnOffsetCommit v5+ add their partition to the
// transaction, EndTxn v5+ bumps the epoch), the level Kafka 4 finalizes
// on a new cluster. Clients opt in only when it is finalized at 2.
const transactionVersion = 2

// addFeatures advertises the features whose finalized level changes what
// clients send: transaction.version only, supported 0-2 and finalized at
// 2 as on a new Kafka 4 cluster. epoch is the metadata's applied index,
// as Kafka's is its metadata offset: clients keep the features of the
// highest epoch they have seen, so it must only grow.
func addFeatures(resp *kmsg.ApiVersionsResponse, epoch int64) {
	sf := kmsg.NewApiVersionsResponseSupportedFeature()
	sf.Name, sf.MinVersion, sf.MaxVersion = "transaction.version", 0, transactionVersion
	resp.SupportedFeatures = append(resp.SupportedFeatures, sf)
	ff := kmsg.NewApiVersionsResponseFinalizedFeature()
	ff.Name, ff.MinVersionLevel, ff.MaxVersionLevel = "transaction.version", transactionVersion, transactionVersion
	resp.FinalizedFeatures = append(resp.FinalizedFeatures, ff)
	resp.FinalizedFeaturesEpoch = epoch
}

// apiVersionsFallback answers an ApiVersions request whose version we do
// not serve: UNSUPPORTED_VERSION with our ranges, in v0 so that any client
// can read it and retry with a version we list.
func apiVersionsFallback() *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.ErrorCode = int16(protocol.UnsupportedVersion)
	resp.ApiKeys = protocol.APIKeys()
	return resp
}
