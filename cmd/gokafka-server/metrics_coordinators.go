package main

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/txn"
)

// The group and transaction coordinators' figures. Kafka's names where it
// has them: the GroupMetadataManager gauges (kafka.coordinator.group),
// group-coordinator-metrics and transaction-coordinator-metrics (Kafka
// metrics under kafka.server), as the JMX exporter's rules render them;
// the rest under the same families.
var (
	dGroupsNum         = desc("gokafka_coordinator_group_groupmetadatamanager_numgroups", "Groups coordinated here (NumGroups).")
	dGroupOffsets      = desc("gokafka_coordinator_group_groupmetadatamanager_numoffsets", "Committed offsets held by the groups coordinated here (NumOffsets).")
	dOffsetCommits     = desc("gokafka_server_group_coordinator_metrics_offset_commit_total", "Offsets committed, plainly or by transactions (offset-commit-count).")
	dOffsetExpirations = desc("gokafka_server_group_coordinator_metrics_offset_expiration_total", "Committed offsets expired (offset-expiration-count).")
	dGroupLoadMax      = desc("gokafka_server_group_coordinator_metrics_partition_load_time_max", "Longest load of a __consumer_offsets partition since start, ms (partition-load-time-max).")
	dGroupLoadAvg      = desc("gokafka_server_group_coordinator_metrics_partition_load_time_avg", "Mean load of a __consumer_offsets partition since start, ms (partition-load-time-avg).")
	dTxnByState        = desc("gokafka_server_transaction_coordinator_metrics_transactions", "Transactional ids coordinated here, by the state of their transaction.", "state")
	dTxnCompleted      = desc("gokafka_server_transaction_coordinator_metrics_transactions_total", "Transactions completed here: committed, aborted, and of the aborted those that timed out.", "result")
	dTxnLoadMax        = desc("gokafka_server_transaction_coordinator_metrics_partition_load_time_max", "Longest load of a __transaction_state partition since start, ms (partition-load-time-max).")
	dTxnLoadAvg        = desc("gokafka_server_transaction_coordinator_metrics_partition_load_time_avg", "Mean load of a __transaction_state partition since start, ms (partition-load-time-avg).")
	dTxnMarkersQueued  = desc("gokafka_coordinator_transaction_transactionmarkerchannelmanager_markers_queued", "Partitions whose transaction marker is not written yet.")
	dTxnMarkersSent    = desc("gokafka_coordinator_transaction_transactionmarkerchannelmanager_markers_sent_total", "Transaction markers written by partition leaders.")
	dTxnMarkersFailed  = desc("gokafka_coordinator_transaction_transactionmarkerchannelmanager_markers_failed_total", "Attempts to write a transaction marker that failed and were retried or dropped.")
	coordinatorDescs   = []*prometheus.Desc{dGroupsNum, dGroupOffsets, dOffsetCommits, dOffsetExpirations, dGroupLoadMax,
		dGroupLoadAvg, dTxnByState, dTxnCompleted, dTxnLoadMax, dTxnLoadAvg, dTxnMarkersQueued, dTxnMarkersSent, dTxnMarkersFailed}
	// dGroupsIn are Kafka's NumGroups<State> gauges.
	dGroupsIn = map[string]*prometheus.Desc{}
)

func init() {
	for _, state := range []string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"} {
		dGroupsIn[state] = desc("gokafka_coordinator_group_groupmetadatamanager_numgroups"+strings.ToLower(state),
			"Groups coordinated here in state "+state+" (NumGroups"+state+").")
		coordinatorDescs = append(coordinatorDescs, dGroupsIn[state])
	}
}

// collectCoordinators reports every state, zero included, so that a
// dashboard's series do not come and go.
func collectCoordinators(ch chan<- prometheus.Metric, st broker.Stats) {
	g := st.Groups
	total := 0
	for state, d := range dGroupsIn {
		metric(ch, d, prometheus.GaugeValue, float64(g.Groups[state]))
		total += g.Groups[state]
	}
	metric(ch, dGroupsNum, prometheus.GaugeValue, float64(total))
	metric(ch, dGroupOffsets, prometheus.GaugeValue, float64(g.Offsets))
	metric(ch, dOffsetCommits, prometheus.CounterValue, float64(g.OffsetCommits))
	metric(ch, dOffsetExpirations, prometheus.CounterValue, float64(g.OffsetExpirations))
	metric(ch, dGroupLoadMax, prometheus.GaugeValue, g.PartitionLoadTimeMaxMs)
	metric(ch, dGroupLoadAvg, prometheus.GaugeValue, g.PartitionLoadTimeAvgMs)

	t := st.Txn
	for s := txn.Empty; s <= txn.PrepareEpochFence; s++ {
		metric(ch, dTxnByState, prometheus.GaugeValue, float64(t.Transactions[s]), s.String())
	}
	metric(ch, dTxnCompleted, prometheus.CounterValue, float64(t.Committed), "committed")
	metric(ch, dTxnCompleted, prometheus.CounterValue, float64(t.Aborted), "aborted")
	metric(ch, dTxnCompleted, prometheus.CounterValue, float64(t.TimedOut), "timed_out")
	metric(ch, dTxnLoadMax, prometheus.GaugeValue, t.PartitionLoadTimeMaxMs)
	metric(ch, dTxnLoadAvg, prometheus.GaugeValue, t.PartitionLoadTimeAvgMs)
	metric(ch, dTxnMarkersQueued, prometheus.GaugeValue, float64(t.MarkersQueued))
	metric(ch, dTxnMarkersSent, prometheus.CounterValue, float64(t.MarkersSent))
	metric(ch, dTxnMarkersFailed, prometheus.CounterValue, float64(t.MarkersFailed))
}

// txnPhases is where transactions spend their time (txn.Phase): a
// histogram in seconds for each phase, which Kafka does not have; its
// closest are the request metrics of EndTxn and AddPartitionsToTxn.
type txnPhases struct {
	byPhase []prometheus.Observer
}

// registerTxnPhases registers the histograms with every phase present
// from the start, for broker.Config.TxnPhases.
func registerTxnPhases(reg *prometheus.Registry) *txnPhases {
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gokafka_server_transaction_coordinator_metrics_phase_seconds",
		Help: "Time of each phase of a transaction: writing its state (add_write, prepare_write, complete_write), " +
			"its markers, and a partition leader's verify with the coordinator before the transaction's first write there.",
		Buckets: latencyBuckets,
	}, []string{"phase"})
	reg.MustRegister(vec)
	m := &txnPhases{}
	for _, p := range txn.Phases() {
		m.byPhase = append(m.byPhase, vec.WithLabelValues(p.String()))
	}
	return m
}

func (m *txnPhases) ObservePhase(p txn.Phase, d time.Duration) {
	if int(p) >= 0 && int(p) < len(m.byPhase) {
		m.byPhase[p].Observe(d.Seconds())
	}
}
