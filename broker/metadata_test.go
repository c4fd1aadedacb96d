package broker

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadataBody encodes a Metadata request of version naming n empty topics.
func metadataBody(version int16, n int) []byte {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = version
	req.Topics = make([]kmsg.MetadataRequestTopic, n)
	empty := ""
	for i := range req.Topics {
		req.Topics[i] = kmsg.NewMetadataRequestTopic()
		req.Topics[i].Topic = &empty
	}
	return req.AppendTo(nil)
}

func TestCheckMetadataTopicCount(t *testing.T) {
	huge := func(version int16) []byte { // a count over the bound, no entries
		if version >= 9 {
			return binary.AppendUvarint(nil, maxMetadataTopics+2)
		}
		return binary.BigEndian.AppendUint32(nil, maxMetadataTopics+1)
	}
	for _, version := range []int16{0, 8, 9, 12} {
		for _, tc := range []struct {
			name   string
			body   []byte
			refuse bool
		}{
			{"three topics", metadataBody(version, 3), false},
			{"null topics", metadataBody(version, 0)[:0], false},
			{"at the bound", metadataBody(version, maxMetadataTopics), false},
			{"over the bound", huge(version), true},
		} {
			if err := checkTopicCount("Metadata", version >= 9, tc.body); (err != nil) != tc.refuse {
				t.Errorf("v%d %s: %v, want refused %v", version, tc.name, err, tc.refuse)
			}
		}
	}
	if err := checkTopicCount("Metadata", false, binary.BigEndian.AppendUint32(nil, 0xffffffff)); err != nil {
		t.Errorf("null topics (-1) refused: %v", err)
	}
}

// FuzzMetadataTopicCount: the check never panics, and a request it lets
// through decodes to at most maxMetadataTopics topics.
func FuzzMetadataTopicCount(f *testing.F) {
	for _, v := range []int16{0, 4, 8, 9, 10, 12} {
		f.Add(v, metadataBody(v, 2))
	}
	f.Add(int16(9), binary.AppendUvarint(nil, 1<<63))
	f.Add(int16(3), []byte{0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, version int16, body []byte) {
		if version < 0 || version > 12 {
			return
		}
		if checkTopicCount("Metadata", version >= 9, body) != nil {
			return
		}
		req := kmsg.NewPtrMetadataRequest()
		req.Version = version
		if req.ReadFrom(body) == nil && len(req.Topics) > maxMetadataTopics {
			t.Fatalf("v%d: %d topics decoded past the check", version, len(req.Topics))
		}
	})
}
