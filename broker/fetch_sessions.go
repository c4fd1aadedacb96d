package broker

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// Fetch sessions (KIP-227), as Kafka's FetchSession.scala keeps them.
//
// Behavior:
//   - Fetch v7+ with epoch -1 is a sessionless full fetch (session id 0 in
//     the answer); a session id given with it is closed.
//   - Epoch 0 is a full fetch that asks for a session: when it completes,
//     the cache keeps its partitions' positions and answers a new id, or 0
//     when no slot is free (max.incremental.fetch.session.cache.slots) and
//     nothing may be evicted. A session id given with it is closed first.
//   - Epoch > 0 is incremental: the request lists only partitions whose
//     fetch position changed and forgets some; every partition of the
//     session is fetched, and the answer holds only those with records, an
//     error, or a high watermark or log start offset other than last sent.
//     Partitions that answer move to the end of the session's order, so
//     fetch.max.bytes rotates over them as in Kafka.
//   - An unknown id is FETCH_SESSION_ID_NOT_FOUND, an epoch other than the
//     session's is INVALID_FETCH_SESSION_EPOCH, topic ids (v13+) against a
//     session of names or the reverse is FETCH_SESSION_TOPIC_ID_ERROR; the
//     answer then holds no partitions and session id 0. A session left with
//     no partitions is closed and the fetch answered sessionless.
//   - Eviction as Kafka's FetchSessionCache.tryEvict: first a session idle
//     longer than min.incremental.fetch.session.eviction.ms (a constant,
//     120 s, in Kafka too); else the least valuable evictable session
//     (unprivileged before follower sessions, then fewest partitions) if
//     the new one is worth as much. Sessions younger than that age can be
//     evicted only by followers' sessions, followers' young sessions never.
//
// Deliberate difference: a session caches at most maxUnknownPartitions
// partitions of topics the metadata did not know when they were added;
// more are answered (with their error) but not cached, so a session holds
// at most the cluster's partitions and that many more, however many names
// a client invents. Kafka caches them all.
//
// Memory: a session holds positions only, about a hundred bytes per
// partition; never record data.
//
// Locking: one mutex guards the cache and every session in it. Requests of
// one session come one at a time (one fetch in flight per connection and a
// client's session lives on one connection), so the lock is short and
// rarely contended.

// fetchSessionEvictionAge is min.incremental.fetch.session.eviction.ms.
const fetchSessionEvictionAge = 120 * time.Second

// maxUnknownPartitions bounds the partitions of unknown topics one session
// caches: a consumer meets a few while metadata settles, a hostile client
// could name millions.
const maxUnknownPartitions = 100

// Fetch session epochs (KIP-227 FetchMetadata).
const (
	finalEpoch   int32 = -1 // sessionless full fetch, or close the session
	initialEpoch int32 = 0  // full fetch opening a session
)

// nextEpoch follows Kafka's FetchMetadata.nextEpoch: it wraps to 1.
func nextEpoch(epoch int32) int32 {
	switch {
	case epoch < 0:
		return finalEpoch
	case epoch == math.MaxInt32:
		return 1
	}
	return epoch + 1
}

// sessionKey names a partition in a session: by topic id in sessions of
// v13+ requests, by name before.
type sessionKey struct {
	topicID   [16]byte
	topic     string
	partition int32
}

// cachedPartition is what a session remembers of one partition: the last
// request parameters, and what the last answer that included it said.
type cachedPartition struct {
	req                           kmsg.FetchRequestTopicPartition
	highWatermark, logStartOffset int64
	order                         uint64 // position in the session's fetch order
	unknown                       bool   // its topic was unknown when it was added
}

type fetchSession struct {
	id           int32
	epoch        int32 // the epoch the next incremental request must carry
	privileged   bool  // opened by a follower
	usesTopicIDs bool
	created      time.Time
	lastUsed     time.Time
	// Set at each touch, as Kafka keys its eviction trees then: the
	// partition count, and whether the session was past the eviction age.
	size    int
	matured bool
	parts   map[sessionKey]*cachedPartition
	nextPos uint64
	unknown int // partitions cached with unknown set
}

// fetchSessionCache holds the sessions of this broker.
type fetchSessionCache struct {
	mu       sync.Mutex
	slots    int
	sessions map[int32]*fetchSession
}

func newFetchSessionCache(slots int) *fetchSessionCache {
	return &fetchSessionCache{slots: slots, sessions: map[int32]*fetchSession{}}
}

// fetchContext is what one Fetch means to the cache: sessionless (the
// zero value), a full fetch that asks for a session, or an incremental
// fetch in a session.
type fetchContext struct {
	create     bool
	privileged bool
	session    *fetchSession // incremental
	epoch      int32         // the session's epoch once this request counted
}

// newContext applies the request's session fields. For an incremental
// fetch it updates the session and rewrites req.Topics to every partition
// of the session (plus the requested ones it does not cache), so the fetch
// path reads them like any request. A non-zero code answers the request
// with no partitions.
func (fc *fetchSessionCache) newContext(req *kmsg.FetchRequest, md *coordinator.Metadata, privileged bool, now time.Time) (*fetchContext, protocol.ErrorCode) {
	if req.Version < 7 {
		return &fetchContext{}, protocol.None
	}
	if req.SessionEpoch == finalEpoch || req.SessionEpoch == initialEpoch {
		// A full fetch: the cache is touched only to close a session it
		// names, so sessionless fetches (replica fetchers among them)
		// never take the cache's lock here.
		if req.SessionID != 0 {
			fc.mu.Lock()
			fc.remove(req.SessionID)
			fc.mu.Unlock()
		}
		return &fetchContext{create: req.SessionEpoch == initialEpoch, privileged: privileged}, protocol.None
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	s := fc.sessions[req.SessionID]
	switch {
	case s == nil:
		return nil, protocol.FetchSessionIDNotFound
	case s.usesTopicIDs != (req.Version >= 13):
		return nil, protocol.FetchSessionTopicIDError
	case s.epoch != req.SessionEpoch:
		return nil, protocol.InvalidFetchSessionEpoch
	}
	s.update(req, md)
	if len(s.parts) == 0 {
		fc.remove(s.id)
		return &fetchContext{}, protocol.None
	}
	fc.touch(s, now)
	s.epoch = nextEpoch(s.epoch)
	req.Topics = s.requestTopics(req.Topics)
	req.ForgottenTopics = nil
	return &fetchContext{session: s, epoch: s.epoch}, protocol.None
}

// keyOf names a requested partition in a session of the request's kind.
func keyOf(version int16, rt *kmsg.FetchRequestTopic, partition int32) sessionKey {
	if version >= 13 {
		return sessionKey{topicID: rt.TopicID, partition: partition}
	}
	return sessionKey{topic: rt.Topic, partition: partition}
}

// known reports whether the metadata holds the partition a key names.
func (k sessionKey) known(md *coordinator.Metadata) bool {
	name := k.topic
	if k.topic == "" {
		t := md.TopicByID(k.topicID)
		if t == nil {
			return false
		}
		name = t.Name
	}
	return md.HasPartition(name, k.partition)
}

// update adds or updates the requested partitions and removes the
// forgotten ones (Kafka's FetchSession.update). Partitions of unknown
// topics past maxUnknownPartitions are left out.
func (s *fetchSession) update(req *kmsg.FetchRequest, md *coordinator.Metadata) {
	for i := range req.Topics {
		rt := &req.Topics[i]
		for _, rp := range rt.Partitions {
			k := keyOf(req.Version, rt, rp.Partition)
			if cp := s.parts[k]; cp != nil {
				cp.req = rp
				continue
			}
			s.add(k, rp, -1, -1, md)
		}
	}
	for _, ft := range req.ForgottenTopics {
		for _, p := range ft.Partitions {
			k := sessionKey{topicID: ft.TopicID, topic: ft.Topic, partition: p}
			if cp := s.parts[k]; cp != nil && cp.unknown {
				s.unknown--
			}
			delete(s.parts, k)
		}
	}
}

// add caches a partition at the end of the session's order, unless its
// topic is unknown and the session holds maxUnknownPartitions of those.
func (s *fetchSession) add(k sessionKey, rp kmsg.FetchRequestTopicPartition, hw, logStart int64, md *coordinator.Metadata) {
	unknown := !k.known(md)
	if unknown && s.unknown >= maxUnknownPartitions {
		return
	}
	if unknown {
		s.unknown++
	}
	rp.UnknownTags = kmsg.Tags{}
	s.parts[k] = &cachedPartition{req: rp, highWatermark: hw, logStartOffset: logStart, order: s.nextPos, unknown: unknown}
	s.nextPos++
}

// requestTopics lists the session's partitions in fetch order, grouped
// into topics as they come, then the requested partitions it does not
// hold (unknown topics past the bound), filtered in place in the request's
// own topics so that a request naming many costs nothing more.
func (s *fetchSession) requestTopics(requested []kmsg.FetchRequestTopic) []kmsg.FetchRequestTopic {
	keys := make([]sessionKey, 0, len(s.parts))
	for k := range s.parts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sessionKey) int { return cmp.Compare(s.parts[a].order, s.parts[b].order) })
	var out []kmsg.FetchRequestTopic
	for _, k := range keys {
		cp := s.parts[k]
		if n := len(out); n > 0 && out[n-1].Topic == k.topic && out[n-1].TopicID == k.topicID {
			out[n-1].Partitions = append(out[n-1].Partitions, cp.req)
			continue
		}
		out = append(out, kmsg.FetchRequestTopic{Topic: k.topic, TopicID: k.topicID,
			Partitions: []kmsg.FetchRequestTopicPartition{cp.req}})
	}
	for _, rt := range requested {
		kept := rt.Partitions[:0]
		for _, rp := range rt.Partitions {
			if s.parts[keyOf(s.version(), &rt, rp.Partition)] == nil {
				kept = append(kept, rp)
			}
		}
		if len(kept) > 0 {
			rt.Partitions = kept
			out = append(out, rt)
		}
	}
	return out
}

// version is a request version of the session's kind, for keyOf.
func (s *fetchSession) version() int16 {
	if s.usesTopicIDs {
		return 13
	}
	return 12
}

// respond completes a fetch's answer for its context: it opens the session
// a full fetch asked for, or trims an incremental answer to what changed.
// It sets the response's session id.
func (fc *fetchSessionCache) respond(ctx *fetchContext, req *kmsg.FetchRequest, out *kmsg.FetchResponse, md *coordinator.Metadata, now time.Time) {
	switch {
	case ctx.create:
		out.SessionID = fc.create(ctx.privileged, req, out, md, now)
	case ctx.session != nil:
		fc.trim(ctx, out)
	}
}

// create opens a session over a completed full fetch, returning its id,
// or 0 when the cache has no room for it (Kafka's maybeCreateSession).
func (fc *fetchSessionCache) create(privileged bool, req *kmsg.FetchRequest, out *kmsg.FetchResponse, md *coordinator.Metadata, now time.Time) int32 {
	s := &fetchSession{privileged: privileged, usesTopicIDs: req.Version >= 13, created: now,
		epoch: nextEpoch(initialEpoch), parts: map[sessionKey]*cachedPartition{}}
	// out.Topics mirrors req.Topics index by index (resolveFetch).
	for i := range req.Topics {
		rt := &req.Topics[i]
		for j, rp := range rt.Partitions {
			k := keyOf(req.Version, rt, rp.Partition)
			if _, dup := s.parts[k]; dup {
				continue
			}
			op := &out.Topics[i].Partitions[j]
			hw := op.HighWatermark
			if op.ErrorCode != 0 {
				hw = -1 // so that the partition is sent again once the error clears
			}
			s.add(k, rp, hw, op.LogStartOffset, md)
		}
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(fc.sessions) >= fc.slots && !fc.tryEvict(privileged, len(s.parts), now) {
		return 0
	}
	for s.id == 0 || fc.sessions[s.id] != nil {
		s.id = rand.Int32N(math.MaxInt32-1) + 1
	}
	fc.sessions[s.id] = s
	fc.touch(s, now)
	return s.id
}

// trim leaves in an incremental answer only the partitions that must be
// sent, remembering what they said (Kafka's IncrementalFetchContext). A
// session that moved on meanwhile (a duplicate request) makes the answer
// INVALID_FETCH_SESSION_EPOCH.
func (fc *fetchSessionCache) trim(ctx *fetchContext, out *kmsg.FetchResponse) {
	s := ctx.session
	fc.mu.Lock()
	defer fc.mu.Unlock()
	out.SessionID = s.id
	if s.epoch != ctx.epoch {
		out.ErrorCode, out.Topics = int16(protocol.InvalidFetchSessionEpoch), nil
		return
	}
	version := s.version()
	topics := out.Topics[:0]
	for _, ot := range out.Topics {
		parts := ot.Partitions[:0]
		for _, op := range ot.Partitions {
			rt := kmsg.FetchRequestTopic{Topic: ot.Topic, TopicID: ot.TopicID}
			cp := s.parts[keyOf(version, &rt, op.Partition)]
			if cp == nil || cp.mustRespond(&op) {
				parts = append(parts, op)
				if cp != nil {
					cp.order = s.nextPos
					s.nextPos++
				}
			}
		}
		if len(parts) > 0 {
			ot.Partitions = parts
			topics = append(topics, ot)
		}
	}
	out.Topics = topics
}

// mustRespond reports whether an answer for the partition must be sent and
// remembers what it says (Kafka's CachedPartition.maybeUpdateResponseData).
func (cp *cachedPartition) mustRespond(op *kmsg.FetchResponseTopicPartition) bool {
	must := len(op.RecordBatches) > 0 || op.PreferredReadReplica >= 0 || op.DivergingEpoch.Epoch >= 0
	if cp.highWatermark != op.HighWatermark {
		cp.highWatermark, must = op.HighWatermark, true
	}
	if cp.logStartOffset != op.LogStartOffset {
		cp.logStartOffset, must = op.LogStartOffset, true
	}
	if op.ErrorCode != 0 {
		cp.highWatermark, must = -1, true
	}
	return must
}

// remove drops a session; the caller holds fc.mu.
func (fc *fetchSessionCache) remove(id int32) {
	delete(fc.sessions, id)
}

// touch marks a session used now; the caller holds fc.mu.
func (fc *fetchSessionCache) touch(s *fetchSession, now time.Time) {
	s.lastUsed, s.size = now, len(s.parts)
	s.matured = now.Sub(s.created) > fetchSessionEvictionAge
}

// tryEvict makes room for a new session of size partitions (Kafka's
// FetchSessionCache.tryEvict): the least recently used session if it has
// been idle past the eviction age, else the least valuable session the
// new one may evict, if the new one is worth at least as much. A linear
// scan: it runs only when every slot is taken, over at most slots
// sessions.
func (fc *fetchSessionCache) tryEvict(privileged bool, size int, now time.Time) bool {
	var lru, victim *fetchSession
	for _, s := range fc.sessions {
		if lru == nil || s.lastUsed.Before(lru.lastUsed) || s.lastUsed.Equal(lru.lastUsed) && s.id < lru.id {
			lru = s
		}
		evictable := s.matured || privileged && !s.privileged
		if evictable && (victim == nil || lessValuable(s, victim)) {
			victim = s
		}
	}
	switch {
	case lru == nil:
		return false
	case now.Sub(lru.lastUsed) > fetchSessionEvictionAge:
		fc.remove(lru.id)
		return true
	case victim == nil || lessValuable(&fetchSession{privileged: privileged, size: size}, victim):
		return false
	}
	fc.remove(victim.id)
	return true
}

// lessValuable orders sessions as Kafka's EvictableKey: unprivileged
// before privileged, then by partition count, then by id.
func lessValuable(a, b *fetchSession) bool {
	if a.privileged != b.privileged {
		return !a.privileged
	}
	if a.size != b.size {
		return a.size < b.size
	}
	return a.id < b.id
}

// len is the number of sessions, for tests and metrics.
func (fc *fetchSessionCache) len() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return len(fc.sessions)
}
