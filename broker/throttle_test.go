package broker

import (
	"math"
	"testing"
	"time"

	"github.com/gokafka/gokafka/coordinator"
)

func TestQuotaHoldsTheRate(t *testing.T) {
	q := newQuota()
	now := time.Unix(1000, 0)
	if q.exceeded(now) {
		t.Fatal("an unlimited quota is exceeded")
	}
	q.setRate(1000) // bytes per second, one second of burst
	q.record(1500, now)
	if !q.exceeded(now) {
		t.Fatal("1,500 bytes against a 1,000-byte burst: not exceeded")
	}
	if !q.exceeded(now.Add(400 * time.Millisecond)) {
		t.Fatal("exceeded by 500 bytes, 400 ms later (400 refilled): no longer exceeded")
	}
	if q.exceeded(now.Add(600 * time.Millisecond)) {
		t.Fatal("600 ms later (600 refilled, 100 to spare): still exceeded")
	}
	q.setRate(math.MaxInt64)
	if q.exceeded(now.Add(time.Second)) {
		t.Fatal("a quota set back to unlimited is exceeded")
	}
}

func TestThrottledReplicaLists(t *testing.T) {
	for _, tc := range []struct {
		list  string
		valid bool
		hits  bool // partition 1, broker 2
	}{
		{"", true, false},
		{"*", true, true},
		{"0:1,1:2", true, true},
		{"0:1, 1:3", true, false},
		{"1:2:3", false, false},
		{"a:2", false, false},
		{"1", false, false},
	} {
		if got := validThrottledReplicas(tc.list); got != tc.valid {
			t.Errorf("%q: valid %v, want %v", tc.list, got, tc.valid)
		}
		if !tc.valid {
			continue
		}
		topic := &coordinator.Topic{Configs: map[string]string{leaderThrottledReplicas: tc.list}}
		if got := replicaThrottled(topic, leaderThrottledReplicas, 1, 2); got != tc.hits {
			t.Errorf("%q: partition 1 on broker 2 throttled %v, want %v", tc.list, got, tc.hits)
		}
	}
}
