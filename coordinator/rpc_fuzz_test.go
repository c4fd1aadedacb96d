package coordinator

import (
	"bytes"
	"runtime"
	"sort"
	"testing"

	"github.com/gokafka/gokafka/auth"
)

// rpcSeeds are whole frames (size prefix included): the old crash frames
// and one well-formed request per operation.
func rpcSeeds() [][]byte {
	seeds := [][]byte{crashFrames[0][1:], crashFrames[1][1:], {0x7f, 0xff, 0xff, 0xff}, {0, 0, 0, 0}}
	reqs := []rpcRequest{
		{Op: rpcRegister, Registration: &BrokerRegistration{ID: 1, Listeners: []Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}}},
		{Op: rpcHeartbeat, BrokerID: 1, Applied: 3},
		{Op: rpcShutdown, BrokerID: 1},
		{Op: rpcAllocateIDs, BrokerID: 1},
		{Op: rpcAlterPartition, Alters: []AlterPartition{{Topic: "t", Leader: 1, ISR: []int32{1}}, {Topic: "u", Partition: 1, Leader: 1, ISR: []int32{1, 1}}}},
		{Op: rpcJoin, BrokerID: 4, Addr: "127.0.0.1:1"},
		{Op: rpcCreateTopics, Specs: []CreateTopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}, {Name: "../../escaped", NumPartitions: 1, ReplicationFactor: 1}}},
		{Op: rpcCreateTopics, Specs: []CreateTopicSpec{{Name: "__cluster_metadata", NumPartitions: 1, ReplicationFactor: 1}}},
		{Op: rpcDeleteTopics, Names: []string{"t", "../x"}},
		{Op: rpcCreatePartitions, Grow: []CreatePartitionsSpec{{Topic: "t", Count: 2, Assignment: [][]int32{{1}}}}},
		{Op: rpcAlterConfigs, Names: []string{"t"}, Configs: map[string]string{"retention.ms": "1"}},
		{Op: rpcAlterBrokerConfigs, Names: []string{"1"}},
		{Op: rpcBarrier},
		{Op: rpcDescribeQuorum},
		{Op: rpcElectLeaders, Elect: []PartitionRef{{"t", 0}, {"t", -1}}},
		{Op: rpcReassign, Reassign: []Reassignment{{Topic: "t", Partition: 0, Target: []int32{}}, {Topic: "t", Partition: -1}}},
		{Op: rpcCreateACLs, ACLs: []auth.ACL{{ResourceType: 2, ResourceName: "t", PatternType: 3, Principal: "User:a", Host: "*", Operation: 3, Permission: 3},
			{ResourceType: 4, ResourceName: "x", PatternType: 2, Principal: "a", Host: "*", Operation: 1, Permission: 0}}},
		{Op: rpcDeleteACLs, Filters: []auth.ACLFilter{{ResourceType: 1, PatternType: 1, Operation: 1, Permission: 1}, {ResourceType: 0}}},
		{Op: rpcAlterScram, ScramDeletes: []ScramDeletion{{Name: "a", Mechanism: 1}},
			ScramUpserts: []ScramUpsertion{{Name: "b", Mechanism: 2, Iterations: 4096, Salt: []byte("s"), SaltedPassword: make([]byte, 64)}, {Name: "", Mechanism: 7}}},
	}
	for i := range reqs {
		seeds = append(seeds, appendRPCRequest(nil, int32(i), rpcOps[reqs[i].Op].request(&reqs[i])))
	}
	return seeds
}

// opNames lists the operations in a fixed order, so that a fuzz input can
// pick one by its first byte.
func opNames() []string {
	var names []string
	for name := range rpcOps {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// FuzzRPCCodec decodes arbitrary bytes as a request frame, as a response
// frame and as each operation's response body: nothing panics, and a
// frame costs memory in proportion to the bytes that arrived.
func FuzzRPCCodec(f *testing.F) {
	for _, s := range rpcSeeds() {
		f.Add(s)
	}
	ops := opNames()
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		frame, err := readRPCFrame(bytes.NewReader(data))
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > uint64(4*len(data)+4*rpcReadChunk) {
			t.Fatalf("%d input bytes allocated %d", len(data), got)
		}
		if err != nil {
			frame = data
		}
		if _, req, err := decodeRPCRequest(frame); err == nil {
			req.check()
			resp := rpcResponse{Code: 1, Msg: "m", Index: 2}
			appendRPCResponse(nil, 0, &resp, rpcOps[req.Op].respond(req, &resp))
		}
		var resp rpcResponse
		if _, body, err := parseRPCResponse(frame, &resp); err == nil && len(data) > 0 {
			op := rpcOps[ops[int(data[0])%len(ops)]]
			kresp := op.request(&rpcRequest{Op: ops[int(data[0])%len(ops)], Registration: &BrokerRegistration{},
				Alters: []AlterPartition{{}}, Names: []string{""}}).ResponseKind()
			if kresp.ReadFrom(body) == nil {
				op.result(kresp, &resp)
			}
		}
	})
}

// FuzzRPCHandle feeds arbitrary request frames to a live single-node
// controller, which decodes them and runs what they ask: nothing panics,
// and no name that fails validation reaches the image.
func FuzzRPCHandle(f *testing.F) {
	for _, s := range rpcSeeds() {
		if len(s) > 4 {
			f.Add(s[4:])
		}
	}
	c := start(f, testConfigs(f, 1)[0])
	register(f, c, 1)
	f.Fuzz(func(t *testing.T, frame []byte) {
		c.answer(nil, frame)
		md := c.Metadata()
		for name := range md.Topics.All() {
			if err := checkNewTopicName(&Metadata{}, name); err != nil {
				t.Fatalf("topic %q is in the image: %v", name, err)
			}
		}
		if err := validateACLs(md.ACLs.All()); err != nil {
			t.Fatal(err)
		}
		if err := validateScram(scramChanges(md.Scram)); err != nil {
			t.Fatal(err)
		}
	})
}
