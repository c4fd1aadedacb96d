package coordinator

import (
	"hash/maphash"
	"iter"
	"maps"
)

// topicShards is how many shards a TopicMap splits its topics into. A
// command copies the shards it changes, so one topic's change costs about
// 1/topicShards of the topics (about 400 at 100,000 topics) plus the
// shard table, instead of the whole map (issue 16).
const topicShards = 256

var topicSeed = maphash.MakeSeed()

// TopicMap is a persistent map of topics, by name or by topic ID. Images
// share every shard a command leaves alone, and never change one they
// have published: the state machine copies a shard the first time a
// command touches it. Two images, the later derived from the earlier, are
// compared shard by shard (Changed), so what a change touched is found
// without looking at the topics it left alone.
type TopicMap[K comparable] struct {
	shards *[topicShards]*topicShard[K]
	n      int
	// copied is non-nil only while the state machine edits this map for
	// a new image: the shards it has already copied and may change.
	copied *[topicShards]bool
}

type topicShard[K comparable] struct{ m map[K]*Topic }

func shardOf[K comparable](k K) int {
	return int(maphash.Comparable(topicSeed, k) % topicShards)
}

// Get returns the topic under k, or nil.
func (tm TopicMap[K]) Get(k K) *Topic {
	if tm.shards == nil {
		return nil
	}
	return tm.shards[shardOf(k)].entries()[k]
}

// Len is the number of topics.
func (tm TopicMap[K]) Len() int { return tm.n }

// All yields every topic, in no particular order.
func (tm TopicMap[K]) All() iter.Seq2[K, *Topic] {
	return func(yield func(K, *Topic) bool) {
		if tm.shards == nil {
			return
		}
		for _, s := range tm.shards {
			if s == nil {
				continue
			}
			for k, t := range s.m {
				if !yield(k, t) {
					return
				}
			}
		}
	}
}

// Changed yields each key whose topic differs between old and tm: added,
// replaced or removed. A shard tm shares with old is skipped unread, so
// the cost follows the shards a change touched, not the topic count.
// Compared with an unrelated map (or old the zero map), every key of both
// is yielded.
func (tm TopicMap[K]) Changed(old TopicMap[K]) iter.Seq[K] {
	return func(yield func(K) bool) {
		for i := range topicShards {
			cur, prev := tm.shard(i), old.shard(i)
			if cur == prev {
				continue
			}
			for k, t := range cur.entries() {
				if prev.entries()[k] != t && !yield(k) {
					return
				}
			}
			for k := range prev.entries() {
				if _, ok := cur.entries()[k]; !ok && !yield(k) {
					return
				}
			}
		}
	}
}

// shard returns shard i, nil when absent.
func (tm TopicMap[K]) shard(i int) *topicShard[K] {
	if tm.shards == nil {
		return nil
	}
	return tm.shards[i]
}

// entries is the shard's map; nil (which reads as empty) for an absent
// shard.
func (s *topicShard[K]) entries() map[K]*Topic {
	if s == nil {
		return nil
	}
	return s.m
}

// edit returns a copy of tm that put and remove may change; it shares
// every shard with tm until one is written. seal ends the edit.
func (tm TopicMap[K]) edit() TopicMap[K] {
	var shards [topicShards]*topicShard[K]
	if tm.shards != nil {
		shards = *tm.shards
	}
	return TopicMap[K]{shards: &shards, n: tm.n, copied: new([topicShards]bool)}
}

// seal makes an edited map immutable.
func (tm *TopicMap[K]) seal() { tm.copied = nil }

// writable returns shard i of an edited map, copied on its first write.
func (tm *TopicMap[K]) writable(i int) *topicShard[K] {
	if tm.copied == nil {
		panic("BUG: a published TopicMap written")
	}
	if !tm.copied[i] {
		old := tm.shards[i].entries()
		n := &topicShard[K]{m: make(map[K]*Topic, len(old)+1)}
		maps.Copy(n.m, old)
		tm.shards[i], tm.copied[i] = n, true
	}
	return tm.shards[i]
}

// put stores t under k in an edited map.
func (tm *TopicMap[K]) put(k K, t *Topic) {
	s := tm.writable(shardOf(k))
	if _, ok := s.m[k]; !ok {
		tm.n++
	}
	s.m[k] = t
}

// remove deletes k from an edited map.
func (tm *TopicMap[K]) remove(k K) {
	i := shardOf(k)
	if tm.shard(i).entries()[k] == nil {
		return
	}
	delete(tm.writable(i).m, k)
	tm.n--
}
