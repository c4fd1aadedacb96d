package group

import "testing"

// Placements as Java's String.hashCode computes them, so that a client or
// an operator finds a group where Kafka would put it; the emoji is a
// surrogate pair, counted as two UTF-16 units.
func TestPartitionForMatchesJava(t *testing.T) {
	for _, c := range []struct {
		id   string
		n    int32
		want int32
	}{
		{"", 50, 0},
		{"a", 50, 47},                 // hashCode 97
		{"group", 50, 47},             // 98629247
		{"my-group", 50, 36},          // -1906497762
		{"polygenelubricants", 50, 0}, // Integer.MIN_VALUE
		{"é€", 7, 5},                  // 15587
		{"😀", 50, 49},                 // 1772899
	} {
		if got := PartitionFor(c.id, c.n); got != c.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d", c.id, c.n, got, c.want)
		}
	}
}
