package coordinator

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// Every operation survives the trip to the controller and back: the
// request as the controller decodes it, and the answer as the forwarder
// reads it, equal what was sent.
func TestRPCCodecRoundTrip(t *testing.T) {
	id := [16]byte{1, 2, 3}
	for _, tc := range []struct {
		req  rpcRequest
		resp rpcResponse
	}{
		{rpcRequest{Op: rpcRegister, Registration: &BrokerRegistration{ID: 3, Rack: "r1",
			Listeners: []Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}, {Name: "SSL", Host: "h", Port: 9093}}}},
			rpcResponse{Index: 42}},
		{rpcRequest{Op: rpcHeartbeat, BrokerID: 3, Applied: 77}, rpcResponse{}},
		{rpcRequest{Op: rpcShutdown, BrokerID: 3}, rpcResponse{Index: 9}},
		{rpcRequest{Op: rpcAllocateIDs, BrokerID: 2}, rpcResponse{Index: 5, First: 1000, Count: 1000}},
		{rpcRequest{Op: rpcAlterPartition, Alters: []AlterPartition{{Topic: "t", Partition: 2, Leader: 1, LeaderEpoch: 4, PartitionEpoch: 9, ISR: []int32{1, 2}}, {Topic: "t", Partition: 3, Leader: 1, ISR: []int32{1}}, {Topic: "u", Leader: 1, ISR: []int32{1, 3}}}},
			rpcResponse{Code: int16(protocol.FencedLeaderEpoch), Msg: "t-2: leader epoch 4, current is 5"}},
		// Per-partition codes travel without their messages: Kafka's
		// AlterPartition answer has no field for one.
		{rpcRequest{Op: rpcAlterPartition, Alters: []AlterPartition{{Topic: "t", Partition: 2, Leader: 1, ISR: []int32{1, 2}}, {Topic: "u", Leader: 1, ISR: []int32{1}}}},
			rpcResponse{Index: 7, Partitions: []PartitionResult{{Topic: "t", Partition: 2}, {Topic: "u", Code: int16(protocol.InvalidUpdateVersion)}}}},
		{rpcRequest{Op: rpcJoin, BrokerID: 4, Addr: "10.0.0.4:9093"}, rpcResponse{}},
		{rpcRequest{Op: rpcCreateTopics, ValidateOnly: true, Specs: []CreateTopicSpec{
			{Name: "a", NumPartitions: 3, ReplicationFactor: 2, Configs: map[string]string{"retention.ms": "1", "cleanup.policy": "compact"}},
			{Name: "b", NumPartitions: -1, ReplicationFactor: -1, Assignment: []PartitionAssignment{{Partition: 0, Replicas: []int32{1, 2}}}},
		}}, rpcResponse{Index: 8, Results: []rpcResult{{Name: "a", ID: id}, {Name: "b", Code: int16(protocol.InvalidReplicaAssignment), Msg: "no"}}}},
		{rpcRequest{Op: rpcDeleteTopics, Names: []string{"a", "b"}},
			rpcResponse{Index: 8, Results: []rpcResult{{Name: "a", ID: id}, {Name: "b", Code: 3, Msg: "unknown"}}}},
		{rpcRequest{Op: rpcCreatePartitions, Grow: []CreatePartitionsSpec{{Topic: "a", Count: 4}, {Topic: "b", Count: 2, Assignment: [][]int32{{1}, {2}}}}},
			rpcResponse{Results: []rpcResult{{Name: "a"}, {Name: "b", Code: 37, Msg: "x"}}}},
		{rpcRequest{Op: rpcAlterConfigs, Names: []string{"a"}, Configs: map[string]string{"retention.ms": "5"}}, rpcResponse{Index: 3}},
		{rpcRequest{Op: rpcAlterBrokerConfigs, Names: []string{""}}, rpcResponse{Index: 3}},
		{rpcRequest{Op: rpcBarrier}, rpcResponse{Index: 12345678901}},
		{rpcRequest{Op: rpcDescribeQuorum}, rpcResponse{Quorum: &QuorumState{LeaderID: 1, LeaderEpoch: 3, HighWatermark: 99,
			Voters:    []ReplicaProgress{{ID: 1, LogEndOffset: 99, LastFetch: 5, LastCaughtUp: 5}, {ID: 2, LogEndOffset: -1, LastFetch: -1, LastCaughtUp: -1}},
			Observers: []ReplicaProgress{{ID: 4, LogEndOffset: 98, LastFetch: 4, LastCaughtUp: 3}}}}},
		{rpcRequest{Op: rpcElectLeaders, Unclean: true, Elect: []PartitionRef{{"a", 0}, {"a", 1}, {"b", 0}, {"a", 2}}},
			rpcResponse{Index: 4, Partitions: []PartitionResult{{Topic: "a", Partition: 0}, {Topic: "a", Partition: 1, Code: 84, Msg: "not needed"}, {Topic: "b", Partition: 0}}}},
		{rpcRequest{Op: rpcElectLeaders}, rpcResponse{}}, // nil refs: every partition
		{rpcRequest{Op: rpcElectLeaders, Elect: []PartitionRef{}}, rpcResponse{}},
		{rpcRequest{Op: rpcReassign, Reassign: []Reassignment{{Topic: "a", Partition: 0, Target: []int32{2, 3}}, {Topic: "a", Partition: 1}}},
			rpcResponse{Index: 6, Partitions: []PartitionResult{{Topic: "a", Partition: 0}, {Topic: "a", Partition: 1, Code: 85, Msg: "none"}}}},
		{rpcRequest{Op: rpcCreateTopics, Specs: []CreateTopicSpec{{Name: "x"}}}, rpcResponse{Code: int16(protocol.NotController), Msg: "node 2 is not the active controller"}},
	} {
		t.Run(tc.req.Op, func(t *testing.T) {
			op := rpcOps[tc.req.Op]
			kreq := op.request(&tc.req)
			frame := appendRPCRequest(nil, 7, kreq)
			if got := int(binary.BigEndian.Uint32(frame)); got != len(frame)-4 {
				t.Fatalf("size prefix %d, frame %d", got, len(frame))
			}
			corr, got, err := decodeRPCRequest(frame[4:])
			if err != nil || corr != 7 {
				t.Fatalf("decode: corr %d, %v", corr, err)
			}
			if !reflect.DeepEqual(*got, tc.req) {
				t.Fatalf("decoded request\n%+v\nwant\n%+v", *got, tc.req)
			}
			out := appendRPCResponse(nil, corr, &tc.resp, op.respond(got, &tc.resp))
			var resp rpcResponse
			corr, body, err := parseRPCResponse(out[4:], &resp)
			if err != nil || corr != 7 {
				t.Fatalf("response header: corr %d, %v", corr, err)
			}
			if resp.Code == 0 {
				kresp := kreq.ResponseKind()
				if err := kresp.ReadFrom(body); err != nil {
					t.Fatal(err)
				}
				if err := op.result(kresp, &resp); err != nil {
					t.Fatal(err)
				}
			} else {
				// An error answer's body is read only for its shape.
				tc.resp.Results, tc.resp.Partitions, tc.resp.Quorum = nil, nil, nil
			}
			if !reflect.DeepEqual(resp, tc.resp) {
				t.Fatalf("response\n%+v\nwant\n%+v", resp, tc.resp)
			}
		})
	}
}

// Requests the controller cannot serve get an error code with their own
// correlation id; frames whose header cannot be read close the connection.
func TestRPCCodecRefusals(t *testing.T) {
	frame := func(key, version int16, body []byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(key))
		b = binary.BigEndian.AppendUint16(b, uint16(version))
		b = binary.BigEndian.AppendUint32(b, 99)
		b = append(b, 0xff, 0xff, 0) // null client id, no tags
		return append(b, body...)
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		code  protocol.ErrorCode
	}{
		{"unknown key", frame(9999, 0, nil), protocol.UnsupportedVersion},
		{"a broker api", frame(int16(kmsg.Produce), 9, nil), protocol.UnsupportedVersion},
		{"other version", frame(int16(kmsg.BrokerRegistration), 3, nil), protocol.UnsupportedVersion},
		{"truncated body", frame(int16(kmsg.CreateTopics), 7, []byte{5}), protocol.InvalidRequest},
		{"array longer than the frame", frame(int16(kmsg.CreateTopics), 7, []byte{0x7f, 0x7f, 0x7f, 0x7f}), protocol.InvalidRequest},
		{"more ISR changes than one AlterPartition may carry", appendRPCRequest(nil, 99, &kmsg.AlterPartitionRequest{Version: 1,
			Topics: []kmsg.AlterPartitionRequestTopic{{Topic: "t", Partitions: make([]kmsg.AlterPartitionRequestTopicPartition, MaxAlterPartitions/2)},
				{Topic: "u", Partitions: make([]kmsg.AlterPartitionRequestTopicPartition, MaxAlterPartitions/2+1)}}})[4:], protocol.InvalidRequest},
		{"AlterPartition topics past the frame", frame(int16(kmsg.AlterPartition), 1, append(make([]byte, 12), 0xff, 0xff, 0xff, 0x7f)), protocol.InvalidRequest},
		{"AlterPartition partitions past the frame", frame(int16(kmsg.AlterPartition), 1, append(make([]byte, 12), 2, 2, 't', 0xff, 0xff, 0xff, 0x7f)), protocol.InvalidRequest},
		{"unknown resource type", appendRPCRequest(nil, 99, &kmsg.AlterConfigsRequest{Version: 2,
			Resources: []kmsg.AlterConfigsRequestResource{{ResourceType: 8, ResourceName: "x"}}})[4:], protocol.InvalidRequest},
		{"quorum of another topic", appendRPCRequest(nil, 99, &kmsg.DescribeQuorumRequest{Version: 1,
			Topics: []kmsg.DescribeQuorumRequestTopic{{Topic: "t"}}})[4:], protocol.UnknownTopicOrPartition},
	} {
		corr, _, err := decodeRPCRequest(tc.frame)
		if corr != 99 || protocol.Code(err) != tc.code {
			t.Errorf("%s: corr %d, %v, want code %d", tc.name, corr, err, tc.code)
		}
	}
	for _, short := range [][]byte{nil, {0, 1}, {0, 62, 0, 0, 0, 0, 0, 1, 0, 9}} {
		if _, _, err := decodeRPCRequest(short); !errors.Is(err, errRPCFrame) {
			t.Errorf("%x: %v, want a frame error", short, err)
		}
	}
}
