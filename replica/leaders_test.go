package replica

import (
	"errors"
	"slices"
	"testing"

	klog "github.com/gokafka/gokafka/log"
)

// Each reconcile files a replica under its leader: the ISR loop visits
// the partitions led here, a fetcher those its leader leads, and a
// replica moves between them with its leadership and leaves them when
// it is dropped, taking its fetcher with it when it was the last.
func TestReplicasFiledByLeader(t *testing.T) {
	rm := newManagerWith(t, Config{NodeID: 1}, nil, func(int32) (Peer, error) { return nil, errors.New("no network") })
	t.Cleanup(rm.Stop)
	md := image(3, "a", "b")
	st := &md.Topic("b").Partitions[0]
	st.Leader, st.Replicas, st.ISR = 2, []int32{2, 1}, []int32{2, 1}
	rm.Reconcile(md)
	a, b := rm.Get(klog.TopicPartition{Topic: "a"}), rm.Get(klog.TopicPartition{Topic: "b"})
	if got := rm.byLeader.ledBy(1); !slices.Equal(got, []*Partition{a}) {
		t.Errorf("led here: %v, want a-0 only", got)
	}
	if got := rm.byLeader.ledBy(2); !slices.Equal(got, []*Partition{b}) {
		t.Errorf("led by 2: %v, want b-0 only", got)
	}
	if got := fetcherLeaders(rm); !slices.Equal(got, []int32{2}) {
		t.Errorf("fetchers from %v, want from 2 only", got)
	}

	// b's leadership moves here and topic a is deleted.
	rm.Reconcile(image(4, "b"))
	if got := rm.byLeader.ledBy(1); !slices.Equal(got, []*Partition{b}) {
		t.Errorf("led here after the move: %v, want b-0 only", got)
	}
	if got := rm.byLeader.leaders(); !slices.Equal(got, []int32{1}) {
		t.Errorf("leaders filed: %v, want 1 only", got)
	}
	if got := fetcherLeaders(rm); len(got) != 0 {
		t.Errorf("fetchers from %v, want none", got)
	}
}

func fetcherLeaders(rm *Manager) []int32 {
	rm.fetchMu.Lock()
	defer rm.fetchMu.Unlock()
	var out []int32
	for id := range rm.fetchers {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
