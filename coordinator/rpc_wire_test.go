package coordinator

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// crashFrames are the 27- and 22-byte frames that used to panic a node:
// the connection type, a size, and a JSON operation without its fields.
var crashFrames = [][]byte{
	append([]byte{connRPC, 0, 0, 0, 22}, `{"Op":"alter_configs"}`...),
	append([]byte{connRPC, 0, 0, 0, 17}, `{"Op":"register"}`...),
}

// dialRPC opens a controller-RPC connection to c.
func dialRPC(t *testing.T, c *Coordinator) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", c.cfg.ListenAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc, bufio.NewReader(nc)
}

// readAnswer reads one response and returns its header's error code, or
// for CreateTopics the first topic's.
func readAnswer(t *testing.T, r io.Reader) protocol.ErrorCode {
	t.Helper()
	frame, err := readRPCFrame(r)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	var resp rpcResponse
	_, body, err := parseRPCResponse(frame, &resp)
	if err != nil {
		t.Fatal(err)
	}
	created := kmsg.CreateTopicsResponse{Version: 7}
	if resp.Code == 0 && created.ReadFrom(body) == nil && len(created.Topics) > 0 {
		return protocol.ErrorCode(created.Topics[0].ErrorCode)
	}
	return protocol.ErrorCode(resp.Code)
}

// Hostile frames on a live controller get an error answer or a closed
// connection, and the node keeps serving.
func TestRPCListenerSurvivesHostileFrames(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	for _, f := range crashFrames {
		nc, r := dialRPC(t, c)
		nc.Write(f)
		if code := readAnswer(t, r); code != protocol.UnsupportedVersion {
			t.Errorf("%q: code %d, want UNSUPPORTED_VERSION", f[5:], code)
		}
	}
	nc, r := dialRPC(t, c)
	nc.Write([]byte{connRPC})
	for _, tc := range []struct {
		req  kmsg.Request
		code protocol.ErrorCode
	}{
		{&kmsg.BrokerRegistrationRequest{BrokerID: -1}, protocol.InvalidRequest},
		{&kmsg.AlterConfigsRequest{Version: 2}, protocol.InvalidRequest},
		{&kmsg.AlterPartitionRequest{Version: 1}, protocol.InvalidRequest},
		{&kmsg.CreateTopicsRequest{Version: 7, Topics: []kmsg.CreateTopicsRequestTopic{{Topic: "../../escaped", NumPartitions: 1, ReplicationFactor: 1}}}, protocol.InvalidTopicException},
		{&kmsg.CreateTopicsRequest{Version: 7, Topics: []kmsg.CreateTopicsRequestTopic{{Topic: protocol.ClusterMetadataTopic, NumPartitions: 1, ReplicationFactor: 1}}}, protocol.InvalidRequest},
	} {
		nc.Write(appendRPCRequest(nil, 1, tc.req))
		if code := readAnswer(t, r); code != tc.code {
			t.Errorf("%s: code %d, want %d", kmsg.NameForKey(tc.req.Key()), code, tc.code)
		}
	}
	if c.Metadata().Topic("../../escaped") != nil {
		t.Fatal("../../escaped was created")
	}
	// A size beyond the limit closes the connection at once.
	nc, r = dialRPC(t, c)
	nc.Write([]byte{connRPC, 0x7f, 0xff, 0xff, 0xff})
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("a 2 GiB frame got an answer")
	}
	register(t, c, 1)
	if r := createOne(t, c, CreateTopicSpec{Name: "still-serving", NumPartitions: 1, ReplicationFactor: 1}); r.Err != nil {
		t.Fatal(r.Err)
	}
}
