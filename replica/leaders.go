package replica

import (
	"maps"
	"slices"
	"sync"
)

// leaderIndex files the local replicas by the leader the metadata names
// for each, this broker included. Every state a reconcile applies files
// its replica again, so that the ISR loop visits the partitions led here
// and a fetcher those led by its leader, where each scanned every local
// replica on every look: at 30,000 partitions the ISR loop alone took a
// third of a node's CPU (issue 16).
type leaderIndex struct {
	mu   sync.Mutex
	of   map[*Partition]int32
	sets map[int32]*replicaSet
}

// replicaSet is the replicas of one leader.
type replicaSet struct {
	parts map[*Partition]struct{}
	// list is parts as a slice, built when first asked for after a
	// change and never changed afterwards, so that readers share it.
	list []*Partition
}

func newLeaderIndex() leaderIndex {
	return leaderIndex{of: map[*Partition]int32{}, sets: map[int32]*replicaSet{}}
}

// file records that leader leads p now; -1 (no leader, or p dropped)
// files it nowhere.
func (ix *leaderIndex) file(p *Partition, leader int32) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old, ok := ix.of[p]
	if ok && old == leader {
		return
	}
	if ok {
		s := ix.sets[old]
		delete(s.parts, p)
		s.list = nil
		if len(s.parts) == 0 {
			delete(ix.sets, old)
		}
		delete(ix.of, p)
	}
	if leader < 0 {
		return
	}
	s := ix.sets[leader]
	if s == nil {
		s = &replicaSet{parts: map[*Partition]struct{}{}}
		ix.sets[leader] = s
	}
	s.parts[p], s.list, ix.of[p] = struct{}{}, nil, leader
}

// ledBy returns the replicas that leader leads. The slice is shared:
// callers must not change it.
func (ix *leaderIndex) ledBy(leader int32) []*Partition {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s := ix.sets[leader]
	if s == nil {
		return nil
	}
	if s.list == nil {
		s.list = slices.Collect(maps.Keys(s.parts))
	}
	return s.list
}

// leaders lists the brokers that lead a replica here.
func (ix *leaderIndex) leaders() []int32 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return slices.Collect(maps.Keys(ix.sets))
}
