package console

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The charts plot what /metrics exports for this node: the page polls
// metrics.json, which sums these families over their labels, and draws
// rates of the counters and the lag gauge.
var chartFamilies = map[string]string{
	"gokafka_server_brokertopicmetrics_bytesin_total":    "bytesIn",
	"gokafka_server_brokertopicmetrics_bytesout_total":   "bytesOut",
	"gokafka_server_brokertopicmetrics_messagesin_total": "messagesIn",
	"gokafka_consumergroup_lag_sum":                      "lag",
}

// sampleEvery is how stale a sample may be: every open page polls, and a
// gather asks leaders for group offsets, so pages share one per second.
const sampleEvery = time.Second

type sampler struct {
	g    prometheus.Gatherer
	mu   sync.Mutex
	at   time.Time
	last map[string]float64
}

func (s *sampler) sample() (map[string]float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil && time.Since(s.at) < sampleEvery {
		return s.last, nil
	}
	fams, err := s.g.Gather()
	if err != nil && len(fams) == 0 {
		return nil, err
	}
	out := map[string]float64{"t": float64(time.Now().UnixMilli())}
	for _, name := range chartFamilies {
		out[name] = 0
	}
	for _, f := range fams {
		name, ok := chartFamilies[f.GetName()]
		if !ok {
			continue
		}
		for _, m := range f.GetMetric() {
			out[name] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	s.at, s.last = time.Now(), out
	return out, nil
}

func (c *Console) metricsJSON(w http.ResponseWriter, _ *http.Request, _ *session) {
	m, err := c.metrics.sample()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(m)
}
