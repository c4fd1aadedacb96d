package coordinator

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

// The state machine trusts nothing in the Raft log: a command may come from
// an older or buggy proposer, or from a peer that should not have written
// it. validate checks everything apply dereferences or indexes, and every
// name that could become a path, before the command touches an image; a
// command that fails is skipped with an ERROR line.

// maxReplicas bounds a replica list; Kafka's replication factor is an int16.
const maxReplicas = 1 << 15

func (cmd *command) validate() error {
	switch {
	case cmd.V != 0 && (cmd.V != resultsVersion || !carriesResults(cmd.Op)):
		return fmt.Errorf("version %d of %s", cmd.V, cmd.Op)
	case cmd.V == 0 && (cmd.Changes != nil || cmd.Retry):
		return errors.New("partition changes in a version-0 command")
	}
	if err := validateChanges(cmd.Op, cmd.Changes); err != nil {
		return err
	}
	switch cmd.Op {
	case opRegister:
		if cmd.Broker == nil {
			return errors.New("no broker")
		}
		return checkRegistration(&BrokerRegistration{ID: cmd.Broker.ID, Listeners: cmd.Broker.Listeners})
	case opCreateTopics, opCreatePartitions:
		if err := validateTopics(cmd.Topics); err != nil || cmd.V != resultsVersion {
			return err
		}
		return validateDecided(cmd.Topics)
	case opDeleteTopics:
		for _, name := range cmd.Names {
			if err := protocol.ValidTopicName(name); err != nil {
				return err
			}
		}
	case opAlterConfigs:
		if len(cmd.Names) != 1 {
			return fmt.Errorf("one topic is needed, got %d", len(cmd.Names))
		}
		return protocol.ValidTopicName(cmd.Names[0])
	case opBrokerConfigs:
		if len(cmd.Names) != 1 {
			return fmt.Errorf("one broker resource is needed, got %d", len(cmd.Names))
		}
	case opAlterPartition:
		if cmd.Alter == nil && len(cmd.Alters) == 0 && len(cmd.Changes) == 0 {
			return errors.New("no partition to alter")
		}
	case opReassign:
		for _, r := range cmd.Reassign {
			if r.Partition < 0 {
				return fmt.Errorf("%s-%d: a negative partition", r.Topic, r.Partition)
			}
			if r.Target != nil && (len(r.Target) == 0 || len(r.Target) > maxReplicas) {
				return fmt.Errorf("%s-%d: a target of %d replicas", r.Topic, r.Partition, len(r.Target))
			}
		}
	case opCreateACLs, opDeleteACLs:
		return validateACLs(cmd.ACLs)
	case opAlterScram, opInitCluster:
		return validateScram(cmd.Scram)
	case opAllocateProdID:
		if cmd.Count <= 0 {
			return fmt.Errorf("a block of %d producer ids", cmd.Count)
		}
	}
	return nil
}

// validateTopics checks the topics of a create or grow command.
func validateTopics(topics []*Topic) error {
	for _, t := range topics {
		if err := validateTopic(t); err != nil {
			return err
		}
		if len(t.Partitions) > maxPartitionsPerOp {
			return fmt.Errorf("topic %s: %d partitions, at most %d per command", t.Name, len(t.Partitions), maxPartitionsPerOp)
		}
	}
	return nil
}

// validateDecided checks the ISR and leader a version-1 command gives each
// new partition: replicas only, the leader in the ISR.
func validateDecided(topics []*Topic) error {
	for _, t := range topics {
		for _, p := range t.Partitions {
			if p.Leader != -1 && !slices.Contains(p.ISR, p.Leader) {
				return fmt.Errorf("topic %s partition %d: leader %d outside the ISR %v", t.Name, p.ID, p.Leader, p.ISR)
			}
			for _, r := range p.ISR {
				if !slices.Contains(p.Replicas, r) {
					return fmt.Errorf("topic %s partition %d: ISR member %d is not a replica", t.Name, p.ID, r)
				}
			}
		}
	}
	return nil
}

// validateTopic checks a topic of a command or a snapshot: a legal name,
// and partitions that each have replicas (elections read the first).
func validateTopic(t *Topic) error {
	if t == nil {
		return errors.New("a missing topic")
	}
	if err := protocol.ValidTopicName(t.Name); err != nil {
		return err
	}
	for _, p := range t.Partitions {
		if len(p.Replicas) == 0 || len(p.Replicas) > maxReplicas {
			return fmt.Errorf("topic %s partition %d: %d replicas", t.Name, p.ID, len(p.Replicas))
		}
	}
	return nil
}

// validateACLs checks the ACLs of a command or a snapshot as CreateAcls
// does.
func validateACLs(acls []auth.ACL) error {
	if len(acls) > maxACLs {
		return fmt.Errorf("%d ACLs, at most %d", len(acls), maxACLs)
	}
	for _, a := range acls {
		if err := checkACL(a); err != nil {
			return fmt.Errorf("ACL %+v: %w", a, err)
		}
	}
	return nil
}

// validateScram checks the credential changes of a command.
func validateScram(changes []scramChange) error {
	if len(changes) > maxScramPerOp {
		return fmt.Errorf("%d SCRAM changes, at most %d", len(changes), maxScramPerOp)
	}
	for _, ch := range changes {
		if err := checkScramChange(ch); err != nil {
			return err
		}
	}
	return nil
}
