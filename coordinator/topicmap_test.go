package coordinator

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

// An edit shares every shard it does not write with the map it came
// from, never changes that map, and Changed finds exactly the keys it
// added, replaced or removed.
func TestTopicMapCopiesOnWriteAndDiffs(t *testing.T) {
	var base TopicMap[string]
	base = base.edit()
	topics := map[string]*Topic{}
	for i := range 2000 {
		tp := &Topic{Name: fmt.Sprintf("t%d", i)}
		base.put(tp.Name, tp)
		topics[tp.Name] = tp
	}
	base.seal()

	next := base.edit()
	replaced := &Topic{Name: "t7"}
	next.put("t7", replaced)
	next.put("new", &Topic{Name: "new"})
	next.remove("t1999")
	next.remove("absent")
	next.seal()

	if base.Len() != 2000 || !maps.Equal(maps.Collect(base.All()), topics) {
		t.Fatalf("the edit changed the map it came from: %d topics", base.Len())
	}
	if next.Len() != 2000 || next.Get("t7") != replaced || next.Get("t1999") != nil || next.Get("t8") != topics["t8"] {
		t.Fatalf("edited map: %d topics, t7 %p, t1999 %v", next.Len(), next.Get("t7"), next.Get("t1999"))
	}
	shared := 0
	for i := range topicShards {
		if next.shards[i] == base.shards[i] {
			shared++
		}
	}
	if shared < topicShards-3 {
		t.Errorf("%d of %d shards shared after changing 3 keys", shared, topicShards)
	}
	got := slices.Sorted(next.Changed(base))
	if want := []string{"new", "t1999", "t7"}; !slices.Equal(got, want) {
		t.Errorf("Changed = %v, want %v", got, want)
	}
	if n := len(slices.Collect(next.Changed(TopicMap[string]{}))); n != 2000 {
		t.Errorf("Changed against the empty map yields %d keys, want 2000", n)
	}
	if n := len(slices.Collect(next.Changed(next))); n != 0 {
		t.Errorf("a map changed against itself: %d keys", n)
	}
}

// Writing a published map is a bug the state machine's recover turns
// into a skipped command; it must not silently change shared shards.
func TestTopicMapRefusesWritesOncePublished(t *testing.T) {
	m := TopicMap[string]{}.edit()
	m.put("a", &Topic{Name: "a"})
	m.seal()
	defer func() {
		if recover() == nil {
			t.Fatal("a sealed map accepted a write")
		}
	}()
	m.put("b", &Topic{Name: "b"})
}
