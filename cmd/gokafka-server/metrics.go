package main

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/protocol"
)

// Metric names follow what the Prometheus JMX exporter's usual Kafka rules
// make of Kafka's MBeans (kafka.server<type=ReplicaManager,
// name=UnderReplicatedPartitions> becomes
// kafka_server_replicamanager_underreplicatedpartitions), under gokafka_
// instead of kafka_, so that dashboards and alerts carry over.
// deploy/prometheus/README.md lists the mapping.

// newRegistry builds the registry /metrics serves: Go runtime and process
// metrics, the coordinator's, and (on a broker) the broker's and its
// request metrics, which it returns for broker.Config.Requests.
func newRegistry(coord *coordinator.Coordinator) (*prometheus.Registry, *requestMetrics) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&controllerCollector{coord: coord})
	rm := newRequestMetrics()
	reg.MustRegister(rm.requests, rm.errors, rm.local, rm.remote, rm.queue, rm.total)
	return reg, rm
}

// registerBroker adds the broker's collector once the broker exists.
func registerBroker(reg *prometheus.Registry, b *broker.Broker, perPartition bool) {
	reg.MustRegister(&brokerCollector{b: b, perPartition: perPartition})
}

// requestMetrics is Kafka's kafka.network RequestMetrics: counts by API
// and version, error counts by API and code, and the time split into
// local (handler), remote (waiting for replicas or data), response queue
// and total, as histograms in seconds.
type requestMetrics struct {
	requests, errors            *prometheus.CounterVec
	local, remote, queue, total *prometheus.HistogramVec
	byKey                       [kmsg.MaxKey + 1]*apiMetrics // resolved once per API
}

type apiMetrics struct {
	local, remote, queue, total prometheus.Observer
}

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newRequestMetrics() *requestMetrics {
	hist := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gokafka_network_requestmetrics_" + name + "_seconds", Help: help, Buckets: latencyBuckets,
		}, []string{"request"})
	}
	rm := &requestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gokafka_network_requestmetrics_requests_total",
			Help: "Requests served, by API and version (RequestsPerSec)."}, []string{"request", "version"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gokafka_network_requestmetrics_errors_total",
			Help: "Error codes in responses, by API and code, NONE included (ErrorsPerSec)."}, []string{"request", "error"}),
		local:  hist("localtime", "Time in the request handler (LocalTimeMs)."),
		remote: hist("remotetime", "Time parked waiting for replicas, data or a rebalance (RemoteTimeMs)."),
		queue:  hist("responsequeuetime", "Time a finished response waited behind earlier ones on its connection (ResponseQueueTimeMs)."),
		total:  hist("totaltime", "Time from reading the request to writing the response (TotalTimeMs)."),
	}
	for _, k := range protocol.APIKeys() { // only what we serve: bounded cardinality
		key, name := k.ApiKey, kmsg.NameForKey(k.ApiKey)
		rm.byKey[key] = &apiMetrics{
			local: rm.local.WithLabelValues(name), remote: rm.remote.WithLabelValues(name),
			queue: rm.queue.WithLabelValues(name), total: rm.total.WithLabelValues(name),
		}
	}
	return rm
}

// ObserveRequest is called from each connection's writer goroutine.
func (rm *requestMetrics) ObserveRequest(t broker.RequestTiming) {
	if int(t.Key) >= len(rm.byKey) || rm.byKey[t.Key] == nil {
		return
	}
	am := rm.byKey[t.Key]
	name := kmsg.NameForKey(int16(t.Key))
	am.local.Observe(t.Local.Seconds())
	am.remote.Observe(t.Remote.Seconds())
	am.queue.Observe(t.ResponseQueue.Seconds())
	am.total.Observe(t.Total.Seconds())
	rm.requests.WithLabelValues(name, strconv.Itoa(int(t.Version))).Inc()
	// Runs of equal codes (usually NONE) are added at once.
	var last protocol.ErrorCode
	n := 0
	flush := func() {
		if n > 0 {
			rm.errors.WithLabelValues(name, errorName(last)).Add(float64(n))
		}
	}
	protocol.EachErrorCode(t.Response, func(c protocol.ErrorCode) {
		if c != last || n == 0 {
			flush()
			last, n = c, 0
		}
		n++
	})
	flush()
}

// errorName is Kafka's name for an error code, as in ErrorsPerSec's
// error tag.
func errorName(c protocol.ErrorCode) string {
	if c == protocol.None {
		return "NONE"
	}
	if err := kerr.ErrorForCode(int16(c)); err != nil {
		if ke, ok := err.(*kerr.Error); ok {
			return ke.Message
		}
	}
	return "UNKNOWN_" + strconv.Itoa(int(c))
}

// metric is a shorthand for one constant sample. Label values come from
// clients (group ids need not be UTF-8); a sample they make invalid is left
// out rather than failing the whole scrape, or panicking in Collect.
func metric(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	if m, err := prometheus.NewConstMetric(d, t, v, labels...); err == nil {
		ch <- m
	}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// controllerCollector reads the Raft node and, on the active controller,
// the cluster-wide counts of the metadata image (as Kafka reports them only
// on the active controller, so a sum over nodes is right).
type controllerCollector struct{ coord *coordinator.Coordinator }

var (
	dActiveController = desc("gokafka_controller_kafkacontroller_activecontrollercount", "1 on the active controller (the Raft leader).")
	dOffline          = desc("gokafka_controller_kafkacontroller_offlinepartitionscount", "Partitions without a leader (active controller only).")
	dGlobalPartitions = desc("gokafka_controller_kafkacontroller_globalpartitioncount", "Partitions in the cluster (active controller only).")
	dGlobalTopics     = desc("gokafka_controller_kafkacontroller_globaltopiccount", "Topics in the cluster (active controller only).")
	dFenced           = desc("gokafka_controller_kafkacontroller_fencedbrokercount", "Registered brokers that are fenced (active controller only).")
	dActiveBrokers    = desc("gokafka_controller_kafkacontroller_activebrokercount", "Registered brokers that are not fenced (active controller only).")
	dRaftState        = desc("gokafka_server_raft_metrics_current_state", "1 for this node's Raft state.", "state")
	dRaftLeader       = desc("gokafka_server_raft_metrics_current_leader", "Node id of the Raft leader, -1 if none is known.")
	dRaftEpoch        = desc("gokafka_server_raft_metrics_current_epoch", "Raft term.")
	dRaftHW           = desc("gokafka_server_raft_metrics_high_watermark", "Raft commit index.")
	dRaftLEO          = desc("gokafka_server_raft_metrics_log_end_offset", "Index of the last entry in the local Raft log.")
	dRaftApplied      = desc("gokafka_server_broker_metadata_metrics_last_applied_record_offset", "Raft index applied to the metadata image.")
	dRaftContact      = desc("gokafka_server_raft_metrics_last_contact_seconds", "Since the leader was last heard from; 0 on the leader, -1 if never.")
)

func (cc *controllerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dActiveController, dOffline, dGlobalPartitions, dGlobalTopics, dFenced,
		dActiveBrokers, dRaftState, dRaftLeader, dRaftEpoch, dRaftHW, dRaftLEO, dRaftApplied, dRaftContact} {
		ch <- d
	}
}

func (cc *controllerCollector) Collect(ch chan<- prometheus.Metric) {
	rs := cc.coord.RaftStats()
	for _, st := range []string{"Leader", "Follower", "Candidate", "Shutdown"} {
		metric(ch, dRaftState, prometheus.GaugeValue, b2f(rs.State == st), st)
	}
	md := cc.coord.Metadata()
	metric(ch, dRaftLeader, prometheus.GaugeValue, float64(md.ControllerID))
	metric(ch, dRaftEpoch, prometheus.GaugeValue, float64(rs.Term))
	metric(ch, dRaftHW, prometheus.GaugeValue, float64(rs.CommitIndex))
	metric(ch, dRaftLEO, prometheus.GaugeValue, float64(rs.LastIndex))
	metric(ch, dRaftApplied, prometheus.GaugeValue, float64(md.AppliedIndex))
	metric(ch, dRaftContact, prometheus.GaugeValue, contactSeconds(rs.LastContact))

	active := rs.State == "Leader"
	metric(ch, dActiveController, prometheus.GaugeValue, b2f(active))
	var offline, partitions, topics, fenced, unfenced int
	if active {
		topics = md.Topics.Len()
		for _, t := range md.Topics.All() {
			for _, p := range t.Partitions {
				partitions++
				if p.Leader < 0 {
					offline++
				}
			}
		}
		for _, b := range md.Brokers {
			if b.Fenced {
				fenced++
			} else {
				unfenced++
			}
		}
	}
	metric(ch, dOffline, prometheus.GaugeValue, float64(offline))
	metric(ch, dGlobalPartitions, prometheus.GaugeValue, float64(partitions))
	metric(ch, dGlobalTopics, prometheus.GaugeValue, float64(topics))
	metric(ch, dFenced, prometheus.GaugeValue, float64(fenced))
	metric(ch, dActiveBrokers, prometheus.GaugeValue, float64(unfenced))
}

func contactSeconds(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return d.Seconds()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
