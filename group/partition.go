package group

import "unicode/utf16"

// PartitionFor is Kafka's placement of a group id or transactional id on
// a partition of its internal topic: abs(id.hashCode()) modulo the
// partition count, with Java's String.hashCode over UTF-16 units and the
// sign bit masked, as Kafka's Utils.abs does.
func PartitionFor(id string, partitions int32) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(id)) {
		h = 31*h + int32(u)
	}
	return (h & 0x7fffffff) % partitions
}
