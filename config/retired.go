package config

import "strings"

// Retired keys are those a ZooKeeper-mode Kafka (3.x) knew that mean
// nothing here: ZooKeeper's own, and what KRaft replaced. A file carrying
// them still configures a node, so they earn a warning, not an error; each
// says what took its place. zookeeper.connect is not among them: without
// controller.quorum.voters beside it, the file is a ZooKeeper-mode file
// that cannot start a node, and cmd says so.
var retired = map[string]string{
	"broker.id.generation.enable":       "node ids are never generated: every node sets node.id",
	"reserved.broker.max.id":            "node ids are never generated: every node sets node.id",
	"control.plane.listener.name":       "the controller listener (controller.listener.names) carries the controller's requests",
	"inter.broker.protocol.version":     "there is one protocol version per gokafka release, as metadata.version replaced this key in KRaft",
	"log.message.format.version":        "batches are stored in the v2 format Kafka 3.0 clients write, as Kafka 4 does",
	"log.message.downconversion.enable": "Kafka 4 removed down-conversion with the old message formats, and so does gokafka",
	"delegation.token.master.key":       "gokafka serves no delegation tokens",
	"alter.config.policy.class.name":    "gokafka runs no Java policy classes",
	"create.topic.policy.class.name":    "gokafka runs no Java policy classes",
	"metric.reporters":                  "gokafka serves its metrics in Prometheus form on http.listener (/metrics)",
	"kafka.metrics.reporters":           "gokafka serves its metrics in Prometheus form on http.listener (/metrics)",
}

// Retired reports whether a ZooKeeper-mode Kafka knew key and gokafka does
// not use it, and what replaced it.
func Retired(key string) (string, bool) {
	if why, ok := retired[key]; ok {
		return why, true
	}
	if strings.HasPrefix(key, "zookeeper.") {
		return "gokafka's embedded Raft coordinator replaces ZooKeeper", true
	}
	return "", false
}
