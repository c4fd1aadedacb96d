package coordinator

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/gokafka/gokafka/auth"
)

// command is one Raft log entry, JSON-encoded. The controller fills in
// everything random (ids, placement) before proposing, so that applying a
// command is a pure function of the image and the command: every node
// derives the same image. The leader elections that follow from a
// command of version 0 are computed here, deterministically; those of
// version 1 were decided by the controller (changes.go).
type command struct {
	Op        string          `json:"op"`
	ClusterID string          `json:"cluster_id,omitempty"`
	Broker    *Broker         `json:"broker,omitempty"`    // register
	BrokerID  int32           `json:"broker_id,omitempty"` // fence, unfence
	Topics    []*Topic        `json:"topics,omitempty"`    // create_topics
	Names     []string        `json:"names,omitempty"`     // delete_topics
	Count     int64           `json:"count,omitempty"`     // allocate_producer_ids
	Alter     *AlterPartition `json:"alter,omitempty"`     // alter_partition, as written before batches
	// Alters are the ISR changes of alter_partition, committed together.
	Alters []AlterPartition `json:"alters,omitempty"`
	// stale lists, once applied, the Alters that found their partition
	// changed and were left out; it is the proposer's news, not the log's.
	stale []int
	// Unclean lists the topics that allow unclean leader election, as the
	// controller saw their configs (fence, unfence, register).
	Unclean []string `json:"unclean,omitempty"`
	// Elect lists partitions whose preferred replica should lead again.
	Elect []PartitionRef `json:"elect,omitempty"`
	// Reassign starts or (with no Target) cancels reassignments.
	Reassign []Reassignment `json:"reassign,omitempty"`
	// Configs replaces the config overrides of the topic in Names, or the
	// dynamic configs of the broker resource in Names (alter_broker_configs).
	Configs map[string]string `json:"configs,omitempty"`
	// ACLs are the ACLs to add (create_acls) or the exact ACLs to remove
	// (delete_acls): the controller resolved the filters.
	ACLs []auth.ACL `json:"acls,omitempty"`
	// Scram are credential changes (alter_scram, and init_cluster for the
	// credentials of gokafka-server format --add-scram), with StoredKey and
	// ServerKey already derived.
	Scram []scramChange `json:"scram,omitempty"`
	// V is the command's version: 0 (absent) for commands whose
	// elections the state machine runs, resultsVersion for those that
	// carry them in Changes (changes.go).
	V       int               `json:"v,omitempty"`
	Changes []PartitionChange `json:"changes,omitempty"`
	// Retry marks a command that only installs again the Changes of one
	// before it that were stale; the broker change was made then.
	Retry bool `json:"retry,omitempty"`
}

// PartitionRef names one partition.
type PartitionRef struct {
	Topic     string
	Partition int32
}

const (
	opInitCluster      = "init_cluster"
	opRegister         = "register_broker"
	opFence            = "fence_broker"
	opUnfence          = "unfence_broker"
	opCreateTopics     = "create_topics"
	opDeleteTopics     = "delete_topics"
	opAllocateProdID   = "allocate_producer_ids"
	opShutdown         = "controlled_shutdown"
	opAlterPartition   = "alter_partition"
	opElectPreferred   = "elect_preferred"
	opElectUnclean     = "elect_unclean"
	opCreatePartitions = "create_partitions"
	opAlterConfigs     = "alter_configs"
	opBrokerConfigs    = "alter_broker_configs"
	opReassign         = "reassign_partitions"
	opCreateACLs       = "create_acls"
	opDeleteACLs       = "delete_acls"
	opAlterScram       = "alter_scram"
)

// apply changes m (a private copy) as the command says. It returns the first
// producer id for an allocation.
func (cmd *command) apply(m *Metadata, index uint64, log *slog.Logger) (int64, error) {
	decided := cmd.V == resultsVersion
	if decided && !createsPartitions(cmd.Op) {
		cmd.applyResults(m, index)
		return 0, nil
	}
	e := elector{m: m, unclean: cmd.Unclean, log: log}
	switch cmd.Op {
	case opInitCluster:
		if m.ClusterID == "" {
			m.ClusterID = cmd.ClusterID
			return 0, applyScram(m, cmd.Scram)
		}
	case opRegister:
		// A new incarnation may have lost unflushed data, so it gives up its
		// leaderships first (fence) and then rejoins like any other broker.
		b := *cmd.Broker
		b.Epoch, b.Fenced = int64(index), true
		if _, known := m.Brokers[b.ID]; known {
			e.fence(b.ID)
		}
		m.Brokers[b.ID] = &b
		e.unfence(b.ID)
	case opFence:
		e.fence(cmd.BrokerID)
	case opShutdown:
		if b := m.Brokers[cmd.BrokerID]; b != nil {
			c := *b
			c.ControlledShutdown = true
			m.Brokers[c.ID] = &c
		}
		e.fence(cmd.BrokerID)
	case opElectPreferred:
		e.electPreferred(cmd.Elect)
	case opElectUnclean:
		e.electUncleanNow(cmd.Elect)
	case opCreatePartitions:
		for _, t := range cmd.Topics {
			growTopic(m, t, decided)
		}
	case opAlterConfigs:
		if t := m.Topic(cmd.Names[0]); t != nil {
			c := *t
			c.Configs = cmd.Configs
			m.putTopic(&c)
		}
	case opBrokerConfigs:
		if m.BrokerConfigs == nil {
			m.BrokerConfigs = map[string]map[string]string{}
		}
		if len(cmd.Configs) == 0 {
			delete(m.BrokerConfigs, cmd.Names[0])
		} else {
			m.BrokerConfigs[cmd.Names[0]] = cmd.Configs
		}
	case opAlterPartition:
		if cmd.Alter != nil {
			alterISR(m, cmd.Alter)
		}
		for i := range cmd.Alters {
			if !alterISR(m, &cmd.Alters[i]) {
				cmd.stale = append(cmd.stale, i)
			}
		}
	case opReassign:
		for _, r := range cmd.Reassign {
			reassign(m, r)
		}
	case opUnfence:
		e.unfence(cmd.BrokerID)
	case opCreateTopics:
		for _, t := range cmd.Topics {
			if err := createTopic(m, t, decided); err != nil {
				log.Error("metadata command: skipping a topic that fails validation", "index", index, "topic", t.Name, "err", err)
			}
		}
	case opDeleteTopics:
		for _, name := range cmd.Names {
			if t := m.Topic(name); t != nil {
				m.dropTopic(t)
			}
		}
	case opCreateACLs:
		return 0, addACLs(m, cmd.ACLs)
	case opDeleteACLs:
		removeACLs(m, cmd.ACLs)
	case opAlterScram:
		return 0, applyScram(m, cmd.Scram)
	case opAllocateProdID:
		first := m.NextProducerID
		m.NextProducerID += cmd.Count
		return first, nil
	default:
		return 0, fmt.Errorf("unknown metadata command %q", cmd.Op)
	}
	return 0, nil
}

// usable reports whether broker id may lead or join an ISR.
func (m *Metadata) usable(id int32) bool {
	b := m.Brokers[id]
	return b != nil && !b.Fenced
}

// electLeader picks the first replica, in assignment order, that is in the
// ISR and usable; -1 if there is none.
func electLeader(m *Metadata, p *Partition) int32 {
	for _, r := range p.Replicas {
		if slices.Contains(p.ISR, r) && m.usable(r) {
			return r
		}
	}
	return -1
}

// updatePartitions replaces every partition that change alters, copying the
// topic that holds it.
func updatePartitions(m *Metadata, change func(topic string, p *Partition) bool) {
	for name, t := range m.Topics.All() {
		var copied *Topic
		for i := range t.Partitions {
			p := t.Partitions[i]
			p.ISR = slices.Clone(p.ISR)
			if !change(name, &p) {
				continue
			}
			if copied == nil {
				c := *t
				c.Partitions = slices.Clone(t.Partitions)
				copied = &c
			}
			copied.Partitions[i] = p
		}
		if copied != nil {
			m.putTopic(copied)
		}
	}
}

// elector applies the leader-election consequences of one command.
type elector struct {
	m       *Metadata
	unclean []string // topics allowing unclean election
	log     *slog.Logger
}

// electUnclean picks, for a partition left without an ISR member that can
// lead, the first usable replica if the topic allows it. Records it lacks
// are lost; that is logged, as Kafka does.
func (e elector) electUnclean(topic string, p *Partition) {
	if p.Leader != -1 || !slices.Contains(e.unclean, topic) {
		return
	}
	for _, r := range p.Replicas {
		if e.m.usable(r) {
			e.log.Warn("unclean leader election: records only the old ISR held are lost",
				"topic", topic, "partition", p.ID, "leader", r, "old_isr", p.ISR)
			p.Leader, p.ISR = r, []int32{r}
			return
		}
	}
}

// fence marks a broker fenced. It leaves every ISR except where it is the
// last member (so that the partition can come back with it, as in KRaft),
// and its leaderships move to another ISR member or to nobody.
func (e elector) fence(id int32) {
	setFenced(e.m, id, true)
	updatePartitions(e.m, func(topic string, p *Partition) bool {
		if p.Leader != id && !slices.Contains(p.ISR, id) {
			return false
		}
		if len(p.ISR) > 1 {
			p.ISR = slices.DeleteFunc(p.ISR, func(r int32) bool { return r == id })
		}
		if p.Leader == id {
			p.Leader = electLeader(e.m, p)
			e.electUnclean(topic, p)
			p.LeaderEpoch++
		}
		p.PartitionEpoch++
		return true
	})
}

// unfence lets a broker lead again; leaderless partitions whose ISR holds it
// elect it (or, with unclean election, any usable replica).
func (e elector) unfence(id int32) {
	if e.m.Brokers[id] == nil {
		return
	}
	setFenced(e.m, id, false)
	updatePartitions(e.m, func(topic string, p *Partition) bool {
		if p.Leader != -1 || !slices.Contains(p.Replicas, id) {
			return false
		}
		p.Leader = electLeader(e.m, p)
		e.electUnclean(topic, p)
		if p.Leader == -1 {
			return false
		}
		p.LeaderEpoch++
		p.PartitionEpoch++
		return true
	})
}

// electPreferred moves leadership back to each listed partition's preferred
// (first) replica when it is usable and in the ISR.
func (e elector) electPreferred(refs []PartitionRef) {
	listed := refSet(refs)
	updatePartitions(e.m, func(topic string, p *Partition) bool {
		want := p.Replicas[0]
		if p.Leader == want || !listed[PartitionRef{topic, p.ID}] ||
			!slices.Contains(p.ISR, want) || !e.m.usable(want) {
			return false
		}
		p.Leader = want
		p.LeaderEpoch++
		p.PartitionEpoch++
		return true
	})
}

// refSet indexes refs: an election visits every partition, and looking
// each up in the list made a rebalance of thousands of partitions cost
// their number times the cluster's.
func refSet(refs []PartitionRef) map[PartitionRef]bool {
	set := make(map[PartitionRef]bool, len(refs))
	for _, r := range refs {
		set[r] = true
	}
	return set
}

// electUncleanNow is an operator's unclean election (ElectLeaders
// UNCLEAN): each listed leaderless partition takes its first usable
// replica, whatever its topic's unclean.leader.election.enable says.
func (e elector) electUncleanNow(refs []PartitionRef) {
	listed := refSet(refs)
	updatePartitions(e.m, func(topic string, p *Partition) bool {
		if p.Leader != -1 || !listed[PartitionRef{topic, p.ID}] {
			return false
		}
		elector{m: e.m, unclean: []string{topic}, log: e.log}.electUnclean(topic, p)
		if p.Leader == -1 {
			return false
		}
		p.LeaderEpoch++
		p.PartitionEpoch++
		return true
	})
}

// createTopic adds t; each partition starts with the usable replicas as ISR
// and the first of them as leader, elected here unless decided (the
// command carries them).
func createTopic(m *Metadata, t *Topic, decided bool) error {
	if m.Topic(t.Name) != nil || m.TopicByID(t.ID) != nil {
		return nil // the controller checked; a replayed duplicate changes nothing
	}
	if err := checkNewTopicName(m, t.Name); err != nil {
		return err
	}
	c := *t
	c.Partitions = slices.Clone(t.Partitions)
	for i := range c.Partitions {
		c.Partitions[i].ID = int32(i)
		if !decided {
			initPartition(m, &c.Partitions[i])
		}
	}
	m.putTopic(&c)
	return nil
}

// growTopic appends the new partitions in g to the topic with g's id,
// electing their leaders unless decided.
func growTopic(m *Metadata, g *Topic, decided bool) {
	t := m.TopicByID(g.ID)
	if t == nil || len(g.Partitions) == 0 || g.Partitions[0].ID != int32(len(t.Partitions)) {
		return // deleted meanwhile, or a replay: nothing to add
	}
	c := *t
	c.Partitions = slices.Clone(t.Partitions)
	for _, p := range g.Partitions {
		if !decided {
			initPartition(m, &p)
		}
		c.Partitions = append(c.Partitions, p)
	}
	m.putTopic(&c)
}

// initPartition gives a new partition the usable replicas as ISR and the
// first of them as leader.
func initPartition(m *Metadata, p *Partition) {
	p.ISR = slices.DeleteFunc(slices.Clone(p.Replicas), func(r int32) bool { return !m.usable(r) })
	p.Leader = electLeader(m, p)
}

// alterISR applies an ISR change of version 0: it installs the ISR a
// leader asked for, if the partition is still in the state the leader saw
// and every broker joining is still usable, and reports whether it did. The controller checked both when it decided,
// but it proposes ISR changes without waiting for the commands before them
// to apply (alterPartitions): one of those may have changed the partition
// or fenced a joining broker meanwhile.
func alterISR(m *Metadata, a *AlterPartition) bool {
	t := m.Topic(a.Topic)
	if t == nil || a.Partition < 0 || int(a.Partition) >= len(t.Partitions) {
		return false
	}
	old := t.Partitions[a.Partition]
	if old.PartitionEpoch != a.PartitionEpoch || old.LeaderEpoch != a.LeaderEpoch {
		return false
	}
	for _, r := range a.ISR {
		if !slices.Contains(old.ISR, r) && !m.usable(r) {
			return false
		}
	}
	c := *t
	c.Partitions = slices.Clone(t.Partitions)
	c.Partitions[a.Partition] = withISR(m, old, a.ISR)
	m.putTopic(&c)
	return true
}

// withISR is p with the ISR its leader asked for and, if that completes
// a reassignment, the replicas and the leader that follow.
func withISR(m *Metadata, p Partition, isr []int32) Partition {
	p.ISR = slices.Clone(isr)
	p.PartitionEpoch++
	completeReassignment(m, &p)
	return p
}
