package coordinator

import (
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// Each controller operation travels as one of Kafka's own messages (the
// table in doc.go). rpcOps says, per operation, how the forwarding node
// writes it and reads the answer, and how the controller answers it;
// rpcKeys says, per API key, which version the controller reads and which
// operation it carries.

// rpcOp is how one operation travels.
type rpcOp struct {
	request func(*rpcRequest) kmsg.Request                // forwarder: the request
	respond func(*rpcRequest, *rpcResponse) kmsg.Response // controller: the answer's body
	result  func(kmsg.Response, *rpcResponse) error       // forwarder: what the body adds
}

// rpcKey is how the controller reads one API key.
type rpcKey struct {
	version int16
	decode  func(kmsg.Request) (*rpcRequest, error)
}

var rpcOps map[string]rpcOp

var rpcKeys = map[int16]rpcKey{
	int16(kmsg.BrokerRegistration):        {0, decodeRegister},
	int16(kmsg.BrokerHeartbeat):           {0, decodeHeartbeat},
	int16(kmsg.AllocateProducerIDs):       {0, decodeAllocate},
	int16(kmsg.AlterPartition):            {1, decodeAlterPartition},
	int16(kmsg.ControllerRegistration):    {0, decodeJoin},
	int16(kmsg.CreateTopics):              {7, decodeCreateTopics},
	int16(kmsg.DeleteTopics):              {6, decodeDeleteTopics},
	int16(kmsg.CreatePartitions):          {3, decodeCreatePartitions},
	int16(kmsg.AlterConfigs):              {2, decodeAlterConfigs},
	int16(kmsg.ElectLeaders):              {2, decodeElectLeaders},
	int16(kmsg.DescribeQuorum):            {1, decodeDescribeQuorum},
	int16(kmsg.AlterPartitionAssignments): {0, decodeReassign},
	int16(kmsg.CreateACLs):                {3, decodeCreateACLs},
	int16(kmsg.DeleteACLs):                {3, decodeDeleteACLs},
	int16(kmsg.AlterUserSCRAMCredentials): {0, decodeAlterScram},
}

func init() {
	rpcOps = map[string]rpcOp{
		rpcRegister:           {encodeRegister, respondRegister, noResult},
		rpcHeartbeat:          {encodeHeartbeat, respondHeartbeat, noResult},
		rpcShutdown:           {encodeHeartbeat, respondHeartbeat, noResult},
		rpcAllocateIDs:        {encodeAllocate, respondAllocate, resultAllocate},
		rpcAlterPartition:     {encodeAlterPartition, respondAlterPartition, resultPartitions},
		rpcJoin:               {encodeJoin, respondJoin, noResult},
		rpcCreateTopics:       {encodeCreateTopics, respondCreateTopics, resultCreateTopics},
		rpcDeleteTopics:       {encodeDeleteTopics, respondDeleteTopics, resultDeleteTopics},
		rpcCreatePartitions:   {encodeCreatePartitions, respondCreatePartitions, resultCreatePartitions},
		rpcAlterConfigs:       {encodeAlterConfigs, respondAlterConfigs, noResult},
		rpcAlterBrokerConfigs: {encodeAlterConfigs, respondAlterConfigs, noResult},
		rpcBarrier:            {encodeDescribeQuorum, respondDescribeQuorum, noResult},
		rpcDescribeQuorum:     {encodeDescribeQuorum, respondDescribeQuorum, resultDescribeQuorum},
		rpcElectLeaders:       {encodeElectLeaders, respondElectLeaders, resultPartitions},
		rpcReassign:           {encodeReassign, respondReassign, resultPartitions},
		rpcCreateACLs:         {encodeCreateACLs, respondCreateACLs, resultCreateACLs},
		rpcDeleteACLs:         {encodeDeleteACLs, respondDeleteACLs, resultDeleteACLs},
		rpcAlterScram:         {encodeAlterScram, respondAlterScram, resultAlterScram},
	}
}

func noResult(kmsg.Response, *rpcResponse) error { return nil }

func invalid(format string, args ...any) error {
	return protocol.Errorf(protocol.InvalidRequest, format, args...)
}

func msgPtr(r *rpcResponse) *string {
	if r.Code == 0 {
		return nil
	}
	return &r.Msg
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// BrokerRegistration v0 registers a broker; the answer's broker epoch is
// the registration's Raft index, as in KRaft.

func encodeRegister(req *rpcRequest) kmsg.Request {
	r := req.Registration
	k := &kmsg.BrokerRegistrationRequest{Version: 0, BrokerID: r.ID}
	if r.Rack != "" {
		k.Rack = &r.Rack
	}
	for _, l := range r.Listeners {
		k.Listeners = append(k.Listeners, kmsg.BrokerRegistrationRequestListener{Name: l.Name, Host: l.Host, Port: uint16(l.Port)})
	}
	return k
}

func decodeRegister(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.BrokerRegistrationRequest)
	reg := &BrokerRegistration{ID: r.BrokerID, Rack: deref(r.Rack)}
	for _, l := range r.Listeners {
		reg.Listeners = append(reg.Listeners, Endpoint{Name: l.Name, Host: l.Host, Port: int32(l.Port)})
	}
	return &rpcRequest{Op: rpcRegister, Registration: reg}, nil
}

func respondRegister(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	return &kmsg.BrokerRegistrationResponse{Version: 0, ErrorCode: r.Code, BrokerEpoch: int64(r.Index)}
}

// BrokerHeartbeat v0 keeps a session alive and reports the applied index;
// with WantShutdown it is a controlled shutdown, as in KRaft.

func encodeHeartbeat(req *rpcRequest) kmsg.Request {
	return &kmsg.BrokerHeartbeatRequest{Version: 0, BrokerID: req.BrokerID,
		CurrentMetadataOffset: int64(req.Applied), WantShutdown: req.Op == rpcShutdown}
}

func decodeHeartbeat(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.BrokerHeartbeatRequest)
	if r.WantShutdown {
		return &rpcRequest{Op: rpcShutdown, BrokerID: r.BrokerID}, nil
	}
	if r.CurrentMetadataOffset < 0 {
		return nil, invalid("heartbeat of broker %d: metadata offset %d", r.BrokerID, r.CurrentMetadataOffset)
	}
	return &rpcRequest{Op: rpcHeartbeat, BrokerID: r.BrokerID, Applied: uint64(r.CurrentMetadataOffset)}, nil
}

func respondHeartbeat(req *rpcRequest, r *rpcResponse) kmsg.Response {
	return &kmsg.BrokerHeartbeatResponse{Version: 0, ErrorCode: r.Code, ShouldShutdown: req.Op == rpcShutdown && r.Code == 0}
}

// AllocateProducerIDs v0 hands out a block.

func encodeAllocate(req *rpcRequest) kmsg.Request {
	return &kmsg.AllocateProducerIDsRequest{Version: 0, BrokerID: req.BrokerID}
}

func decodeAllocate(k kmsg.Request) (*rpcRequest, error) {
	return &rpcRequest{Op: rpcAllocateIDs, BrokerID: k.(*kmsg.AllocateProducerIDsRequest).BrokerID}, nil
}

func respondAllocate(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	return &kmsg.AllocateProducerIDsResponse{Version: 0, ErrorCode: r.Code, ProducerIDStart: r.First, ProducerIDLen: r.Count}
}

func resultAllocate(k kmsg.Response, r *rpcResponse) error {
	a := k.(*kmsg.AllocateProducerIDsResponse)
	r.First, r.Count = a.ProducerIDStart, a.ProducerIDLen
	return nil
}

// AlterPartition v1 (topic names) changes the ISRs of partitions the
// sending broker leads, grouped by topic as Kafka groups them; the answer
// gives each partition's error code, in request order.

// MaxAlterPartitions bounds the ISR changes of one AlterPartition request.
const MaxAlterPartitions = maxPartitionsPerOp

func encodeAlterPartition(req *rpcRequest) kmsg.Request {
	k := &kmsg.AlterPartitionRequest{Version: 1}
	if len(req.Alters) > 0 {
		k.BrokerID = req.Alters[0].Leader
	}
	for _, run := range byTopic(req.Alters, func(a AlterPartition) string { return a.Topic }) {
		t := kmsg.AlterPartitionRequestTopic{Topic: run[0].Topic}
		for _, a := range run {
			t.Partitions = append(t.Partitions, kmsg.AlterPartitionRequestTopicPartition{
				Partition: a.Partition, LeaderEpoch: a.LeaderEpoch, NewISR: a.ISR, PartitionEpoch: a.PartitionEpoch})
		}
		k.Topics = append(k.Topics, t)
	}
	return k
}

func decodeAlterPartition(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.AlterPartitionRequest)
	req := &rpcRequest{Op: rpcAlterPartition}
	for _, t := range r.Topics {
		if len(req.Alters)+len(t.Partitions) > MaxAlterPartitions {
			return nil, invalid("AlterPartition: more than %d partitions", MaxAlterPartitions)
		}
		for _, p := range t.Partitions {
			req.Alters = append(req.Alters, AlterPartition{Topic: t.Topic, Partition: p.Partition, Leader: r.BrokerID,
				LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: p.NewISR})
		}
	}
	return req, nil
}

func respondAlterPartition(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.AlterPartitionResponse{Version: 1, ErrorCode: r.Code}
	for _, run := range byTopic(r.Partitions, func(p PartitionResult) string { return p.Topic }) {
		t := kmsg.AlterPartitionResponseTopic{Topic: run[0].Topic}
		for _, p := range run {
			t.Partitions = append(t.Partitions, kmsg.AlterPartitionResponseTopicPartition{Partition: p.Partition, ErrorCode: p.Code})
		}
		k.Topics = append(k.Topics, t)
	}
	return k
}

// ControllerRegistration v0 adds a broker-only node to Raft as a
// non-voter: its one listener is its controller address.

func encodeJoin(req *rpcRequest) kmsg.Request {
	host, port, _ := net.SplitHostPort(req.Addr)
	p, _ := strconv.ParseUint(port, 10, 16)
	return &kmsg.ControllerRegistrationRequest{Version: 0, ControllerID: req.BrokerID,
		Listeners: []kmsg.ControllerRegistrationRequestListener{{Name: "CONTROLLER", Host: host, Port: uint16(p)}}}
}

func decodeJoin(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.ControllerRegistrationRequest)
	if len(r.Listeners) != 1 {
		return nil, invalid("ControllerRegistration of node %d: one listener, got %d", r.ControllerID, len(r.Listeners))
	}
	l := r.Listeners[0]
	return &rpcRequest{Op: rpcJoin, BrokerID: r.ControllerID, Addr: net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))}, nil
}

func respondJoin(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	return &kmsg.ControllerRegistrationResponse{Version: 0, ErrorCode: r.Code, ErrorMessage: msgPtr(r)}
}

// CreateTopics v7, DeleteTopics v6 and CreatePartitions v3 answer per
// topic, in request order.

func encodeCreateTopics(req *rpcRequest) kmsg.Request {
	k := &kmsg.CreateTopicsRequest{Version: 7, ValidateOnly: req.ValidateOnly}
	for _, s := range req.Specs {
		t := kmsg.CreateTopicsRequestTopic{Topic: s.Name, NumPartitions: s.NumPartitions, ReplicationFactor: s.ReplicationFactor}
		for _, a := range s.Assignment {
			t.ReplicaAssignment = append(t.ReplicaAssignment, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: a.Partition, Replicas: a.Replicas})
		}
		for name, v := range s.Configs {
			t.Configs = append(t.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: name, Value: &v})
		}
		k.Topics = append(k.Topics, t)
	}
	return k
}

func decodeCreateTopics(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.CreateTopicsRequest)
	req := &rpcRequest{Op: rpcCreateTopics, ValidateOnly: r.ValidateOnly}
	for _, t := range r.Topics {
		s := CreateTopicSpec{Name: t.Topic, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
		for _, a := range t.ReplicaAssignment {
			s.Assignment = append(s.Assignment, PartitionAssignment{Partition: a.Partition, Replicas: a.Replicas})
		}
		s.Configs = configMap(len(t.Configs), func(i int) (string, *string) { return t.Configs[i].Name, t.Configs[i].Value })
		req.Specs = append(req.Specs, s)
	}
	return req, nil
}

// configMap collects n name/value pairs; a null value (Kafka's "use the
// default") sets nothing.
func configMap(n int, pair func(int) (string, *string)) map[string]string {
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for i := range n {
		if name, v := pair(i); v != nil {
			m[name] = *v
		}
	}
	return m
}

func respondCreateTopics(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.CreateTopicsResponse{Version: 7}
	for _, res := range r.Results {
		k.Topics = append(k.Topics, kmsg.CreateTopicsResponseTopic{Topic: res.Name, TopicID: res.ID, ErrorCode: res.Code, ErrorMessage: res.msg()})
	}
	return k
}

func resultCreateTopics(k kmsg.Response, r *rpcResponse) error {
	for _, t := range k.(*kmsg.CreateTopicsResponse).Topics {
		r.Results = append(r.Results, rpcResult{Name: t.Topic, ID: t.TopicID, Code: t.ErrorCode, Msg: deref(t.ErrorMessage)})
	}
	return nil
}

func (r *rpcResult) msg() *string {
	if r.Code == 0 {
		return nil
	}
	return &r.Msg
}

func encodeDeleteTopics(req *rpcRequest) kmsg.Request {
	k := &kmsg.DeleteTopicsRequest{Version: 6}
	for _, name := range req.Names {
		k.Topics = append(k.Topics, kmsg.DeleteTopicsRequestTopic{Topic: &name})
	}
	return k
}

// decodeDeleteTopics takes topics by name only; a topic given by id alone
// has the empty name, which no topic has.
func decodeDeleteTopics(k kmsg.Request) (*rpcRequest, error) {
	req := &rpcRequest{Op: rpcDeleteTopics}
	for _, t := range k.(*kmsg.DeleteTopicsRequest).Topics {
		req.Names = append(req.Names, deref(t.Topic))
	}
	return req, nil
}

func respondDeleteTopics(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.DeleteTopicsResponse{Version: 6}
	for i := range r.Results {
		res := &r.Results[i]
		k.Topics = append(k.Topics, kmsg.DeleteTopicsResponseTopic{Topic: &res.Name, TopicID: res.ID, ErrorCode: res.Code, ErrorMessage: res.msg()})
	}
	return k
}

func resultDeleteTopics(k kmsg.Response, r *rpcResponse) error {
	for _, t := range k.(*kmsg.DeleteTopicsResponse).Topics {
		r.Results = append(r.Results, rpcResult{Name: deref(t.Topic), ID: t.TopicID, Code: t.ErrorCode, Msg: deref(t.ErrorMessage)})
	}
	return nil
}

func encodeCreatePartitions(req *rpcRequest) kmsg.Request {
	k := &kmsg.CreatePartitionsRequest{Version: 3, ValidateOnly: req.ValidateOnly}
	for _, s := range req.Grow {
		t := kmsg.CreatePartitionsRequestTopic{Topic: s.Topic, Count: s.Count}
		if s.Assignment != nil {
			t.Assignment = []kmsg.CreatePartitionsRequestTopicAssignment{}
		}
		for _, a := range s.Assignment {
			t.Assignment = append(t.Assignment, kmsg.CreatePartitionsRequestTopicAssignment{Replicas: a})
		}
		k.Topics = append(k.Topics, t)
	}
	return k
}

func decodeCreatePartitions(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.CreatePartitionsRequest)
	req := &rpcRequest{Op: rpcCreatePartitions, ValidateOnly: r.ValidateOnly}
	for _, t := range r.Topics {
		s := CreatePartitionsSpec{Topic: t.Topic, Count: t.Count}
		if t.Assignment != nil {
			s.Assignment = make([][]int32, 0, len(t.Assignment))
		}
		for _, a := range t.Assignment {
			s.Assignment = append(s.Assignment, a.Replicas)
		}
		req.Grow = append(req.Grow, s)
	}
	return req, nil
}

func respondCreatePartitions(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.CreatePartitionsResponse{Version: 3}
	for _, res := range r.Results {
		k.Topics = append(k.Topics, kmsg.CreatePartitionsResponseTopic{Topic: res.Name, ErrorCode: res.Code, ErrorMessage: res.msg()})
	}
	return k
}

func resultCreatePartitions(k kmsg.Response, r *rpcResponse) error {
	for _, t := range k.(*kmsg.CreatePartitionsResponse).Topics {
		r.Results = append(r.Results, rpcResult{Name: t.Topic, Code: t.ErrorCode, Msg: deref(t.ErrorMessage)})
	}
	return nil
}

// AlterConfigs v2, not IncrementalAlterConfigs: the operation replaces a
// resource's whole set of overrides, which is AlterConfigs' meaning. The
// resource type tells a topic from a broker ("" is the cluster default).

func encodeAlterConfigs(req *rpcRequest) kmsg.Request {
	typ := kmsg.ConfigResourceTypeTopic
	if req.Op == rpcAlterBrokerConfigs {
		typ = kmsg.ConfigResourceTypeBroker
	}
	res := kmsg.AlterConfigsRequestResource{ResourceType: typ, ResourceName: req.Names[0]}
	for name, v := range req.Configs {
		res.Configs = append(res.Configs, kmsg.AlterConfigsRequestResourceConfig{Name: name, Value: &v})
	}
	return &kmsg.AlterConfigsRequest{Version: 2, Resources: []kmsg.AlterConfigsRequestResource{res}}
}

func decodeAlterConfigs(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.AlterConfigsRequest)
	if len(r.Resources) != 1 {
		return nil, invalid("AlterConfigs: one resource per request, got %d", len(r.Resources))
	}
	res := r.Resources[0]
	req := &rpcRequest{Names: []string{res.ResourceName},
		Configs: configMap(len(res.Configs), func(i int) (string, *string) { return res.Configs[i].Name, res.Configs[i].Value })}
	switch res.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		req.Op = rpcAlterConfigs
	case kmsg.ConfigResourceTypeBroker:
		req.Op = rpcAlterBrokerConfigs
	default:
		return nil, invalid("AlterConfigs: resource type %d", res.ResourceType)
	}
	return req, nil
}

func respondAlterConfigs(req *rpcRequest, r *rpcResponse) kmsg.Response {
	typ := kmsg.ConfigResourceTypeTopic
	if req.Op == rpcAlterBrokerConfigs {
		typ = kmsg.ConfigResourceTypeBroker
	}
	return &kmsg.AlterConfigsResponse{Version: 2, Resources: []kmsg.AlterConfigsResponseResource{{
		ErrorCode: r.Code, ErrorMessage: msgPtr(r), ResourceType: typ, ResourceName: req.Names[0],
	}}}
}

// DescribeQuorum v1 of the metadata partition describes the quorum; with
// no topics it is a barrier: the answer only carries the controller's
// applied index, which the asking node then waits for.

func encodeDescribeQuorum(req *rpcRequest) kmsg.Request {
	k := &kmsg.DescribeQuorumRequest{Version: 1}
	if req.Op == rpcDescribeQuorum {
		k.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: protocol.ClusterMetadataTopic,
			Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
	}
	return k
}

func decodeDescribeQuorum(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.DescribeQuorumRequest)
	switch {
	case len(r.Topics) == 0:
		return &rpcRequest{Op: rpcBarrier}, nil
	case len(r.Topics) == 1 && r.Topics[0].Topic == protocol.ClusterMetadataTopic &&
		len(r.Topics[0].Partitions) == 1 && r.Topics[0].Partitions[0].Partition == 0:
		return &rpcRequest{Op: rpcDescribeQuorum}, nil
	}
	return nil, protocol.Errorf(protocol.UnknownTopicOrPartition, "DescribeQuorum: only %s-0 has a quorum", protocol.ClusterMetadataTopic)
}

func respondDescribeQuorum(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.DescribeQuorumResponse{Version: 1, ErrorCode: r.Code}
	q := r.Quorum
	if q == nil {
		return k
	}
	p := kmsg.DescribeQuorumResponseTopicPartition{LeaderID: q.LeaderID, LeaderEpoch: q.LeaderEpoch, HighWatermark: q.HighWatermark,
		CurrentVoters: replicaStates(q.Voters), Observers: replicaStates(q.Observers)}
	k.Topics = []kmsg.DescribeQuorumResponseTopic{{Topic: protocol.ClusterMetadataTopic, Partitions: []kmsg.DescribeQuorumResponseTopicPartition{p}}}
	return k
}

func replicaStates(ps []ReplicaProgress) []kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
	out := make([]kmsg.DescribeQuorumResponseTopicPartitionReplicaState, 0, len(ps))
	for _, p := range ps {
		out = append(out, kmsg.DescribeQuorumResponseTopicPartitionReplicaState{
			ReplicaID: p.ID, LogEndOffset: p.LogEndOffset, LastFetchTimestamp: p.LastFetch, LastCaughtUpTimestamp: p.LastCaughtUp})
	}
	return out
}

func replicaProgress(rs []kmsg.DescribeQuorumResponseTopicPartitionReplicaState) []ReplicaProgress {
	var out []ReplicaProgress
	for _, s := range rs {
		out = append(out, ReplicaProgress{ID: s.ReplicaID, LogEndOffset: s.LogEndOffset, LastFetch: s.LastFetchTimestamp, LastCaughtUp: s.LastCaughtUpTimestamp})
	}
	return out
}

func resultDescribeQuorum(k kmsg.Response, r *rpcResponse) error {
	ts := k.(*kmsg.DescribeQuorumResponse).Topics
	if len(ts) != 1 || len(ts[0].Partitions) != 1 {
		return fmt.Errorf("%w: DescribeQuorum answered %d topics", errRPCFrame, len(ts))
	}
	p := ts[0].Partitions[0]
	r.Quorum = &QuorumState{LeaderID: p.LeaderID, LeaderEpoch: p.LeaderEpoch, HighWatermark: p.HighWatermark,
		Voters: replicaProgress(p.CurrentVoters), Observers: replicaProgress(p.Observers)}
	return nil
}

// ElectLeaders v2 and AlterPartitionReassignments v0 group partitions by
// topic; the answer lists each partition's outcome in request order.

func encodeElectLeaders(req *rpcRequest) kmsg.Request {
	k := &kmsg.ElectLeadersRequest{Version: 2}
	if req.Unclean {
		k.ElectionType = 1
	}
	if req.Elect != nil {
		k.Topics = []kmsg.ElectLeadersRequestTopic{}
	}
	for _, run := range byTopic(req.Elect, func(r PartitionRef) string { return r.Topic }) {
		t := kmsg.ElectLeadersRequestTopic{Topic: run[0].Topic}
		for _, r := range run {
			t.Partitions = append(t.Partitions, r.Partition)
		}
		k.Topics = append(k.Topics, t)
	}
	return k
}

func decodeElectLeaders(k kmsg.Request) (*rpcRequest, error) {
	r := k.(*kmsg.ElectLeadersRequest)
	if r.ElectionType != 0 && r.ElectionType != 1 {
		return nil, invalid("ElectLeaders: election type %d", r.ElectionType)
	}
	req := &rpcRequest{Op: rpcElectLeaders, Unclean: r.ElectionType == 1}
	if r.Topics != nil {
		req.Elect = []PartitionRef{}
	}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			req.Elect = append(req.Elect, PartitionRef{t.Topic, p})
		}
	}
	return req, nil
}

func respondElectLeaders(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.ElectLeadersResponse{Version: 2, ErrorCode: r.Code}
	for _, run := range byTopic(r.Partitions, func(p PartitionResult) string { return p.Topic }) {
		t := kmsg.ElectLeadersResponseTopic{Topic: run[0].Topic}
		for _, p := range run {
			t.Partitions = append(t.Partitions, kmsg.ElectLeadersResponseTopicPartition{Partition: p.Partition, ErrorCode: p.Code, ErrorMessage: optional(p.Msg)})
		}
		k.Topics = append(k.Topics, t)
	}
	return k
}

func encodeReassign(req *rpcRequest) kmsg.Request {
	k := &kmsg.AlterPartitionAssignmentsRequest{Version: 0}
	for _, run := range byTopic(req.Reassign, func(r Reassignment) string { return r.Topic }) {
		t := kmsg.AlterPartitionAssignmentsRequestTopic{Topic: run[0].Topic}
		for _, r := range run {
			t.Partitions = append(t.Partitions, kmsg.AlterPartitionAssignmentsRequestTopicPartition{Partition: r.Partition, Replicas: r.Target})
		}
		k.Topics = append(k.Topics, t)
	}
	return k
}

func decodeReassign(k kmsg.Request) (*rpcRequest, error) {
	req := &rpcRequest{Op: rpcReassign}
	for _, t := range k.(*kmsg.AlterPartitionAssignmentsRequest).Topics {
		for _, p := range t.Partitions {
			req.Reassign = append(req.Reassign, Reassignment{Topic: t.Topic, Partition: p.Partition, Target: p.Replicas})
		}
	}
	return req, nil
}

func respondReassign(_ *rpcRequest, r *rpcResponse) kmsg.Response {
	k := &kmsg.AlterPartitionAssignmentsResponse{Version: 0, ErrorCode: r.Code, ErrorMessage: msgPtr(r)}
	for _, run := range byTopic(r.Partitions, func(p PartitionResult) string { return p.Topic }) {
		t := kmsg.AlterPartitionAssignmentsResponseTopic{Topic: run[0].Topic}
		for _, p := range run {
			t.Partitions = append(t.Partitions, kmsg.AlterPartitionAssignmentsResponseTopicPartition{Partition: p.Partition, ErrorCode: p.Code, ErrorMessage: optional(p.Msg)})
		}
		k.Topics = append(k.Topics, t)
	}
	return k
}

// resultPartitions reads the per-partition outcomes of ElectLeaders,
// AlterPartitionReassignments or AlterPartition, in order.
func resultPartitions(k kmsg.Response, r *rpcResponse) error {
	add := func(topic string, partition int32, code int16, msg *string) {
		r.Partitions = append(r.Partitions, PartitionResult{Topic: topic, Partition: partition, Code: code, Msg: deref(msg)})
	}
	switch k := k.(type) {
	case *kmsg.ElectLeadersResponse:
		for _, t := range k.Topics {
			for _, p := range t.Partitions {
				add(t.Topic, p.Partition, p.ErrorCode, p.ErrorMessage)
			}
		}
	case *kmsg.AlterPartitionAssignmentsResponse:
		for _, t := range k.Topics {
			for _, p := range t.Partitions {
				add(t.Topic, p.Partition, p.ErrorCode, p.ErrorMessage)
			}
		}
	case *kmsg.AlterPartitionResponse:
		for _, t := range k.Topics {
			for _, p := range t.Partitions {
				add(t.Topic, p.Partition, p.ErrorCode, nil)
			}
		}
	}
	return nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// byTopic splits items into runs of consecutive items of one topic, the
// shape of Kafka's topic → partitions arrays, keeping their order.
func byTopic[T any](items []T, topic func(T) string) [][]T {
	var runs [][]T
	for i, it := range items {
		if i == 0 || topic(it) != topic(items[i-1]) {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], it)
	}
	return runs
}
