package coordinator

import (
	"fmt"
	"log/slog"
	"slices"
)

// Commands of version resultsVersion carry the partition states that
// follow from them, decided by the controller before it proposes (Kafka's
// PartitionChangeRecord): the state machine checks that each partition is
// still at the epoch the change was computed against and installs it,
// and never runs an election itself. Commands written before (version 0)
// still elect when applied, so that old logs replay as they did.
const resultsVersion = 1

// PartitionChange is what an election changes in one partition, computed
// against the partition at partition epoch Epoch. A fence of a broker in
// every ISR changes every partition, so the keys are short: 30,000
// changes make a Raft entry of 1.8 MB (BenchmarkFence).
type PartitionChange struct {
	Topic          string  `json:"t"`
	Partition      int32   `json:"p"`
	Epoch          int32   `json:"e"` // the partition epoch it was computed against
	Leader         int32   `json:"l"`
	LeaderEpoch    int32   `json:"le"`
	PartitionEpoch int32   `json:"pe"` // above Epoch
	ISR            []int32 `json:"isr"`
}

// carriesResults reports whether the controller decides op's elections
// before proposing it. ISR changes carry their result already;
// reassignments (which may complete at once) still elect on apply.
func carriesResults(op string) bool {
	switch op {
	case opRegister, opFence, opUnfence, opShutdown, opElectPreferred, opElectUnclean:
		return true
	}
	return createsPartitions(op)
}

// createsPartitions reports the ops whose version-1 commands carry each
// new partition's ISR and leader in Topics, rather than Changes.
func createsPartitions(op string) bool { return op == opCreateTopics || op == opCreatePartitions }

// decideResults turns cmd into a version-1 command whose Changes are the
// partition states it leads to from md: it runs cmd's elections on a
// private copy of md, as a version-0 apply would, and records each
// partition that differs. With only non-nil, the changes are limited to
// those partitions (a retry of changes found stale).
func decideResults(md *Metadata, cmd *command, only []PartitionRef, log *slog.Logger) error {
	if createsPartitions(cmd.Op) {
		decideNewPartitions(md, cmd)
		return nil
	}
	scratch := md.clone()
	plain := *cmd
	plain.V, plain.Changes, plain.Retry = 0, nil, false
	if _, err := plain.apply(scratch, md.AppliedIndex+1, log); err != nil {
		return err
	}
	scratch.seal()
	cmd.V, cmd.Changes = resultsVersion, nil
	for name := range scratch.Topics.Changed(md.Topics) {
		before, after := md.Topic(name), scratch.Topic(name)
		if before == nil || after == nil || before.ID != after.ID || len(after.Partitions) != len(before.Partitions) {
			return fmt.Errorf("BUG: %s created, deleted or grew topic %s", cmd.Op, name)
		}
		for i, p := range after.Partitions {
			old := before.Partitions[i]
			if samePartition(old, p) || (only != nil && !slices.Contains(only, PartitionRef{name, p.ID})) {
				continue
			}
			if !slices.Equal(old.Replicas, p.Replicas) || !slices.Equal(old.Adding, p.Adding) || !slices.Equal(old.Removing, p.Removing) {
				return fmt.Errorf("BUG: %s changed the replicas of %s-%d", cmd.Op, name, p.ID)
			}
			cmd.Changes = append(cmd.Changes, PartitionChange{Topic: name, Partition: p.ID, Epoch: old.PartitionEpoch,
				Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: p.ISR})
		}
	}
	return nil
}

// decideNewPartitions gives each partition a create or grow command adds
// the usable replicas as ISR and the first of them as leader: nothing can
// fence or unfence a broker between this decision and the commit, as
// both run under the controller's opMu.
func decideNewPartitions(md *Metadata, cmd *command) {
	cmd.V = resultsVersion
	for i, t := range cmd.Topics {
		c := *t
		c.Partitions = slices.Clone(t.Partitions)
		for j := range c.Partitions {
			initPartition(md, &c.Partitions[j])
		}
		cmd.Topics[i] = &c
	}
}

func samePartition(a, b Partition) bool {
	return a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch && a.PartitionEpoch == b.PartitionEpoch &&
		slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.ISR, b.ISR) &&
		slices.Equal(a.Adding, b.Adding) && slices.Equal(a.Removing, b.Removing)
}

// staleRefs names the partitions of cmd's changes that res reports stale.
func staleRefs(cmd *command, res applyResult) []PartitionRef {
	var out []PartitionRef
	for _, i := range res.Stale {
		if i >= 0 && i < len(cmd.Changes) {
			out = append(out, PartitionRef{cmd.Changes[i].Topic, cmd.Changes[i].Partition})
		}
	}
	return out
}

// applyResults applies a version-1 command: the change to the broker it
// names (what its version-0 apply does besides electing; a retry made
// that already) and then its partition changes.
func (cmd *command) applyResults(m *Metadata, index uint64) {
	if !cmd.Retry {
		cmd.applyBrokerResult(m, index)
	}
	cmd.installChanges(m)
}

func (cmd *command) applyBrokerResult(m *Metadata, index uint64) {
	switch cmd.Op {
	case opRegister:
		b := *cmd.Broker
		b.Epoch, b.Fenced = int64(index), false
		m.Brokers[b.ID] = &b
	case opFence:
		setFenced(m, cmd.BrokerID, true)
	case opShutdown:
		if b := m.Brokers[cmd.BrokerID]; b != nil {
			c := *b
			c.ControlledShutdown, c.Fenced = true, true
			m.Brokers[c.ID] = &c
		}
	case opUnfence:
		setFenced(m, cmd.BrokerID, false)
	}
}

// setFenced marks a known broker fenced or not.
func setFenced(m *Metadata, id int32, fenced bool) {
	if b := m.Brokers[id]; b != nil && b.Fenced != fenced {
		c := *b
		c.Fenced = fenced
		m.Brokers[id] = &c
	}
}

// installChanges installs each change whose partition is still at the
// epoch it was computed against, and names only its replicas; the others
// are stale, listed by position for the proposer to decide again. Each
// topic changed is copied once.
func (cmd *command) installChanges(m *Metadata) {
	copies := map[string]*Topic{}
	for i, ch := range cmd.Changes {
		t := copies[ch.Topic]
		if t == nil {
			t = m.Topic(ch.Topic)
		}
		if t == nil || int(ch.Partition) >= len(t.Partitions) || !ch.fits(t.Partitions[ch.Partition]) {
			cmd.stale = append(cmd.stale, i)
			continue
		}
		if copies[ch.Topic] == nil {
			c := *t
			c.Partitions = slices.Clone(t.Partitions)
			t, copies[ch.Topic] = &c, &c
			m.putTopic(t)
		}
		p := &t.Partitions[ch.Partition]
		p.Leader, p.LeaderEpoch, p.PartitionEpoch, p.ISR = ch.Leader, ch.LeaderEpoch, ch.PartitionEpoch, slices.Clone(ch.ISR)
	}
}

// fits reports whether ch was computed against p as it is, and names
// only replicas of p.
func (ch *PartitionChange) fits(p Partition) bool {
	if p.PartitionEpoch != ch.Epoch || ch.Leader != -1 && !slices.Contains(p.Replicas, ch.Leader) {
		return false
	}
	for _, r := range ch.ISR {
		if !slices.Contains(p.Replicas, r) {
			return false
		}
	}
	return true
}

// validateChanges checks the changes of a version-1 command before it
// touches an image; what needs the partition (its replicas) is checked
// when installing (fits).
func validateChanges(changes []PartitionChange) error {
	for _, ch := range changes {
		switch {
		case ch.Partition < 0:
			return fmt.Errorf("%s-%d: a negative partition", ch.Topic, ch.Partition)
		case ch.PartitionEpoch <= ch.Epoch:
			return fmt.Errorf("%s-%d: partition epoch %d after %d", ch.Topic, ch.Partition, ch.PartitionEpoch, ch.Epoch)
		case len(ch.ISR) > maxReplicas:
			return fmt.Errorf("%s-%d: an ISR of %d replicas", ch.Topic, ch.Partition, len(ch.ISR))
		}
	}
	return nil
}
