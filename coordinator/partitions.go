package coordinator

import (
	"context"
	"maps"
	"slices"

	"github.com/gokafka/gokafka/protocol"
)

// CreatePartitionsSpec grows one topic to Count partitions; Assignment,
// when given, places each new partition (in order).
type CreatePartitionsSpec struct {
	Topic      string
	Count      int32
	Assignment [][]int32
}

// CreatePartitions adds partitions to existing topics, in one command.
func (c *Coordinator) CreatePartitions(ctx context.Context, specs []CreatePartitionsSpec, validateOnly bool) []TopicResult {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcCreatePartitions, Grow: specs, ValidateOnly: validateOnly})
	return topicResults(names(specs, func(s CreatePartitionsSpec) string { return s.Topic }), resp, err)
}

// AlterTopicConfigs replaces a topic's config overrides. The broker has
// validated them; the controller stores them as given.
func (c *Coordinator) AlterTopicConfigs(ctx context.Context, topic string, configs map[string]string) error {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcAlterConfigs, Names: []string{topic}, Configs: configs})
	if err == nil {
		err = resp.err()
	}
	return err
}

func (c *Coordinator) createPartitions(specs []CreatePartitionsSpec, validateOnly bool) rpcResponse {
	topics := names(specs, func(s CreatePartitionsSpec) string { return s.Topic })
	return c.topicsCommand(opCreatePartitions, topics, validateOnly, func(md *Metadata, i int) (*Topic, error) {
		return c.grownTopic(md, specs[i])
	})
}

// grownTopic returns the topic's new partitions only, placed like the
// existing ones (same replication factor), as Kafka checks them.
func (c *Coordinator) grownTopic(md *Metadata, s CreatePartitionsSpec) (*Topic, error) {
	t := md.Topic(s.Topic)
	if t == nil {
		return nil, protocol.Errorf(protocol.UnknownTopicOrPartition, "The topic '%s' does not exist.", s.Topic)
	}
	cur := int32(len(t.Partitions))
	switch {
	case s.Count < cur:
		return nil, protocol.Errorf(protocol.InvalidPartitions, "The topic %s currently has %d partition(s); %d would not be an increase.", s.Topic, cur, s.Count)
	case s.Count == cur:
		return nil, protocol.Errorf(protocol.InvalidPartitions, "Topic already has %d partition(s).", cur)
	case s.Count-cur > maxPartitionsPerOp:
		return nil, protocol.Errorf(protocol.PolicyViolation, "Unable to create %d partitions: at most %d may be created at once.", s.Count-cur, maxPartitionsPerOp)
	}
	rf := int16(len(t.Partitions[0].Replicas))
	var replicas [][]int32
	var err error
	if s.Assignment != nil {
		if int32(len(s.Assignment)) != s.Count-cur {
			return nil, protocol.Errorf(protocol.InvalidReplicaAssignment,
				"Increasing the number of partitions by %d but %d assignments provided.", s.Count-cur, len(s.Assignment))
		}
		as := make([]PartitionAssignment, len(s.Assignment))
		for i, r := range s.Assignment {
			if len(r) != int(rf) {
				return nil, protocol.Errorf(protocol.InvalidReplicaAssignment,
					"The manual partition assignment includes a partition with %d replica(s), but the topic's replication factor is %d.", len(r), rf)
			}
			as[i] = PartitionAssignment{Partition: int32(i), Replicas: r}
		}
		replicas, err = manualAssignment(md, as)
	} else {
		replicas, err = c.placeReplicas(md, s.Count-cur, rf)
	}
	if err != nil {
		return nil, err
	}
	grown := &Topic{Name: t.Name, ID: t.ID}
	for i, r := range replicas {
		grown.Partitions = append(grown.Partitions, Partition{ID: cur + int32(i), Replicas: r, Leader: -1})
	}
	return grown, nil
}

// AlterBrokerConfigs replaces the dynamic configs of a broker (its id as
// a string) or, for "", the cluster-wide default. The broker has
// validated them.
func (c *Coordinator) AlterBrokerConfigs(ctx context.Context, resource string, configs map[string]string) error {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcAlterBrokerConfigs, Names: []string{resource}, Configs: configs})
	if err == nil {
		err = resp.err()
	}
	return err
}

func (c *Coordinator) alterBrokerConfigs(resource string, configs map[string]string) rpcResponse {
	return respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		return &command{Op: opBrokerConfigs, Names: []string{resource}, Configs: maps.Clone(configs)}, nil
	}))
}

func (c *Coordinator) alterConfigs(topic string, configs map[string]string) rpcResponse {
	return respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		if md.Topic(topic) == nil {
			return nil, protocol.Errorf(protocol.UnknownTopicOrPartition, "The topic '%s' does not exist.", topic)
		}
		return &command{Op: opAlterConfigs, Names: []string{topic}, Configs: maps.Clone(configs)}, nil
	}))
}

// ElectLeaders runs an operator's leader election (ElectLeaders): the
// preferred replica, or with unclean any usable replica of a leaderless
// partition. refs nil means every partition. Each partition gets Kafka's
// outcome: none, ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
// ELIGIBLE_LEADERS_NOT_AVAILABLE or UNKNOWN_TOPIC_OR_PARTITION.
func (c *Coordinator) ElectLeaders(ctx context.Context, refs []PartitionRef, unclean bool) ([]PartitionResult, error) {
	resp, err := c.call(ctx, &rpcRequest{Op: rpcElectLeaders, Elect: refs, Unclean: unclean})
	if err == nil {
		err = resp.err()
	}
	return resp.Partitions, err
}

// PartitionResult is the outcome of an operation on one partition.
type PartitionResult struct {
	Topic     string
	Partition int32
	Code      int16  `json:",omitempty"`
	Msg       string `json:",omitempty"`
}

func (c *Coordinator) electLeaders(refs []PartitionRef, unclean bool) rpcResponse {
	var results []PartitionResult
	resp := respond(c.ctrl.do(func(md *Metadata) (*command, error) {
		results = nil
		if refs == nil {
			for name, t := range md.Topics.All() {
				for _, p := range t.Partitions {
					refs = append(refs, PartitionRef{name, p.ID})
				}
			}
		}
		var eligible []PartitionRef
		for _, r := range refs {
			code := electionOutcome(md, r, unclean)
			results = append(results, PartitionResult{Topic: r.Topic, Partition: r.Partition, Code: int16(code)})
			if code == protocol.None {
				eligible = append(eligible, r)
			}
		}
		if len(eligible) == 0 {
			return nil, nil
		}
		op := opElectPreferred
		if unclean {
			op = opElectUnclean
		}
		return &command{Op: op, Elect: eligible}, nil
	}))
	resp.Partitions = results
	return resp
}

// electionOutcome says whether an election for r can change anything.
func electionOutcome(md *Metadata, r PartitionRef, unclean bool) protocol.ErrorCode {
	t := md.Topic(r.Topic)
	if t == nil || r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return protocol.UnknownTopicOrPartition
	}
	p := t.Partitions[r.Partition]
	switch {
	case unclean && p.Leader != -1:
		return protocol.ElectionNotNeeded
	case unclean:
		if slices.ContainsFunc(p.Replicas, md.usable) {
			return protocol.None
		}
		return protocol.EligibleLeadersNotAvailable
	case p.Leader == p.Replicas[0]:
		return protocol.ElectionNotNeeded
	case !slices.Contains(p.ISR, p.Replicas[0]) || !md.usable(p.Replicas[0]):
		return protocol.PreferredLeaderNotAvailable
	}
	return protocol.None
}
