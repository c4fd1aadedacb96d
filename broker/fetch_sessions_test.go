package broker

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// sessionMetadata holds topic "a" (id 1) and "b" (id 2) with 3 partitions each.
func sessionMetadata() *coordinator.Metadata {
	md := &coordinator.Metadata{}
	for i, name := range []string{"a", "b"} {
		t := &coordinator.Topic{Name: name, ID: [16]byte{byte(i + 1)}, Partitions: make([]coordinator.Partition, 3)}
		md = md.WithTopics(0, t)
	}
	return md
}

// fetchReq builds a Fetch of the given version naming "topic:partition@offset".
func fetchReq(version int16, id, epoch int32, parts map[string][]int32, forget map[string][]int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.SessionID, req.SessionEpoch = version, id, epoch
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range parts {
			if !yield(k) {
				return
			}
		}
	}) {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topicRef(version, name)
		for _, p := range parts[name] {
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, 10, 1<<20
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	for name, ps := range forget {
		ft := kmsg.NewFetchRequestForgottenTopic()
		ft.Topic, ft.TopicID = topicRef(version, name)
		ft.Partitions = ps
		req.ForgottenTopics = append(req.ForgottenTopics, ft)
	}
	return req
}

func topicRef(version int16, name string) (string, [16]byte) {
	if version >= 13 {
		return "", [16]byte{name[0] - 'a' + 1}
	}
	return name, [16]byte{}
}

// answer is what resolveFetch and readFetch would build: one answer per
// requested partition, each at high watermark hw with no records.
func answer(req *kmsg.FetchRequest, hw int64) *kmsg.FetchResponse {
	out := req.ResponseKind().(*kmsg.FetchResponse)
	for _, rt := range req.Topics {
		ot := kmsg.NewFetchResponseTopic()
		ot.Topic, ot.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			op := kmsg.NewFetchResponseTopicPartition()
			op.Partition, op.HighWatermark, op.LogStartOffset = rp.Partition, hw, 0
			ot.Partitions = append(ot.Partitions, op)
		}
		out.Topics = append(out.Topics, ot)
	}
	return out
}

// answered lists "topic-partition" of an answer (names, or the id's letter).
func answered(out *kmsg.FetchResponse) []string {
	var got []string
	for i := range out.Topics {
		for _, op := range out.Topics[i].Partitions {
			got = append(got, partName(&out.Topics[i], op.Partition))
		}
	}
	return got
}

func partName(ot *kmsg.FetchResponseTopic, partition int32) string {
	name := ot.Topic
	if name == "" {
		name = string(rune('a' + ot.TopicID[0] - 1))
	}
	return fmt.Sprintf("%s-%d", name, partition)
}

// roundTrip runs one request through the cache as handleFetch does, with
// every partition at high watermark hw; touch lets a test change the
// answer before the session sees it.
func roundTrip(t *testing.T, fc *fetchSessionCache, req *kmsg.FetchRequest, hw int64, now time.Time, touch func(*kmsg.FetchResponse)) (*kmsg.FetchResponse, protocol.ErrorCode) {
	t.Helper()
	md := sessionMetadata()
	ctx, code := fc.newContext(req, md, false, now)
	if code != protocol.None {
		return nil, code
	}
	out := answer(req, hw)
	if touch != nil {
		touch(out)
	}
	fc.respond(ctx, req, out, md, now)
	return out, protocol.None
}

func TestFetchSessionStateMachine(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, version := range []int16{12, 13} {
		t.Run(fmt.Sprint("v", version), func(t *testing.T) {
			fc := newFetchSessionCache(10)
			// Sessionless full fetch: all partitions, session id 0, nothing cached.
			out, _ := roundTrip(t, fc, fetchReq(version, 0, -1, map[string][]int32{"a": {0, 1}}, nil), 5, now, nil)
			if out.SessionID != 0 || len(answered(out)) != 2 || fc.len() != 0 {
				t.Fatalf("sessionless: id %d, answered %v, %d sessions", out.SessionID, answered(out), fc.len())
			}
			// Full fetch opening a session: every partition, a new id.
			out, _ = roundTrip(t, fc, fetchReq(version, 0, 0, map[string][]int32{"a": {0, 1}, "b": {0}}, nil), 5, now, nil)
			id := out.SessionID
			if id <= 0 || len(answered(out)) != 3 || fc.len() != 1 {
				t.Fatalf("full: id %d, answered %v", id, answered(out))
			}
			// Incremental, nothing changed: no partition answered, all fetched.
			req := fetchReq(version, id, 1, nil, nil)
			out, code := roundTrip(t, fc, req, 5, now, nil)
			if code != protocol.None || out.SessionID != id || len(answered(out)) != 0 {
				t.Fatalf("epoch 1 unchanged: code %v, id %d, answered %v", code, out.SessionID, answered(out))
			}
			if got := len(answered(answer(req, 0))); got != 3 {
				t.Fatalf("epoch 1 fetched %d partitions, want the session's 3", got)
			}
			// The same epoch again is a duplicate: wrong epoch.
			if _, code := roundTrip(t, fc, fetchReq(version, id, 1, nil, nil), 5, now, nil); code != protocol.InvalidFetchSessionEpoch {
				t.Fatalf("replayed epoch 1: %v, want INVALID_FETCH_SESSION_EPOCH", code)
			}
			// High watermark moves on a-1 only; records on b-0; add a-2, forget a-0.
			req = fetchReq(version, id, 2, map[string][]int32{"a": {2}}, map[string][]int32{"a": {0}})
			out, _ = roundTrip(t, fc, req, 5, now, func(out *kmsg.FetchResponse) {
				for i := range out.Topics {
					for j := range out.Topics[i].Partitions {
						switch op := &out.Topics[i].Partitions[j]; partName(&out.Topics[i], op.Partition) {
						case "a-1":
							op.HighWatermark = 6
						case "b-0":
							op.RecordBatches = []byte{1}
						}
					}
				}
			})
			if got, want := answered(out), []string{"a-1", "a-2", "b-0"}; !sameSet(got, want) {
				t.Fatalf("epoch 2 answered %v, want %v", got, want)
			}
			// An error is always answered; an unknown topic too, and cached.
			req = fetchReq(version, id, 3, map[string][]int32{"zz": {0}}, nil)
			out, _ = roundTrip(t, fc, req, 5, now, func(out *kmsg.FetchResponse) {
				for i := range out.Topics {
					for j := range out.Topics[i].Partitions {
						op := &out.Topics[i].Partitions[j]
						if name := partName(&out.Topics[i], op.Partition); name == "a-1" || name[0] == 'z' {
							op.ErrorCode = int16(protocol.NotLeaderOrFollower)
						}
					}
				}
			})
			// a-1 errs, a-2 and b-0 are unchanged, zz-0 errs.
			if got := answered(out); len(got) != 2 || got[0] != "a-1" || got[1][0] != 'z' || len(fc.sessions[id].parts) != 4 {
				t.Fatalf("epoch 3 answered %v with %d cached", got, len(fc.sessions[id].parts))
			}
			// Names against a topic-id session or the reverse.
			other := int16(25 - version)
			if _, code := roundTrip(t, fc, fetchReq(other, id, 4, nil, nil), 6, now, nil); code != protocol.FetchSessionTopicIDError {
				t.Fatalf("v%d in a v%d session: %v", other, version, code)
			}
			// An unknown id.
			if _, code := roundTrip(t, fc, fetchReq(version, id+1, 1, nil, nil), 6, now, nil); code != protocol.FetchSessionIDNotFound {
				t.Fatalf("unknown id: %v", code)
			}
			// Epoch -1 with the id closes it and fetches sessionless.
			out, _ = roundTrip(t, fc, fetchReq(version, id, -1, map[string][]int32{"a": {0}}, nil), 6, now, nil)
			if out.SessionID != 0 || fc.len() != 0 {
				t.Fatalf("close: id %d, %d sessions", out.SessionID, fc.len())
			}
			if _, code := roundTrip(t, fc, fetchReq(version, id, 4, nil, nil), 6, now, nil); code != protocol.FetchSessionIDNotFound {
				t.Fatalf("closed id: %v", code)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Forgetting every partition closes the session and answers sessionless.
func TestFetchSessionForgetAllCloses(t *testing.T) {
	fc, now := newFetchSessionCache(10), time.Unix(1000, 0)
	out, _ := roundTrip(t, fc, fetchReq(12, 0, 0, map[string][]int32{"a": {0}}, nil), 5, now, nil)
	out, _ = roundTrip(t, fc, fetchReq(12, out.SessionID, 1, nil, map[string][]int32{"a": {0}}), 5, now, nil)
	if out.SessionID != 0 || fc.len() != 0 {
		t.Fatalf("id %d, %d sessions after forgetting all", out.SessionID, fc.len())
	}
}

// A session caches at most maxUnknownPartitions partitions of unknown
// topics; the rest are answered each time they are named, never kept.
func TestFetchSessionBoundsUnknownTopics(t *testing.T) {
	fc, now := newFetchSessionCache(10), time.Unix(1000, 0)
	many := make([]int32, maxUnknownPartitions+50)
	for i := range many {
		many[i] = int32(i)
	}
	out, _ := roundTrip(t, fc, fetchReq(12, 0, 0, map[string][]int32{"a": {0}, "zz": many}, nil), 5, now, nil)
	id := out.SessionID
	if n := len(fc.sessions[id].parts); n != 1+maxUnknownPartitions {
		t.Fatalf("%d partitions cached, want 1 + %d", n, maxUnknownPartitions)
	}
	// Adds come before forgets (as in Kafka): yy-0 finds no room.
	out, _ = roundTrip(t, fc, fetchReq(12, id, 1, map[string][]int32{"yy": {0}}, map[string][]int32{"zz": {0}}), 5, now, nil)
	if n := len(fc.sessions[id].parts); n != maxUnknownPartitions || !slices.Contains(answered(out), "yy-0") {
		t.Fatalf("after adding one and forgetting one: %d cached, answered %v", n, answered(out))
	}
	roundTrip(t, fc, fetchReq(12, id, 2, map[string][]int32{"xx": {0}}, nil), 5, now, nil)
	out, _ = roundTrip(t, fc, fetchReq(12, id, 3, map[string][]int32{"ww": {0}}, nil), 5, now, nil)
	if got := answered(out); len(fc.sessions[id].parts) != 1+maxUnknownPartitions || !slices.Contains(got, "ww-0") {
		t.Fatalf("past the bound: answered %v, %d cached", got, len(fc.sessions[id].parts))
	}
}

// Partitions that answer move to the end of the session's order, so that
// fetch.max.bytes rotates over them.
func TestFetchSessionRotates(t *testing.T) {
	fc, now := newFetchSessionCache(10), time.Unix(1000, 0)
	out, _ := roundTrip(t, fc, fetchReq(12, 0, 0, map[string][]int32{"a": {0, 1, 2}}, nil), 5, now, nil)
	id := out.SessionID
	roundTrip(t, fc, fetchReq(12, id, 1, nil, nil), 5, now, func(out *kmsg.FetchResponse) {
		out.Topics[0].Partitions[0].RecordBatches = []byte{1} // a-0 had data
	})
	req := fetchReq(12, id, 2, nil, nil)
	if _, code := fc.newContext(req, sessionMetadata(), false, now); code != protocol.None {
		t.Fatal(code)
	}
	if got, want := answered(answer(req, 0)), []string{"a-1", "a-2", "a-0"}; !slices.Equal(got, want) {
		t.Fatalf("fetch order %v, want %v", got, want)
	}
}

func TestFetchSessionEviction(t *testing.T) {
	t0 := time.Unix(1000, 0)
	open := func(fc *fetchSessionCache, privileged bool, parts []int32, now time.Time) int32 {
		req := fetchReq(12, 0, 0, map[string][]int32{"a": parts}, nil)
		ctx, _ := fc.newContext(req, sessionMetadata(), privileged, now)
		out := answer(req, 5)
		fc.respond(ctx, req, out, sessionMetadata(), now)
		return out.SessionID
	}
	for _, tc := range []struct {
		name       string
		privileged bool      // the newcomer
		parts      []int32   // the newcomer's partitions
		at         time.Time // when the newcomer comes
		evicts     bool
	}{
		{"young consumer sessions are kept from consumers", false, []int32{0, 1, 2}, t0.Add(time.Second), false},
		{"followers evict young consumer sessions", true, []int32{0}, t0.Add(time.Second), true},
		{"idle past the eviction age: evicted by anyone", false, []int32{0}, t0.Add(fetchSessionEvictionAge + time.Second), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := newFetchSessionCache(1)
			first := open(fc, false, []int32{0, 1}, t0)
			id := open(fc, tc.privileged, tc.parts, tc.at)
			if (id != 0) != tc.evicts || (fc.sessions[first] == nil) != tc.evicts {
				t.Fatalf("new id %d, first kept %v; want eviction %v", id, fc.sessions[first] != nil, tc.evicts)
			}
		})
	}
	// A mature session (touched past the eviction age after creation) with
	// fewer partitions gives way to a larger one, not to a smaller one.
	fc := newFetchSessionCache(1)
	first := open(fc, false, []int32{0, 1}, t0)
	later := t0.Add(fetchSessionEvictionAge + time.Second)
	if _, code := roundTrip(t, fc, fetchReq(12, first, 1, nil, nil), 5, later, nil); code != protocol.None {
		t.Fatal(code)
	}
	if id := open(fc, false, []int32{0}, later); id != 0 {
		t.Fatal("a smaller session evicted a larger mature one")
	}
	if id := open(fc, false, []int32{0, 1, 2}, later); id == 0 || fc.sessions[first] != nil {
		t.Fatal("a larger session did not evict a smaller mature one")
	}
	// Followers' young sessions are never evicted.
	fc = newFetchSessionCache(1)
	open(fc, true, []int32{0}, t0)
	if id := open(fc, true, []int32{0, 1, 2}, t0.Add(time.Second)); id != 0 {
		t.Fatal("a young follower session was evicted")
	}
	// No slots: every full fetch stays sessionless.
	if id := open(newFetchSessionCache(0), true, []int32{0}, t0); id != 0 {
		t.Fatalf("got session %d from a cache with no slots", id)
	}
}

func TestNextEpoch(t *testing.T) {
	for in, want := range map[int32]int32{-1: -1, 0: 1, 7: 8, 1<<31 - 1: 1} {
		if got := nextEpoch(in); got != want {
			t.Errorf("nextEpoch(%d) = %d, want %d", in, got, want)
		}
	}
}

// FuzzFetchSessions drives the cache with arbitrary request sequences:
// it never panics, never holds more sessions than its slots, and no
// session holds more than maxUnknownPartitions partitions of unknown
// topics or an epoch below 1.
func FuzzFetchSessions(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 1, 1, 1, 3, 0xff, 2, 2})
	f.Add([]byte{13, 0, 0, 4, 5, 6, 13, 1, 1, 4, 12, 1, 2})
	f.Fuzz(func(t *testing.T, script []byte) {
		fc, md, now := newFetchSessionCache(3), sessionMetadata(), time.Unix(1000, 0)
		var ids []int32
		for len(script) >= 4 {
			op, arg, a, b := script[0], script[1], script[2], script[3]
			script = script[4:]
			version := int16(12 + op%2)
			id := int32(0)
			if len(ids) > 0 && arg&0x80 != 0 {
				id = ids[int(arg)%len(ids)]
			}
			topics := map[string][]int32{string(rune('a' + a%4)): {int32(b % 5)}}
			forget := map[string][]int32{string(rune('a' + b%4)): {int32(a % 5)}}
			req := fetchReq(version, id, int32(int8(arg&0x7f))-2, topics, forget)
			now = now.Add(time.Duration(op) * time.Second)
			ctx, code := fc.newContext(req, md, op&4 != 0, now)
			if code != protocol.None {
				continue
			}
			out := answer(req, int64(a))
			fc.respond(ctx, req, out, md, now)
			if out.SessionID != 0 {
				ids = append(ids, out.SessionID)
			}
		}
		if fc.len() > 3 {
			t.Fatalf("%d sessions in 3 slots", fc.len())
		}
		for _, s := range fc.sessions {
			if s.unknown > maxUnknownPartitions || s.epoch < 1 || len(s.parts) == 0 {
				t.Fatalf("session %d: epoch %d, %d partitions, %d unknown", s.id, s.epoch, len(s.parts), s.unknown)
			}
		}
	})
}
