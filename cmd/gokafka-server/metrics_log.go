package main

import (
	"github.com/prometheus/client_golang/prometheus"

	klog "github.com/gokafka/gokafka/log"
)

// logCollector reports the log manager's storage health: partitions found
// on disk that could not be opened (they answer KAFKA_STORAGE_ERROR), the
// counterpart of Kafka's ReplicaManager OfflineReplicaCount, and failed
// checkpoint writes, which otherwise only an ERROR line shows, and the
// segment file cache (log.segment.fd.cache.size).
type logCollector struct{ logs *klog.Manager }

var (
	dOfflinePartitions = desc("gokafka_log_offline_partitions", "Partitions on this broker's disks whose log could not be opened (KAFKA_STORAGE_ERROR).")
	dCheckpointErrors  = desc("gokafka_log_checkpoint_write_errors_total", "Recovery-point and log-start-offset checkpoint writes that failed.")
	dFsyncErrors       = desc("gokafka_log_group_commit_fsync_errors_total", "Group-commit fsyncs (log.flush.before.ack) that failed; the partition's appends fail after one.")
	dSegmentFiles      = desc("gokafka_log_segment_files_open", "Segment .log files open: those in use, and up to log.segment.fd.cache.size idle.")
	dSegmentOpens      = desc("gokafka_log_segment_file_opens_total", "Segment files opened again on demand after the cache closed them.")
	dSegmentOpenErrors = desc("gokafka_log_segment_open_errors_total", "On-demand opens of a segment's file that failed; the read answered KAFKA_STORAGE_ERROR.")
	dReadBytes         = desc("gokafka_log_read_bytes_total", "Bytes that reads of record batches (fetches, coordinator loads) took from segment files, batch headers included.")
)

func (lc *logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dOfflinePartitions
	ch <- dCheckpointErrors
	ch <- dFsyncErrors
	ch <- dSegmentFiles
	ch <- dSegmentOpens
	ch <- dSegmentOpenErrors
	ch <- dReadBytes
}

func (lc *logCollector) Collect(ch chan<- prometheus.Metric) {
	metric(ch, dOfflinePartitions, prometheus.GaugeValue, float64(lc.logs.OfflineCount()))
	metric(ch, dCheckpointErrors, prometheus.CounterValue, float64(lc.logs.CheckpointErrors()))
	metric(ch, dFsyncErrors, prometheus.CounterValue, float64(lc.logs.SyncErrors()))
	files := lc.logs.SegmentFiles()
	metric(ch, dSegmentFiles, prometheus.GaugeValue, float64(files.Open))
	metric(ch, dSegmentOpens, prometheus.CounterValue, float64(files.Opens))
	metric(ch, dSegmentOpenErrors, prometheus.CounterValue, float64(files.Failed))
	metric(ch, dReadBytes, prometheus.CounterValue, float64(lc.logs.ReadBytes()))
}
