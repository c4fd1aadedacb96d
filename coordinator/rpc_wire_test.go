package coordinator

import (
	"bufio"
	"io"
	"net"
	"strings"
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

// Hostile security RPCs on the wire get Kafka's error codes, per item
// where Kafka answers per item, and store nothing they should not.
func TestSecurityRPCsRefuseHostileInput(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	nc, r := dialRPC(t, c)
	nc.Write([]byte{connRPC})
	ask := func(req kmsg.Request) (protocol.ErrorCode, kmsg.Response) {
		t.Helper()
		nc.Write(appendRPCRequest(nil, 1, req))
		frame, err := readRPCFrame(r)
		if err != nil {
			t.Fatalf("%s: no answer: %v", kmsg.NameForKey(req.Key()), err)
		}
		var resp rpcResponse
		_, body, err := parseRPCResponse(frame, &resp)
		if err != nil {
			t.Fatal(err)
		}
		kresp := req.ResponseKind()
		if resp.Code == 0 {
			if err := kresp.ReadFrom(body); err != nil {
				t.Fatal(err)
			}
		}
		return protocol.ErrorCode(resp.Code), kresp
	}
	long := strings.Repeat("n", maxACLFieldLen+1)
	create := &kmsg.CreateACLsRequest{Version: 3, Creations: []kmsg.CreateACLsRequestCreation{
		{ResourceType: 99, ResourceName: "t", ResourcePatternType: 3, Principal: "User:a", Host: "*", Operation: 3, PermissionType: 3},
		{ResourceType: 2, ResourceName: "t", ResourcePatternType: 2, Principal: "User:a", Host: "*", Operation: 3, PermissionType: 3},
		{ResourceType: 2, ResourceName: "t", ResourcePatternType: 3, Principal: "User:a", Host: "*", Operation: -7, PermissionType: 3},
		{ResourceType: 2, ResourceName: long, ResourcePatternType: 3, Principal: "User:a", Host: "*", Operation: 3, PermissionType: 3},
		{ResourceType: 2, ResourceName: "t", ResourcePatternType: 3, Principal: "User:a", Host: long, Operation: 3, PermissionType: 3},
	}}
	code, resp := ask(create)
	if code != 0 {
		t.Fatalf("CreateAcls: whole-operation error %d", code)
	}
	for i, res := range resp.(*kmsg.CreateACLsResponse).Results {
		if protocol.ErrorCode(res.ErrorCode) != protocol.InvalidRequest {
			t.Errorf("CreateAcls creation %d: code %d, want INVALID_REQUEST", i, res.ErrorCode)
		}
	}
	tooMany := &kmsg.CreateACLsRequest{Version: 3, Creations: make([]kmsg.CreateACLsRequestCreation, maxACLsPerOp+1)}
	if code, _ := ask(tooMany); code != protocol.InvalidRequest {
		t.Errorf("%d creations: code %d", maxACLsPerOp+1, code)
	}
	for _, f := range []kmsg.DeleteACLsRequestFilter{{ResourceType: 1, ResourcePatternType: 1, Operation: 1, PermissionType: 0},
		{ResourceType: 1, ResourcePatternType: 77, Operation: 1, PermissionType: 1}} {
		if code, _ := ask(&kmsg.DeleteACLsRequest{Version: 3, Filters: []kmsg.DeleteACLsRequestFilter{f}}); code != protocol.InvalidRequest {
			t.Errorf("DeleteAcls %+v: code %d", f, code)
		}
	}
	scram := &kmsg.AlterUserSCRAMCredentialsRequest{Version: 0, Upsertions: []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{
		{Name: "a", Mechanism: 9, Iterations: 4096, Salt: []byte("s"), SaltedPassword: make([]byte, 32)},
		{Name: "b", Mechanism: 1, Iterations: 4096, Salt: make([]byte, maxScramSalt+1), SaltedPassword: make([]byte, 32)},
		{Name: "c", Mechanism: 1, Iterations: -1, Salt: []byte("s"), SaltedPassword: make([]byte, 32)},
		{Name: strings.Repeat("u", maxScramUserLen+1), Mechanism: 1, Iterations: 4096, Salt: []byte("s"), SaltedPassword: make([]byte, 32)},
	}}
	code, resp = ask(scram)
	want := []protocol.ErrorCode{protocol.UnsupportedSaslMechanism, protocol.UnacceptableCredential, protocol.UnacceptableCredential, protocol.UnacceptableCredential}
	results := resp.(*kmsg.AlterUserSCRAMCredentialsResponse).Results
	if code != 0 || len(results) != len(want) {
		t.Fatalf("AlterUserScramCredentials: code %d, %d results", code, len(results))
	}
	for i, res := range results {
		if protocol.ErrorCode(res.ErrorCode) != want[i] {
			t.Errorf("upsertion %d: code %d, want %d", i, res.ErrorCode, want[i])
		}
	}
	if md := c.Metadata(); md.ACLs.Len() != 0 || len(md.Scram) != 0 {
		t.Fatalf("hostile requests stored %d ACLs and %d users", md.ACLs.Len(), len(md.Scram))
	}
}
