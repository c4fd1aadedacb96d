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
	// Assignment, carried only by reassignments and by the ISR changes
	// that complete one, replaces the partition's replicas.
	Assignment *Assignment `json:"a,omitempty"`
}

// Assignment is a partition's replicas as a reassignment leaves them:
// Replicas lists the target replicas and then Removing, those leaving;
// Adding are the target replicas still copying the log.
type Assignment struct {
	Replicas []int32 `json:"r"`
	Adding   []int32 `json:"add,omitempty"`
	Removing []int32 `json:"rm,omitempty"`
}

// carriesResults reports whether the controller decides op's elections
// before proposing it.
func carriesResults(op string) bool {
	switch op {
	case opRegister, opFence, opUnfence, opShutdown, opElectPreferred, opElectUnclean:
		return true
	}
	return createsPartitions(op) || changesReplicas(op)
}

// changesReplicas reports the ops whose changes may carry an Assignment:
// a reassignment starts, is cancelled or completes at once, or an ISR
// change completes it.
func changesReplicas(op string) bool { return op == opReassign || op == opAlterPartition }

// createsPartitions reports the ops whose version-1 commands carry each
// new partition's ISR and leader in Topics, rather than Changes.
func createsPartitions(op string) bool { return op == opCreateTopics || op == opCreatePartitions }

// decideResults turns cmd into a version-1 command whose Changes are the
// partition states it leads to from md: it runs cmd's elections on a
// private copy of md, as a version-0 apply would, and records each
// partition that differs. With only non-nil, the changes are limited to
// those partitions (a retry of changes found stale).
func decideResults(md *Metadata, cmd *command, only []PartitionRef, log *slog.Logger) error {
	switch {
	case createsPartitions(cmd.Op):
		decideNewPartitions(md, cmd)
		return nil
	case cmd.Op == opAlterPartition:
		return decideAlters(md, cmd)
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
			ch := changeOf(name, old, p)
			if ch.Assignment != nil && !changesReplicas(cmd.Op) {
				return fmt.Errorf("BUG: %s changed the replicas of %s-%d", cmd.Op, name, p.ID)
			}
			cmd.Changes = append(cmd.Changes, ch)
		}
	}
	return nil
}

// decideAlters turns the ISR changes of an alter_partition command into
// version-1 changes, one per change and in their order (the answer maps
// the stale ones back by position): each installs the ISR its leader asked
// for and, when that ISR completes a reassignment, the replicas and the
// leader that follow. The controller checked each against md (checkAlter).
func decideAlters(md *Metadata, cmd *command) error {
	changes := make([]PartitionChange, 0, len(cmd.Alters))
	for _, a := range cmd.Alters {
		t := md.Topic(a.Topic)
		if t == nil || a.Partition < 0 || int(a.Partition) >= len(t.Partitions) {
			return fmt.Errorf("BUG: an ISR change of %s-%d, which does not exist", a.Topic, a.Partition)
		}
		old := t.Partitions[a.Partition]
		changes = append(changes, changeOf(a.Topic, old, withISR(md, old, a.ISR)))
	}
	cmd.V, cmd.Alters, cmd.Changes = resultsVersion, nil, changes
	return nil
}

// changeOf is the change that takes partition old of topic to p.
func changeOf(topic string, old, p Partition) PartitionChange {
	ch := PartitionChange{Topic: topic, Partition: p.ID, Epoch: old.PartitionEpoch,
		Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: p.ISR}
	if !sameAssignment(old, p) {
		ch.Assignment = &Assignment{Replicas: p.Replicas, Adding: p.Adding, Removing: p.Removing}
	}
	return ch
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
		slices.Equal(a.ISR, b.ISR) && sameAssignment(a, b)
}

func sameAssignment(a, b Partition) bool {
	return slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.Adding, b.Adding) && slices.Equal(a.Removing, b.Removing)
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
// epoch it was computed against, names only its replicas and brings into
// the ISR no broker fenced meanwhile (an ISR change is proposed without
// waiting for the commands before it: alterPartitions); the others
// are stale, listed by position for the proposer to decide again. Each
// topic changed is copied once.
func (cmd *command) installChanges(m *Metadata) {
	copies := map[string]*Topic{}
	for i, ch := range cmd.Changes {
		t := copies[ch.Topic]
		if t == nil {
			t = m.Topic(ch.Topic)
		}
		if t == nil || int(ch.Partition) >= len(t.Partitions) || !ch.fits(m, t.Partitions[ch.Partition]) {
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
		if a := ch.Assignment; a != nil {
			p.Replicas, p.Adding, p.Removing = slices.Clone(a.Replicas), slices.Clone(a.Adding), slices.Clone(a.Removing)
		}
	}
}

// fits reports whether ch was computed against p as it is, names only
// replicas (those it assigns, if it does) and brings into the ISR only
// brokers m has usable.
func (ch *PartitionChange) fits(m *Metadata, p Partition) bool {
	replicas := p.Replicas
	if ch.Assignment != nil {
		replicas = ch.Assignment.Replicas
	}
	if p.PartitionEpoch != ch.Epoch || ch.Leader != -1 && !slices.Contains(replicas, ch.Leader) {
		return false
	}
	for _, r := range ch.ISR {
		if !slices.Contains(replicas, r) || !slices.Contains(p.ISR, r) && !m.usable(r) {
			return false
		}
	}
	return true
}

// validateChanges checks the changes of a version-1 command of op before
// it touches an image; what needs the partition (its replicas) is checked
// when installing (fits).
func validateChanges(op string, changes []PartitionChange) error {
	for _, ch := range changes {
		if a := ch.Assignment; a != nil {
			if !changesReplicas(op) {
				return fmt.Errorf("%s-%d: %s assigns replicas", ch.Topic, ch.Partition, op)
			}
			if err := a.check(); err != nil {
				return fmt.Errorf("%s-%d: %w", ch.Topic, ch.Partition, err)
			}
		}
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

// check verifies the shape reassign gives an assignment: at most
// maxReplicas distinct replicas, none negative, ending with Removing and
// keeping at least one before it (the target, which holds Adding).
func (a *Assignment) check() error {
	n := len(a.Replicas) - len(a.Removing)
	if len(a.Replicas) > maxReplicas || n < 1 || !slices.Equal(a.Replicas[n:], a.Removing) {
		return fmt.Errorf("replicas %v with %v leaving", a.Replicas, a.Removing)
	}
	at := make(map[int32]int, len(a.Replicas))
	for i, r := range a.Replicas {
		if _, seen := at[r]; r < 0 || seen {
			return fmt.Errorf("replicas %v: %d is negative or repeated", a.Replicas, r)
		}
		at[r] = i
	}
	for _, r := range a.Adding {
		if i, ok := at[r]; !ok || i >= n {
			return fmt.Errorf("replicas %v: adding %d, which is not a target replica", a.Replicas, r)
		}
	}
	return nil
}
