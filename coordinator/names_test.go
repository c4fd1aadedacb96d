package coordinator

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/gokafka/gokafka/protocol"
)

// Names are checked where they enter the controller: each refused name
// gets Kafka's code and leaves no topic behind.
func TestCreateTopicsRefusesUnsafeNames(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	register(t, c, 1)
	if r := createOne(t, c, CreateTopicSpec{Name: "a.b", NumPartitions: 1, ReplicationFactor: 1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	for _, tc := range []struct {
		name string
		code protocol.ErrorCode
	}{
		{"../../escaped", protocol.InvalidTopicException},
		{"..", protocol.InvalidTopicException},
		{"", protocol.InvalidTopicException},
		{"a/b", protocol.InvalidTopicException},
		{protocol.ClusterMetadataTopic, protocol.InvalidRequest},
		{"a_b", protocol.InvalidTopicException}, // collides with a.b
	} {
		r := createOne(t, c, CreateTopicSpec{Name: tc.name, NumPartitions: 1, ReplicationFactor: 1})
		if got := protocol.Code(r.Err); got != tc.code {
			t.Errorf("create %q: code %d (%v), want %d", tc.name, got, r.Err, tc.code)
		}
		if c.Metadata().Topic(tc.name) != nil {
			t.Errorf("create %q left a topic", tc.name)
		}
	}
	// Two colliding names in one request: the first wins, the second is refused.
	res := c.CreateTopics(context.Background(), []CreateTopicSpec{
		{Name: "x_y", NumPartitions: 1, ReplicationFactor: 1}, {Name: "x.y", NumPartitions: 1, ReplicationFactor: 1},
	}, false)
	if res[0].Err != nil || protocol.Code(res[1].Err) != protocol.InvalidTopicException || c.Metadata().Topic("x.y") != nil {
		t.Fatalf("colliding names in one request: %+v", res)
	}
	if r := createOne(t, c, CreateTopicSpec{Name: protocol.ConsumerOffsetsTopic, NumPartitions: 1, ReplicationFactor: 1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	for _, name := range []string{"../../escaped", protocol.ConsumerOffsetsTopic} {
		if r := c.DeleteTopics(context.Background(), []string{name})[0]; protocol.Code(r.Err) != protocol.InvalidTopicException {
			t.Fatalf("delete %s: %v", name, r.Err)
		}
	}
	if c.Metadata().Topic(protocol.ConsumerOffsetsTopic) == nil {
		t.Fatal("the internal topic was deleted")
	}
}

// The state machine trusts nothing: a command that fails validation is
// skipped, records its index and never panics, whoever proposed it.
func TestApplySkipsInvalidCommands(t *testing.T) {
	f := newFSM(quietLogger())
	good := &Topic{Name: "a.b", ID: [16]byte{1}, Partitions: []Partition{{Replicas: []int32{1}}}}
	apply := func(index uint64, cmd any) applyResult {
		data, _ := json.Marshal(cmd)
		if s, ok := cmd.(string); ok {
			data = []byte(s)
		}
		return f.Apply(&raft.Log{Index: index, Data: data}).(applyResult)
	}
	if res := apply(1, command{Op: opCreateTopics, Topics: []*Topic{good}}); res.Err != nil {
		t.Fatal(res.Err)
	}
	before := f.image.Load()
	for i, cmd := range []any{
		`{"op":"register_broker"}`,
		`{"op":"alter_partition"}`,
		`{"op":"alter_configs"}`,
		`{"op":"alter_broker_configs"}`,
		`{"op":"create_topics","topics":[null]}`,
		`{"op":"no_such_op"}`,
		`not json`,
		command{Op: opCreateTopics, Topics: []*Topic{{Name: "../../escaped", ID: [16]byte{2}, Partitions: []Partition{{Replicas: []int32{1}}}}}},
		command{Op: opCreateTopics, Topics: []*Topic{{Name: "nopartreplicas", ID: [16]byte{3}, Partitions: []Partition{{}}}}},
		command{Op: opDeleteTopics, Names: []string{"../x"}},
		command{Op: opReassign, Reassign: []Reassignment{{Topic: "a.b", Partition: -1, Target: []int32{1}}}},
		`{"op":"reassign_partitions","reassign":[{"Topic":"a.b","Partition":0,"Target":[]}]}`,
		// Partition changes (changes.go): only in version 1 of a command that elects, and well formed.
		`{"op":"create_topics","v":1,"topics":[{"Name":"v1","ID":[9,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"Partitions":[{"Replicas":[1],"ISR":[],"Leader":1}]}]}`,
		`{"op":"create_topics","v":1,"topics":[{"Name":"v1","ID":[9,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"Partitions":[{"Replicas":[1],"ISR":[1,7],"Leader":1}]}]}`,
		`{"op":"fence_broker","broker_id":1,"v":2}`,
		`{"op":"fence_broker","broker_id":1,"changes":[{"t":"a.b","p":0,"l":1,"pe":1,"isr":[1]}]}`,
		`{"op":"fence_broker","broker_id":1,"v":1,"changes":[{"t":"a.b","p":-1,"l":1,"pe":1,"isr":[1]}]}`,
		`{"op":"fence_broker","broker_id":1,"v":1,"changes":[{"t":"a.b","p":0,"e":3,"l":1,"pe":3,"isr":[1]}]}`,
		`{"op":"allocate_producer_ids","count":1,"v":1}`,
		// Assignments: only where a reassignment moves replicas, and shaped as reassign leaves them.
		`{"op":"fence_broker","broker_id":1,"v":1,"changes":[{"t":"a.b","p":0,"l":1,"pe":1,"isr":[1],"a":{"r":[1]}}]}`,
		`{"op":"reassign_partitions","v":1,"changes":[{"t":"a.b","p":0,"l":1,"pe":1,"isr":[1],"a":{"r":[1,1]}}]}`,
		`{"op":"reassign_partitions","v":1,"changes":[{"t":"a.b","p":0,"l":1,"pe":1,"isr":[1],"a":{"r":[1],"rm":[1]}}]}`,
		`{"op":"alter_partition","v":1,"changes":[{"t":"a.b","p":0,"l":1,"pe":1,"isr":[1],"a":{"r":[2,1],"add":[1],"rm":[1]}}]}`,
		`{"op":"alter_partition","v":1,"changes":[{"t":"a.b","p":0,"l":1,"pe":1,"isr":[1],"a":{"r":[-1,1]}}]}`,
	} {
		index := uint64(i + 2)
		if res := apply(index, cmd); res.Err == nil {
			t.Errorf("%v: applied, want skipped", cmd)
		}
		m := f.image.Load()
		if m.AppliedIndex != index || m.Topics.Len() != before.Topics.Len() || m.Topic("a.b") != before.Topic("a.b") {
			t.Fatalf("%v: image changed: applied %d, topics %d", cmd, m.AppliedIndex, m.Topics.Len())
		}
	}
	// Colliding and reserved names are refused by the state machine too.
	for i, name := range []string{"a_b", protocol.ClusterMetadataTopic} {
		apply(uint64(100+i), command{Op: opCreateTopics, Topics: []*Topic{{Name: name, ID: [16]byte{byte(10 + i)}, Partitions: []Partition{{Replicas: []int32{1}}}}}})
		if f.image.Load().Topic(name) != nil {
			t.Errorf("state machine created %q", name)
		}
	}
}

// Malformed operations get an error answer, never a panic (these are the
// shapes of the 27-byte frames that used to crash a node).
func TestHandleRefusesMissingFields(t *testing.T) {
	c := start(t, testConfigs(t, 1)[0])
	for _, req := range []rpcRequest{
		{Op: rpcRegister},
		{Op: rpcAlterPartition},
		{Op: rpcAlterConfigs},
		{Op: rpcAlterBrokerConfigs},
		{Op: rpcJoin, BrokerID: 5, Addr: "no-port"},
		{Op: rpcRegister, Registration: &BrokerRegistration{ID: -1}},
		{Op: rpcRegister, Registration: &BrokerRegistration{ID: 1, Listeners: []Endpoint{{Name: "P", Port: 70000}}}},
		{Op: "no_such_op"},
	} {
		if resp := c.handle(&req); resp.Code != int16(protocol.InvalidRequest) {
			t.Errorf("%+v: code %d %q, want INVALID_REQUEST", req, resp.Code, resp.Msg)
		}
	}
}
