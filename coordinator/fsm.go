package coordinator

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/gokafka/gokafka/auth"
)

// fsm is the Raft state machine. Apply turns each committed command into a
// new image; readers load the current image without locks.
type fsm struct {
	image atomic.Pointer[Metadata]
	log   *slog.Logger

	mu   sync.Mutex // serialises image replacement and guards subs
	subs map[chan struct{}]struct{}
}

func newFSM(logger *slog.Logger) *fsm {
	f := &fsm{subs: map[chan struct{}]struct{}{}, log: logger}
	f.image.Store(emptyImage())
	return f
}

func emptyImage() *Metadata {
	return &Metadata{
		ControllerID: -1,
		Brokers:      map[int32]*Broker{},
	}
}

// clone copies the image for a command to edit: the small maps whole, the
// topic maps by shard as the command writes them (TopicMap). The brokers
// and topics themselves are shared until a command replaces them. seal
// ends the edit.
func (m *Metadata) clone() *Metadata {
	n := *m
	n.Brokers = maps.Clone(m.Brokers)
	n.Topics = m.Topics.edit()
	n.TopicsByID = m.TopicsByID.edit()
	n.BrokerConfigs = maps.Clone(m.BrokerConfigs)
	n.Scram = maps.Clone(m.Scram)
	return &n
}

// seal makes an edited image immutable.
func (m *Metadata) seal() {
	m.Topics.seal()
	m.TopicsByID.seal()
}

// publish installs the image that change derives from the current one and
// wakes every subscriber.
func (f *fsm) publish(change func(*Metadata)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := f.image.Load().clone()
	change(next)
	next.seal()
	f.image.Store(next)
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
}

func (f *fsm) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

// setController records the Raft leader; it is local knowledge, not a
// replicated fact, so it changes the image outside of Apply.
func (f *fsm) setController(id int32) {
	if f.image.Load().ControllerID == id {
		return
	}
	f.publish(func(m *Metadata) { m.ControllerID = id })
}

// applyResult is what Apply returns to the proposer through the future.
type applyResult struct {
	Index uint64
	First int64 // first producer id of an allocated block
	Stale []int // alter_partition: the changes left out, by position
	Err   error
}

// Apply implements raft.FSM. A command that cannot be decoded, fails
// validation or panics while applying is skipped with an ERROR line: the
// image only records its index, so that waiters on it still wake, and no
// entry in the log can stop a node from starting.
func (f *fsm) Apply(l *raft.Log) any {
	res := applyResult{Index: l.Index}
	var cmd command
	if err := json.Unmarshal(l.Data, &cmd); err != nil {
		res.Err = fmt.Errorf("undecodable command at index %d: %w", l.Index, err)
	} else if err := cmd.validate(); err != nil {
		res.Err = fmt.Errorf("metadata command %s at index %d: %w", cmd.Op, l.Index, err)
	}
	f.publish(func(m *Metadata) {
		m.AppliedIndex = l.Index
		if res.Err == nil {
			res.First, res.Err = f.applyFenced(&cmd, m, l.Index)
			res.Stale = cmd.stale
		}
	})
	if res.Err != nil {
		f.log.Error("metadata command skipped", "index", l.Index, "err", res.Err)
	}
	return res
}

// applyFenced applies cmd to m; a panic (a bug) leaves m as the current
// image was, at index.
func (f *fsm) applyFenced(cmd *command, m *Metadata, index uint64) (first int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			*m = *f.image.Load().clone()
			m.AppliedIndex = index
			first, err = 0, fmt.Errorf("BUG: metadata command %s at index %d panicked: %v\n%s", cmd.Op, index, p, debug.Stack())
		}
	}()
	return cmd.apply(m, index, f.log)
}

// snapshotImage is the persisted form of an image.
type snapshotImage struct {
	ClusterID      string
	AppliedIndex   uint64
	Brokers        map[int32]*Broker
	Topics         map[string]*Topic
	NextProducerID int64
	BrokerConfigs  map[string]map[string]string `json:",omitempty"`
	ACLs           []auth.ACL                   `json:",omitempty"`
	Scram          []scramChange                `json:",omitempty"`
}

// Snapshot implements raft.FSM; images are immutable, so the snapshot just
// keeps a reference.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) { return fsmSnapshot{f.image.Load()}, nil }

// Restore implements raft.FSM, replacing the state with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var s snapshotImage
	if err := json.NewDecoder(rc).Decode(&s); err != nil {
		return fmt.Errorf("decoding metadata snapshot: %w", err)
	}
	f.publish(func(m *Metadata) {
		m.ClusterID, m.AppliedIndex, m.NextProducerID = s.ClusterID, s.AppliedIndex, s.NextProducerID
		m.BrokerConfigs = s.BrokerConfigs
		m.Brokers = map[int32]*Broker{}
		for id, b := range s.Brokers {
			if b != nil && b.ID == id {
				m.Brokers[id] = b
			}
		}
		restoreSecurity(m, &s, f.log)
		m.Topics, m.TopicsByID = TopicMap[string]{}.edit(), TopicMap[[16]byte]{}.edit()
		for _, t := range s.Topics {
			if err := restorableTopic(t); err != nil {
				f.log.Error("metadata snapshot: skipping a topic that fails validation", "err", err)
				continue
			}
			m.putTopic(t)
		}
	})
	return nil
}

// restorableTopic applies the checks a create command passes, so that a
// snapshot cannot bring in what the log could not.
func restorableTopic(t *Topic) error {
	if err := validateTopic(t); err != nil {
		return err
	}
	for i, p := range t.Partitions {
		if p.ID != int32(i) {
			return fmt.Errorf("topic %s: partition %d at position %d", t.Name, p.ID, i)
		}
	}
	return nil
}

// restoreSecurity installs a snapshot's ACLs and SCRAM credentials, each
// checked as a command's would be; what fails is skipped with an ERROR line.
func restoreSecurity(m *Metadata, s *snapshotImage, log *slog.Logger) {
	var acls []auth.ACL
	for _, a := range s.ACLs {
		if err := checkACL(a); err != nil {
			log.Error("metadata snapshot: skipping an ACL that fails validation", "acl", fmt.Sprintf("%+v", a), "err", err)
			continue
		}
		acls = append(acls, a)
	}
	m.ACLs, m.Scram = nil, nil
	if err := addACLs(m, acls); err != nil {
		log.Error("metadata snapshot: skipping ACLs", "err", err)
	}
	var creds []scramChange
	for _, ch := range s.Scram {
		if err := checkScramChange(ch); err != nil || ch.Credential == nil {
			log.Error("metadata snapshot: skipping a SCRAM credential that fails validation", "user", ch.User, "err", err)
			continue
		}
		creds = append(creds, ch)
	}
	if err := applyScram(m, creds); err != nil {
		log.Error("metadata snapshot: skipping SCRAM credentials", "err", err)
	}
}

// scramChanges lists the credentials of an image as the changes that
// would recreate them.
func scramChanges(s map[string]map[auth.ScramMechanism]auth.ScramCredential) []scramChange {
	var out []scramChange
	for user, byMech := range s {
		for mech, cred := range byMech {
			out = append(out, scramChange{User: user, Mechanism: mech, Credential: &cred})
		}
	}
	return out
}

type fsmSnapshot struct{ m *Metadata }

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	err := json.NewEncoder(sink).Encode(snapshotImage{
		ClusterID:      s.m.ClusterID,
		AppliedIndex:   s.m.AppliedIndex,
		Brokers:        s.m.Brokers,
		Topics:         maps.Collect(s.m.Topics.All()),
		NextProducerID: s.m.NextProducerID,
		BrokerConfigs:  s.m.BrokerConfigs,
		ACLs:           s.m.ACLs.All(),
		Scram:          scramChanges(s.m.Scram),
	})
	if err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}
