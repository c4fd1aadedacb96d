package protocol

import "strings"

// Names Kafka reserves. Internal topics are written only by the broker's own
// coordinators; the metadata topic is the Raft log and never a partition.
const (
	ConsumerOffsetsTopic  = "__consumer_offsets"
	TransactionStateTopic = "__transaction_state"
	ClusterMetadataTopic  = "__cluster_metadata"
)

// maxTopicNameLength is Kafka's Topic.MAX_NAME_LENGTH: 249, so that
// "<name>-<partition>" and its ".deleted" suffix fit a 255-byte file name.
const maxTopicNameLength = 249

// ValidTopicName applies Kafka's Topic.validate, with its messages: 1–249 characters of
// [a-zA-Z0-9._-], and not "." or "..". A name that passes is safe as one
// path element. The error carries INVALID_TOPIC_EXCEPTION.
func ValidTopicName(name string) error {
	switch {
	case name == "":
		return Errorf(InvalidTopicException, "Topic name is invalid: the empty string is not allowed")
	case name == "." || name == "..":
		return Errorf(InvalidTopicException, "Topic name is invalid: '%s' is not allowed", name)
	case len(name) > maxTopicNameLength:
		return Errorf(InvalidTopicException, "Topic name is invalid: the length of '%s' is longer than the max allowed length %d", name, maxTopicNameLength)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return Errorf(InvalidTopicException,
				"Topic name is invalid: '%s' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'", name)
		}
	}
	return nil
}

// TopicNamesCollide is Kafka's Topic.hasCollision: '.' and '_' map to the
// same metric name, so two topics whose names differ only there cannot both
// exist. Equal names collide too.
func TopicNamesCollide(a, b string) bool { return TopicCollisionKey(a) == TopicCollisionKey(b) }

// TopicCollisionKey is Kafka's Topic.unifyCollisionChars: names that
// collide share it, so a map by it finds a colliding topic at once.
func TopicCollisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }

// IsInternalTopic is Kafka's Topic.isInternal: topics clients may read but
// never produce to, delete or truncate.
func IsInternalTopic(name string) bool {
	return name == ConsumerOffsetsTopic || name == TransactionStateTopic
}
