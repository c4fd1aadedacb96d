package hostile

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestMetadataTopicCountBound sends Metadata requests naming the empty
// topic over and over. Each entry is 2 bytes on the wire and a 48-byte
// struct once decoded, so 4M of them (8 MiB) cost ~200 MiB before the
// broker answered one topic. Now a request naming more than 1<<20 topics
// closes the connection before it is decoded; one at the bound is
// answered.
func TestMetadataTopicCountBound(t *testing.T) {
	tg := newTarget(t, 1)
	nd := tg.c.Nodes[0]
	empty := func(int) string { return "" }

	before := rss(t, nd)
	nc := dial(t, nd.KafkaAddr)
	if _, err := nc.Write(metadataRequest(4<<20, empty)); err != nil {
		t.Fatal(err)
	}
	closed := closedByPeer(nc, 30*time.Second)
	grew := rss(t, nd) - before
	t.Logf("8 MiB Metadata request naming 4M topics: closed %v, RSS grew %d MiB", closed, grew>>20)
	if !closed {
		t.Fatal("a Metadata request naming 4M topics was not refused")
	}
	if grew > 32<<20 {
		t.Fatalf("RSS grew %d MiB over a refused request", grew>>20)
	}

	before = rss(t, nd)
	nc = dial(t, nd.KafkaAddr)
	nc.SetDeadline(time.Now().Add(time.Minute))
	if _, err := nc.Write(metadataRequest(1<<20, empty)); err != nil {
		t.Fatal(err)
	}
	body, err := readResponse(nc)
	if err != nil {
		t.Fatalf("a Metadata request at the bound was not answered: %v", err)
	}
	t.Logf("2 MiB Metadata request naming 1M topics: RSS grew %d MiB", (rss(t, nd)-before)>>20)
	resp := kmsg.NewPtrMetadataResponse()
	resp.SetVersion(8)
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 17 { // INVALID_TOPIC_EXCEPTION
		t.Fatalf("answer: %d topics (%+v), want the empty name once, INVALID_TOPIC_EXCEPTION", len(resp.Topics), resp.Topics)
	}
	tg.check()
}
