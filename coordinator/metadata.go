package coordinator

import "github.com/gokafka/gokafka/auth"

// Metadata is one immutable image of the cluster metadata, as of a Raft
// applied index. The state machine never mutates an image it has published:
// each applied command produces a new image (copy-on-write of what changed),
// so readers hold an image without locks and compare two images to see what
// changed between them.
type Metadata struct {
	ClusterID    string
	AppliedIndex uint64 // Raft index of the last command reflected here
	ControllerID int32  // current Raft leader's node id, -1 if none is known

	Brokers map[int32]*Broker
	// Topics and TopicsByID hold the same topics; images share the
	// shards a command left alone (TopicMap).
	Topics     TopicMap[string]
	TopicsByID TopicMap[[16]byte]

	NextProducerID int64 // first id of the next unallocated block

	// BrokerConfigs are dynamic broker configs (AlterConfigs on a broker
	// resource): by broker id as a string, "" for the cluster-wide default.
	BrokerConfigs map[string]map[string]string

	// ACLs are the stored ACLs, indexed for the authorizer; nil when none
	// was ever stored (an empty set to auth).
	ACLs *auth.ACLSet
	// Scram holds the SCRAM credentials by user and mechanism. Inner maps
	// are shared between images and replaced, never changed.
	Scram map[string]map[auth.ScramMechanism]auth.ScramCredential
}

// Broker is a registered broker and its liveness as the controller sees it.
type Broker struct {
	ID        int32
	Epoch     int64 // bumps on every registration (Raft index of the registration)
	Listeners []Endpoint
	Rack      string
	Fenced    bool
	// ControlledShutdown is set while the broker moves its leaderships away.
	ControlledShutdown bool
}

// Endpoint is one advertised listener.
type Endpoint struct {
	Name string // listener name, e.g. PLAINTEXT
	Host string
	Port int32
}

// Topic is one topic with its partitions and its config overrides.
type Topic struct {
	Name       string
	ID         [16]byte
	Partitions []Partition // index == partition id
	Configs    map[string]string
}

// Partition is the replication state of one partition.
type Partition struct {
	ID       int32
	Replicas []int32 // the first is the preferred leader
	ISR      []int32
	Leader   int32 // -1 when no replica can lead
	// LeaderEpoch bumps on every leader change; PartitionEpoch on every
	// change of the partition at all (leader or ISR), as in KRaft.
	LeaderEpoch    int32
	PartitionEpoch int32
	// A reassignment under way (KIP-455): Replicas is the target followed
	// by the replicas leaving; Adding are target replicas still copying,
	// Removing the ones that go once every added replica is in the ISR.
	Adding   []int32 `json:",omitempty"`
	Removing []int32 `json:",omitempty"`
}

// Broker returns the broker with id, or nil.
func (m *Metadata) Broker(id int32) *Broker { return m.Brokers[id] }

// Topic returns the topic named name, or nil.
func (m *Metadata) Topic(name string) *Topic { return m.Topics.Get(name) }

// TopicByID returns the topic with id, or nil.
func (m *Metadata) TopicByID(id [16]byte) *Topic { return m.TopicsByID.Get(id) }

// HasPartition reports whether m holds partition of topic.
func (m *Metadata) HasPartition(topic string, partition int32) bool {
	t := m.Topic(topic)
	return t != nil && partition >= 0 && int(partition) < len(t.Partitions)
}

// WithTopics returns a copy of m at applied index index that holds topics
// too, replacing any of the same name; m is unchanged. It builds images
// for tests outside this package; the state machine edits its own.
func (m *Metadata) WithTopics(index uint64, topics ...*Topic) *Metadata {
	n := m.clone()
	n.AppliedIndex = index
	for _, t := range topics {
		n.putTopic(t)
	}
	n.seal()
	return n
}

// WithoutTopics returns a copy of m at applied index index without the
// named topics; m is unchanged. It is WithTopics' counterpart, for tests.
func (m *Metadata) WithoutTopics(index uint64, names ...string) *Metadata {
	n := m.clone()
	n.AppliedIndex = index
	for _, name := range names {
		if t := n.Topic(name); t != nil {
			n.dropTopic(t)
		}
	}
	n.seal()
	return n
}

// putTopic stores t, a new or replaced topic, in an image being edited.
func (m *Metadata) putTopic(t *Topic) {
	m.Topics.put(t.Name, t)
	m.TopicsByID.put(t.ID, t)
}

// dropTopic removes t from an image being edited.
func (m *Metadata) dropTopic(t *Topic) {
	m.Topics.remove(t.Name)
	m.TopicsByID.remove(t.ID)
}
