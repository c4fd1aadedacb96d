package group

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

// commitBatch is a __consumer_offsets batch committing offset of t-0 for g.
func commitBatch(offset int64) []byte {
	k := kmsg.NewOffsetCommitKey()
	k.Version, k.Group, k.Topic = 1, "g", "t"
	v := kmsg.NewOffsetCommitValue()
	v.Version, v.Offset = 3, offset
	return protocol.BuildBatch(1, []protocol.KV{{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}})
}

// replayBytes replays b as one stored batch, as loadGroups does.
func replayBytes(img *groupImage, b []byte) {
	h, batch, _, err := protocol.NextBatch(b)
	if err == nil {
		img.replay(batch, &h, time.Unix(1, 0), slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
}

// A batch that cannot be read is skipped; the commits around it still load.
func TestGroupReplaySkipsUnreadableBatches(t *testing.T) {
	img := newGroupImage()
	replayBytes(&img, commitBatch(5))
	for _, c := range prototest.HostileBatches() {
		replayBytes(&img, c.Batch)
	}
	garbage := protocol.BuildBatch(1, []protocol.KV{{Key: []byte{0, 1, 0xff}, Value: []byte{0xff}}})
	replayBytes(&img, garbage)
	replayBytes(&img, commitBatch(9))
	if co := img.Committed["g"][klog.TopicPartition{Topic: "t"}]; co.Offset != 9 {
		t.Errorf("committed offset %d after replay, want 9", co.Offset)
	}
}

// FuzzGroupReplay: replaying any stored bytes of __consumer_offsets never
// panics.
func FuzzGroupReplay(f *testing.F) {
	f.Add(commitBatch(5))
	f.Add(txnCommitBatch(7, 9, 0))
	f.Add(commitMarker(7))
	for _, c := range prototest.HostileBatches() {
		f.Add(c.Batch)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		img := newGroupImage()
		replayBytes(&img, b)
	})
}
