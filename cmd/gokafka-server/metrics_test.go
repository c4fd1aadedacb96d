package main

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/protocol"
)

// produceResponse answers six partitions, the given ones with codes.
func produceResponse(codes ...protocol.ErrorCode) *kmsg.ProduceResponse {
	r := kmsg.NewPtrProduceResponse()
	t := kmsg.NewProduceResponseTopic()
	for i := range 6 {
		p := kmsg.NewProduceResponseTopicPartition()
		p.Partition = int32(i)
		if i < len(codes) {
			p.ErrorCode = int16(codes[i])
		}
		t.Partitions = append(t.Partitions, p)
	}
	r.Topics = append(r.Topics, t)
	return r
}

func TestObserveRequestCountsErrorsByCode(t *testing.T) {
	rm := newRequestMetrics()
	timing := broker.RequestTiming{Key: kmsg.Produce, Version: 9, Local: time.Millisecond, Remote: 3 * time.Millisecond, Total: 5 * time.Millisecond}
	timing.Response = produceResponse(protocol.NotLeaderOrFollower, protocol.None, protocol.NotLeaderOrFollower)
	rm.ObserveRequest(timing)
	timing.Response = nil // acks=0: nothing sent, still a request
	rm.ObserveRequest(timing)
	for _, tc := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"Produce", "NOT_LEADER_FOR_PARTITION"}, 2},
		{[]string{"Produce", "NONE"}, 4},
	} {
		if got := testutil.ToFloat64(rm.errors.WithLabelValues(tc.labels...)); got != tc.want {
			t.Errorf("errors_total%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if got := testutil.ToFloat64(rm.requests.WithLabelValues("Produce", "9")); got != 2 {
		t.Errorf("requests_total = %v, want 2", got)
	}
	if n := testutil.CollectAndCount(rm.remote); n != len(protocol.APIKeys()) {
		t.Errorf("%d remote-time series, want one per served API (%d)", n, len(protocol.APIKeys()))
	}
}

// BenchmarkObserveRequest is the cost the metrics add to each produce
// request of six partitions.
func BenchmarkObserveRequest(b *testing.B) {
	rm := newRequestMetrics()
	timing := broker.RequestTiming{Key: kmsg.Produce, Version: 9, Response: produceResponse(), Local: time.Millisecond, Total: 2 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		rm.ObserveRequest(timing)
	}
}
