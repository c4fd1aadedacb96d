package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gokafka/gokafka/test/harness"
)

// TestConsoleTenThousandPartitions: with 10,000 partitions (one topic of
// 5,000 and 100 of 50) each page of the server's own console stays one
// page: at most 50 topic rows or 100 partition rows, a body of bounded
// size. The times are logged, not asserted.
func TestConsoleTenThousandPartitions(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 10,000 partitions")
	}
	c := harness.StartT(t, 1)

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Nodes[0].KafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32((4 * time.Minute).Milliseconds())) // the broker opens 10,000 logs
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	if _, err := adm.CreateTopic(ctx, 5000, 1, nil, "wide"); err != nil {
		t.Fatal(err)
	}
	var many []string
	for i := range 100 {
		many = append(many, fmt.Sprintf("many-%03d", i))
	}
	if _, err := adm.CreateTopics(ctx, 50, 1, nil, many...); err != nil {
		t.Fatal(err)
	}
	t.Logf("10,000 partitions created in %v", time.Since(start).Round(time.Millisecond))

	base := "http://" + c.Nodes[0].HTTPAddr
	for _, tc := range []struct {
		path      string
		rowsOf    string // the table whose rows are counted
		wantRows  int
		wantInAll string
	}{
		{"/console/topics", `<table id="topics">`, 50, "page 1 of 3 (101 in all)"},
		{"/console/topics?page=3", `<table id="topics">`, 1, "page 3 of 3"},
		{"/console/topics?filter=many-09", `<table id="topics">`, 10, "10 in all"},
		{"/console/topic?name=wide", `<table id="partitions">`, 100, "page 1 of 50"},
		{"/console/topic?name=wide&page=50", `<table id="partitions">`, 100, "page 50 of 50"},
		{"/console/", `<table id="brokers">`, 1, `id="partition-count">10000<`},
	} {
		began := time.Now()
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(began)
		code, body := resp.StatusCode, string(raw)
		table, _, _ := strings.Cut(body[max(strings.Index(body, tc.rowsOf), 0):], "</table>")
		rows := strings.Count(table, "<tr") - 1 // the header row
		t.Logf("GET %s: %d, %d rows, %d bytes, %v", tc.path, code, rows, len(body), took.Round(time.Millisecond))
		if code != 200 || rows != tc.wantRows || !strings.Contains(body, tc.wantInAll) {
			t.Errorf("GET %s: %d with %d rows, want 200 with %d and %q", tc.path, code, rows, tc.wantRows, tc.wantInAll)
		}
		if len(body) > 256<<10 {
			t.Errorf("GET %s: %d bytes; a page should stay small", tc.path, len(body))
		}
	}
	// Closing 10,000 logs outlasts the harness's SIGTERM grace (20 s) on
	// a loaded two-core machine; shutdown is not what this test is about.
	c.Nodes[0].Kill()
}
