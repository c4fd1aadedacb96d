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
	resp.ApiKeys = protocol.APIKeys()
	return resp
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
