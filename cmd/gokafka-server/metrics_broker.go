package main

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gokafka/gokafka/broker"
)

// brokerCollector reads the broker's counters and a snapshot of its local
// replicas and groups at scrape time.
type brokerCollector struct {
	b            *broker.Broker
	perPartition bool // metrics.per.partition.enable
}

var (
	dUnderReplicated = desc("gokafka_server_replicamanager_underreplicatedpartitions", "Partitions led here whose ISR is smaller than their replica set.")
	dUnderMinISR     = desc("gokafka_server_replicamanager_underminisrpartitioncount", "Partitions led here whose ISR is below min.insync.replicas.")
	dPartitionCount  = desc("gokafka_server_replicamanager_partitioncount", "Partitions with a replica on this broker.")
	dLeaderCount     = desc("gokafka_server_replicamanager_leadercount", "Partitions this broker leads.")
	dIsrShrinks      = desc("gokafka_server_replicamanager_isrshrinks_total", "ISR shrinks of partitions led here (IsrShrinksPerSec).")
	dIsrExpands      = desc("gokafka_server_replicamanager_isrexpands_total", "ISR expansions of partitions led here (IsrExpandsPerSec).")
	dBytesIn         = desc("gokafka_server_brokertopicmetrics_bytesin_total", "Bytes produced to partitions led here (BytesInPerSec).", "topic")
	dBytesOut        = desc("gokafka_server_brokertopicmetrics_bytesout_total", "Bytes fetched by consumers, replication excluded (BytesOutPerSec).", "topic")
	dMessagesIn      = desc("gokafka_server_brokertopicmetrics_messagesin_total", "Records produced to partitions led here (MessagesInPerSec).", "topic")
	dPurgatory       = desc("gokafka_server_delayedoperationpurgatory_purgatorysize", "Requests parked: acks=all produces waiting for replicas, fetches for data.", "delayedoperation")
	dConnections     = desc("gokafka_server_socket_server_metrics_connection_count", "Open client connections.", "listener")
	dConnCreated     = desc("gokafka_server_socket_server_metrics_connection_creation_total", "Client connections accepted.")
	dStorageErrors   = desc("gokafka_server_storage_errors_total", "Produce and fetch answers of KAFKA_STORAGE_ERROR: a partition's log failed a write, fsync or read.")
	dRebalances      = desc("gokafka_server_group_coordinator_metrics_group_completed_rebalance_total", "Rebalances completed by groups coordinated here.")
	dLogSize         = desc("gokafka_log_log_size", "Bytes of the partition's log on this broker.", "topic", "partition")
	dLogStart        = desc("gokafka_log_log_logstartoffset", "First offset of the partition's log on this broker.", "topic", "partition")
	dLogEnd          = desc("gokafka_log_log_logendoffset", "Next offset of the partition's log on this broker.", "topic", "partition")
	dHighWatermark   = desc("gokafka_cluster_partition_highwatermark", "High watermark of the partition as this broker knows it.", "topic", "partition")
	dGroupOffset     = desc("gokafka_consumergroup_current_offset", "Committed offset, reported by the group's coordinator.", "consumergroup", "topic", "partition")
	dGroupLag        = desc("gokafka_consumergroup_lag", "High watermark minus committed offset, computed by the group's coordinator.", "consumergroup", "topic", "partition")
	dGroupLagSum     = desc("gokafka_consumergroup_lag_sum", "Lag summed over the topic's partitions.", "consumergroup", "topic")
)

// groupLagTimeout bounds the ListOffsets a scrape sends to leaders of
// partitions that have no replica on the coordinator.
const groupLagTimeout = 2 * time.Second

func (bc *brokerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dUnderReplicated, dUnderMinISR, dPartitionCount, dLeaderCount, dIsrShrinks,
		dIsrExpands, dBytesIn, dBytesOut, dMessagesIn, dPurgatory, dConnections, dConnCreated, dRebalances, dStorageErrors,
		dLogSize, dLogStart, dLogEnd, dHighWatermark, dGroupOffset, dGroupLag, dGroupLagSum} {
		ch <- d
	}
	for _, d := range coordinatorDescs {
		ch <- d
	}
}

func (bc *brokerCollector) Collect(ch chan<- prometheus.Metric) {
	st := bc.b.Stats()
	metric(ch, dIsrShrinks, prometheus.CounterValue, float64(st.IsrShrinks))
	metric(ch, dIsrExpands, prometheus.CounterValue, float64(st.IsrExpands))
	metric(ch, dRebalances, prometheus.CounterValue, float64(st.Rebalances))
	metric(ch, dConnCreated, prometheus.CounterValue, float64(st.ConnectionsCreated))
	metric(ch, dStorageErrors, prometheus.CounterValue, float64(st.StorageErrors))
	metric(ch, dPurgatory, prometheus.GaugeValue, float64(st.PurgatoryProduce), "Produce")
	metric(ch, dPurgatory, prometheus.GaugeValue, float64(st.PurgatoryFetch), "Fetch")
	for listener, n := range st.Connections {
		metric(ch, dConnections, prometheus.GaugeValue, float64(n), listener)
	}
	collectCoordinators(ch, st)
	bc.collectPartitions(ch)
	bc.collectGroups(ch)
}

func (bc *brokerCollector) collectPartitions(ch chan<- prometheus.Metric) {
	type topicTotals struct{ in, out, msgs int64 }
	topics := map[string]*topicTotals{}
	var under, underMin, leaders int
	parts := bc.b.PartitionStats()
	for _, p := range parts {
		under += int(b2f(p.UnderReplicated))
		underMin += int(b2f(p.UnderMinISR))
		leaders += int(b2f(p.Leader))
		t := topics[p.Topic]
		if t == nil {
			t = &topicTotals{}
			topics[p.Topic] = t
		}
		t.in, t.out, t.msgs = t.in+p.BytesIn, t.out+p.BytesOut, t.msgs+p.MessagesIn
		if bc.perPartition {
			id := strconv.Itoa(int(p.Partition))
			metric(ch, dLogSize, prometheus.GaugeValue, float64(p.Size), p.Topic, id)
			metric(ch, dLogStart, prometheus.GaugeValue, float64(p.LogStartOffset), p.Topic, id)
			metric(ch, dLogEnd, prometheus.GaugeValue, float64(p.LogEndOffset), p.Topic, id)
			metric(ch, dHighWatermark, prometheus.GaugeValue, float64(p.HighWatermark), p.Topic, id)
		}
	}
	metric(ch, dUnderReplicated, prometheus.GaugeValue, float64(under))
	metric(ch, dUnderMinISR, prometheus.GaugeValue, float64(underMin))
	metric(ch, dLeaderCount, prometheus.GaugeValue, float64(leaders))
	metric(ch, dPartitionCount, prometheus.GaugeValue, float64(len(parts)))
	for name, t := range topics {
		metric(ch, dBytesIn, prometheus.CounterValue, float64(t.in), name)
		metric(ch, dBytesOut, prometheus.CounterValue, float64(t.out), name)
		metric(ch, dMessagesIn, prometheus.CounterValue, float64(t.msgs), name)
	}
}

func (bc *brokerCollector) collectGroups(ch chan<- prometheus.Metric) {
	type key struct{ group, topic string }
	sums := map[key]int64{}
	for _, g := range bc.b.GroupOffsetStats(groupLagTimeout) {
		if g.HighWatermark < 0 {
			continue // the leader did not answer: no figure beats a wrong one
		}
		lag := max(g.HighWatermark-g.Committed, 0)
		sums[key{g.Group, g.Topic}] += lag
		if bc.perPartition {
			id := strconv.Itoa(int(g.Partition))
			metric(ch, dGroupOffset, prometheus.GaugeValue, float64(g.Committed), g.Group, g.Topic, id)
			metric(ch, dGroupLag, prometheus.GaugeValue, float64(lag), g.Group, g.Topic, id)
		}
	}
	for k, lag := range sums {
		metric(ch, dGroupLagSum, prometheus.GaugeValue, float64(lag), k.group, k.topic)
	}
}
