package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestSessionsExpireAndAreBounded: an idle session ends, and its place
// is free again; a table full of logged-in sessions refuses a new one,
// while an anonymous one gives way.
func TestSessionsExpireAndAreBounded(t *testing.T) {
	ss := &sessions{m: map[string]*session{}, max: 1, idle: 50 * time.Millisecond}
	w := httptest.NewRecorder()
	if err := ss.add(w, &session{user: "alice"}); err != nil {
		t.Fatal(err)
	}
	req := &http.Request{Header: http.Header{"Cookie": w.Header()["Set-Cookie"]}}
	if ss.get(req) == nil {
		t.Fatal("a new session is not found by its cookie")
	}
	if err := ss.add(httptest.NewRecorder(), &session{}); err != errTooManySessions {
		t.Errorf("a session past the bound: %v, want errTooManySessions", err)
	}
	time.Sleep(60 * time.Millisecond)
	if ss.get(req) != nil {
		t.Error("an idle session outlived http.console.session.timeout.ms")
	}
	anon := httptest.NewRecorder()
	if err := ss.add(anon, &session{}); err != nil {
		t.Errorf("the expired session's place is not free: %v", err)
	}
	if err := ss.add(httptest.NewRecorder(), &session{}); err != nil || len(ss.m) != 1 {
		t.Errorf("a new anonymous session in a full table: %v, %d sessions; want the oldest anonymous one evicted", err, len(ss.m))
	}
	if ss.get(&http.Request{Header: http.Header{"Cookie": anon.Header()["Set-Cookie"]}}) != nil {
		t.Error("the evicted session is still found")
	}
}

// TestChartSample sums each family the charts plot over its labels.
func TestChartSample(t *testing.T) {
	reg := prometheus.NewRegistry()
	in := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gokafka_server_brokertopicmetrics_bytesin_total"}, []string{"topic"})
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gokafka_consumergroup_lag_sum"}, []string{"consumergroup", "topic"})
	reg.MustRegister(in, lag)
	in.WithLabelValues("a").Add(100)
	in.WithLabelValues("b").Add(23)
	lag.WithLabelValues("g", "a").Set(7)
	m, err := (&sampler{g: reg}).sample()
	if err != nil {
		t.Fatal(err)
	}
	if m["bytesIn"] != 123 || m["lag"] != 7 || m["bytesOut"] != 0 || m["t"] <= 0 {
		t.Errorf("sample %v, want bytesIn 123, lag 7, bytesOut 0 and a time", m)
	}
}
