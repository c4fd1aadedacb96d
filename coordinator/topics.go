package coordinator

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gokafka/gokafka/protocol"
)

// maxPartitionsPerOp bounds the partitions one request may create, as
// KRaft bounds the records of one operation, so that a typo cannot stall
// the controller.
const maxPartitionsPerOp = 10000

// CreateTopicSpec is one topic of a CreateTopics request. NumPartitions and
// ReplicationFactor are -1 for the broker defaults; Assignment, when given,
// replaces both.
type CreateTopicSpec struct {
	Name              string
	NumPartitions     int32
	ReplicationFactor int16
	Assignment        []PartitionAssignment
	Configs           map[string]string
}

// PartitionAssignment is a manual replica assignment for one partition.
type PartitionAssignment struct {
	Partition int32
	Replicas  []int32
}

// TopicResult is the outcome for one topic; Err carries a Kafka error code.
type TopicResult struct {
	Name string
	ID   [16]byte
	Err  error
}

func (c *Coordinator) createTopics(specs []CreateTopicSpec, validateOnly bool) rpcResponse {
	topics := names(specs, func(s CreateTopicSpec) string { return s.Name })
	seen := map[string]int{}
	first := map[string]string{} // by collision key: the first name in the request
	for _, name := range topics {
		seen[name]++
		if _, ok := first[protocol.TopicCollisionKey(name)]; !ok {
			first[protocol.TopicCollisionKey(name)] = name
		}
	}
	return c.topicsCommand(opCreateTopics, topics, validateOnly, func(md *Metadata, i int) (*Topic, error) {
		name := specs[i].Name
		if seen[name] > 1 {
			return nil, protocol.Errorf(protocol.InvalidRequest, "Topic %s appears more than once in the request.", name)
		}
		if other := first[protocol.TopicCollisionKey(name)]; other != name {
			return nil, protocol.Errorf(protocol.InvalidTopicException, "Topic '%s' collides with topic %s in the same request", name, other)
		}
		return c.newTopic(md, specs[i])
	})
}

// topicsCommand runs one controller operation over several topics: build
// checks topic i against the image and returns what the command carries
// for it. Topics that fail get their own error; the rest are committed
// together (or only checked, with validateOnly).
func (c *Coordinator) topicsCommand(op string, names []string, validateOnly bool, build func(md *Metadata, i int) (*Topic, error)) rpcResponse {
	results := make([]rpcResult, len(names))
	res, err := c.ctrl.do(func(md *Metadata) (*command, error) {
		cmd := &command{Op: op}
		for i, name := range names {
			results[i] = rpcResult{Name: name}
			t, err := build(md, i)
			if err != nil {
				results[i].fail(err)
				continue
			}
			results[i].ID = t.ID
			cmd.Topics = append(cmd.Topics, t)
		}
		if validateOnly || len(cmd.Topics) == 0 {
			return nil, nil
		}
		return cmd, nil
	})
	r := respond(res, err)
	r.Results = results
	return r
}

func (r *rpcResult) fail(err error) {
	r.Code, r.Msg = int16(protocol.Code(err)), err.Error()
}

// newTopic validates s against md and returns the topic to create.
func (c *Coordinator) newTopic(md *Metadata, s CreateTopicSpec) (*Topic, error) {
	if md.Topic(s.Name) != nil {
		return nil, protocol.Errorf(protocol.TopicAlreadyExists, "Topic '%s' already exists.", s.Name)
	}
	if err := checkNewTopicName(md, s.Name); err != nil {
		return nil, err
	}
	var replicas [][]int32
	var err error
	if len(s.Assignment) > 0 {
		if s.NumPartitions != -1 || s.ReplicationFactor != -1 {
			return nil, protocol.Errorf(protocol.InvalidRequest,
				"Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
		}
		replicas, err = manualAssignment(md, s.Assignment)
	} else {
		replicas, err = c.placeReplicas(md, s.NumPartitions, s.ReplicationFactor)
	}
	if err != nil {
		return nil, err
	}
	t := &Topic{Name: s.Name, ID: c.newTopicID(md), Configs: s.Configs}
	for i, r := range replicas {
		t.Partitions = append(t.Partitions, Partition{ID: int32(i), Replicas: r, Leader: -1})
	}
	return t, nil
}

// checkNewTopicName refuses what Kafka refuses for a new topic: an illegal
// name, the metadata topic's, or one that collides with an existing topic
// once '.' reads as '_'. The controller checks it before proposing and the
// state machine again before applying, so no name that is unsafe as a
// directory ever reaches an image.
func checkNewTopicName(md *Metadata, name string) error {
	if name == protocol.ClusterMetadataTopic {
		return protocol.Errorf(protocol.InvalidRequest, "Creation of internal topic %s is prohibited.", name)
	}
	if err := protocol.ValidTopicName(name); err != nil {
		return err
	}
	if !strings.ContainsAny(name, "._") {
		return nil // only names holding '.' or '_' can collide with another
	}
	for existing := range md.Topics.All() {
		if existing != name && protocol.TopicNamesCollide(name, existing) {
			return protocol.Errorf(protocol.InvalidTopicException, "Topic '%s' collides with existing topic: %s", name, existing)
		}
	}
	return nil
}

func (c *Coordinator) newTopicID(md *Metadata) [16]byte {
	for {
		id := randomID()
		// Kafka reserves the zero id and 1 (the metadata topic's).
		reserved := id == [16]byte{} || id == [16]byte{15: 1}
		if !reserved && md.TopicByID(id) == nil {
			return id
		}
	}
}

// placeReplicas spreads partitions round-robin over the usable brokers from
// a random start; replica i of partition p is broker (start+p+i) mod n.
func (c *Coordinator) placeReplicas(md *Metadata, partitions int32, rf int16) ([][]int32, error) {
	if partitions == -1 {
		partitions = c.cfg.NumPartitions
	}
	if rf == -1 {
		rf = c.cfg.DefaultReplicationFactor
	}
	switch {
	case partitions <= 0:
		return nil, protocol.Errorf(protocol.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
	case partitions > maxPartitionsPerOp:
		return nil, protocol.Errorf(protocol.PolicyViolation,
			"Unable to create %d partitions: at most %d may be created at once.", partitions, maxPartitionsPerOp)
	case rf <= 0:
		return nil, protocol.Errorf(protocol.InvalidReplicationFactor,
			"Replication factor must be larger than 0, or -1 to use the default value.")
	}
	var brokers []int32
	for id := range md.Brokers {
		if md.usable(id) {
			brokers = append(brokers, id)
		}
	}
	slices.Sort(brokers)
	brokers = rackAlternated(md, brokers)
	if int(rf) > len(brokers) {
		return nil, protocol.Errorf(protocol.InvalidReplicationFactor,
			"Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered or some brokers have all their log directories cordoned.",
			rf, rf, len(brokers))
	}
	start := rand.IntN(len(brokers))
	out := make([][]int32, partitions)
	for p := range out {
		for i := range int(rf) {
			out[p] = append(out[p], brokers[(start+p+i)%len(brokers)])
		}
	}
	return out, nil
}

// rackAlternated orders brokers so that neighbours sit on different racks
// (broker.rack), as Kafka's rack-aware assignment does: the racks in name
// order take turns, each giving its brokers in id order. Replicas picked
// consecutively from this order then spread over the racks.
func rackAlternated(md *Metadata, ids []int32) []int32 {
	byRack := map[string][]int32{}
	var racks []string
	for _, id := range ids {
		r := md.Brokers[id].Rack
		if _, ok := byRack[r]; !ok {
			racks = append(racks, r)
		}
		byRack[r] = append(byRack[r], id)
	}
	if len(racks) <= 1 {
		return ids
	}
	slices.Sort(racks)
	out := make([]int32, 0, len(ids))
	for i := 0; len(out) < len(ids); i++ {
		for _, r := range racks {
			if i < len(byRack[r]) {
				out = append(out, byRack[r][i])
			}
		}
	}
	return out
}

// manualAssignment checks a CreateTopics replica assignment the way Kafka
// does and returns it indexed by partition.
func manualAssignment(md *Metadata, as []PartitionAssignment) ([][]int32, error) {
	if len(as) > maxPartitionsPerOp {
		return nil, protocol.Errorf(protocol.PolicyViolation,
			"Unable to create %d partitions: at most %d may be created at once.", len(as), maxPartitionsPerOp)
	}
	out := make([][]int32, len(as))
	for _, a := range as {
		if a.Partition < 0 || int(a.Partition) >= len(as) || out[a.Partition] != nil {
			return nil, protocol.Errorf(protocol.InvalidReplicaAssignment,
				"Partitions should be a consecutive 0-based integer sequence")
		}
		if len(a.Replicas) == 0 {
			return nil, protocol.Errorf(protocol.InvalidReplicaAssignment,
				"The manual partition assignment includes an empty replica list.")
		}
		if len(a.Replicas) != len(as[0].Replicas) {
			return nil, protocol.Errorf(protocol.InvalidReplicaAssignment,
				"The manual partition assignment includes a partition with %d replica(s), but this is not consistent with previous partitions, which have %d replica(s).",
				len(a.Replicas), len(as[0].Replicas))
		}
		usable := false
		for i, r := range a.Replicas {
			if md.Brokers[r] == nil {
				return nil, protocol.Errorf(protocol.InvalidReplicaAssignment,
					"The manual partition assignment includes broker %d, but no such broker is registered.", r)
			}
			if slices.Contains(a.Replicas[:i], r) {
				return nil, protocol.Errorf(protocol.InvalidReplicaAssignment,
					"The manual partition assignment includes the broker %d more than once.", r)
			}
			usable = usable || md.usable(r)
		}
		if !usable {
			return nil, protocol.Errorf(protocol.InvalidReplicaAssignment,
				"All brokers specified in the manual partition assignment for partition %d are fenced.", a.Partition)
		}
		out[a.Partition] = slices.Clone(a.Replicas)
	}
	return out, nil
}

// checkDeletable refuses an illegal name, and the internal topics: the
// group coordinator's state (every committed offset) lives in them. The
// broker refuses them on the Kafka API; the controller refuses them again
// for requests that reach it directly.
func checkDeletable(name string) error {
	if protocol.IsInternalTopic(name) || name == protocol.ClusterMetadataTopic {
		return protocol.Errorf(protocol.InvalidTopicException, "Topic %s is an internal topic and cannot be deleted", name)
	}
	return protocol.ValidTopicName(name)
}

func (c *Coordinator) deleteTopics(names []string) rpcResponse {
	results := make([]rpcResult, len(names))
	res, err := c.ctrl.do(func(md *Metadata) (*command, error) {
		cmd := &command{Op: opDeleteTopics}
		for i, name := range names {
			results[i].Name = name
			if err := checkDeletable(name); err != nil {
				results[i].fail(err)
				continue
			}
			t := md.Topic(name)
			if t == nil {
				results[i].fail(protocol.Errorf(protocol.UnknownTopicOrPartition, "This server does not host this topic-partition."))
				continue
			}
			results[i].ID = t.ID
			if !slices.Contains(cmd.Names, name) {
				cmd.Names = append(cmd.Names, name)
			}
		}
		if len(cmd.Names) == 0 {
			return nil, nil
		}
		return cmd, nil
	})
	r := respond(res, err)
	r.Results = results
	return r
}
