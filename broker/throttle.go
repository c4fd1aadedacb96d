package broker

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/replica"
)

// Replication throttles, as Kafka's (KIP-73): a reassignment's copying
// must not starve clients. Broker configs leader.replication.throttled.rate
// and follower.replication.throttled.rate cap the bytes per second this
// broker serves to, and fetches as, a throttled replica; topic configs
// leader.replication.throttled.replicas and
// follower.replication.throttled.replicas name which replicas
// ("partition:broker,...", or "*") count. Only replicas outside the ISR are
// ever held back, so a throttle cannot slow acks=all writes.

var throttleRateKeys = []string{"leader.replication.throttled.rate", "follower.replication.throttled.rate"}

const (
	leaderThrottledReplicas   = "leader.replication.throttled.replicas"
	followerThrottledReplicas = "follower.replication.throttled.replicas"
)

// quota is a byte rate with one second of burst (a token bucket): a
// caller asks exceeded before sending and records what it sent after, so
// one fetch may overshoot and the next ones wait it off, as Kafka's quotas.
type quota struct {
	mu     sync.Mutex
	rate   float64 // bytes per second; +Inf = unlimited
	tokens float64
	last   time.Time
}

func newQuota() *quota { return &quota{rate: math.Inf(1)} }

func (q *quota) setRate(rate int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r := float64(rate)
	if rate == math.MaxInt64 {
		r = math.Inf(1)
	}
	if r != q.rate {
		q.rate, q.tokens, q.last = r, r, time.Time{} // full burst from the next use
	}
}

func (q *quota) refillLocked(now time.Time) {
	switch {
	case q.last.IsZero():
		q.last = now
	case now.After(q.last): // callers' clocks race; time never runs back here
		q.tokens = min(q.rate, q.tokens+now.Sub(q.last).Seconds()*q.rate)
		q.last = now
	}
}

func (q *quota) exceeded(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if math.IsInf(q.rate, 1) {
		return false
	}
	q.refillLocked(now)
	return q.tokens <= 0
}

func (q *quota) record(n int, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !math.IsInf(q.rate, 1) {
		q.refillLocked(now)
		q.tokens -= float64(n)
	}
}

// applyThrottleRates takes the rates from the dynamic configs: this
// broker's own over the cluster default, unlimited when neither sets one.
func (b *Broker) applyThrottleRates(md *coordinator.Metadata) {
	id := strconv.Itoa(int(b.cfg.NodeID))
	for i, q := range []*quota{b.leaderQuota, b.followerQuota} {
		rate := int64(math.MaxInt64)
		for _, set := range []map[string]string{md.BrokerConfigs[""], md.BrokerConfigs[id]} {
			if v, ok := set[throttleRateKeys[i]]; ok {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					rate = n
				}
			}
		}
		q.setRate(rate)
	}
}

// replicaThrottled reports whether the topic config key lists broker's
// replica of partition (or "*").
func replicaThrottled(t *coordinator.Topic, key string, partition, broker int32) bool {
	list := t.Configs[key]
	if list == "" {
		return false
	}
	if strings.TrimSpace(list) == "*" {
		return true
	}
	want := strconv.Itoa(int(partition)) + ":" + strconv.Itoa(int(broker))
	for _, e := range strings.Split(list, ",") {
		if strings.TrimSpace(e) == want {
			return true
		}
	}
	return false
}

// validThrottled checks a *.replication.throttled.replicas value.
func validThrottled(_ *klog.Config, v string) error {
	if !validThrottledReplicas(v) {
		return fmt.Errorf("must be * or a list of partition:broker")
	}
	return nil
}

func validThrottledReplicas(v string) bool {
	if v = strings.TrimSpace(v); v == "" || v == "*" {
		return true
	}
	for _, e := range strings.Split(v, ",") {
		p, r, ok := strings.Cut(strings.TrimSpace(e), ":")
		if _, err := strconv.ParseUint(p, 10, 31); !ok || err != nil {
			return false
		}
		if _, err := strconv.ParseUint(r, 10, 31); err != nil {
			return false
		}
	}
	return true
}

// throttled reports whether copying of p to replica (not in the ISR) falls
// under this broker's throttle: key lists this broker's replica of p.
func (b *Broker) throttled(md *coordinator.Metadata, p *replica.Partition, key string, replica int32) bool {
	t := md.Topic(p.TopicPartition().Topic)
	return t != nil && replicaThrottled(t, key, p.TopicPartition().Partition, b.cfg.NodeID) && !p.InISR(replica)
}
