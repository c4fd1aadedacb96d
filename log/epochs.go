package log

import "sort"

// epochEntry says that leader epoch Epoch wrote its first record at
// StartOffset. Kafka's leader-epoch-checkpoint file lists these.
type epochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache is the partition's leader-epoch history, used to find where a
// follower's log diverges from the leader's (OffsetForLeaderEpoch).
type epochCache struct {
	entries []epochEntry
}

// assign notes that epoch wrote at offset, if it is a new epoch.
func (c *epochCache) assign(epoch int32, offset int64) bool {
	if epoch < 0 {
		return false
	}
	if n := len(c.entries); n > 0 && c.entries[n-1].Epoch >= epoch {
		return false
	}
	c.entries = append(c.entries, epochEntry{Epoch: epoch, StartOffset: offset})
	return true
}

// truncateFromEnd forgets epochs that start at or past offset.
func (c *epochCache) truncateFromEnd(offset int64) bool {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset >= offset })
	changed := i < len(c.entries)
	c.entries = c.entries[:i]
	return changed
}

// endOffsetFor answers OffsetForLeaderEpoch: the largest epoch at or below
// epoch and the offset where it ended (logEnd for the latest epoch).
// (-1, -1) means the epoch is older than anything we know.
func (c *epochCache) endOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].Epoch > epoch })
	switch {
	case i == 0:
		return -1, -1
	case i == len(c.entries):
		return c.entries[i-1].Epoch, logEnd
	}
	return c.entries[i-1].Epoch, c.entries[i].StartOffset
}

func (c *epochCache) latest() int32 {
	if len(c.entries) == 0 {
		return -1
	}
	return c.entries[len(c.entries)-1].Epoch
}
