package hostile

// Memory and descriptor bounds on the Kafka listener: frames, queued
// request bytes, connection limits, idle connections, fetch sizes, parked
// fetches, Metadata fan-out and running out of file descriptors.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/test/harness"
)

// request encodes req as a frame with header v1 (the versions used here
// are not flexible) and correlation id corr.
func request(req kmsg.Request, corr int32) []byte {
	b := make([]byte, 4, 64)
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 0xffff) // null client id
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// roundTrip sends req on nc and decodes the answer into resp.
func roundTrip(t *testing.T, nc net.Conn, req kmsg.Request, resp kmsg.Response) {
	t.Helper()
	if _, err := nc.Write(request(req, 1)); err != nil {
		t.Fatalf("sending %s: %v", kmsg.NameForKey(req.Key()), err)
	}
	body, err := readResponse(nc)
	if err != nil {
		t.Fatalf("reading the %s answer: %v", kmsg.NameForKey(req.Key()), err)
	}
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decoding the %s answer: %v", kmsg.NameForKey(req.Key()), err)
	}
}

// readResponse reads one response frame and returns its body after the
// correlation id.
func readResponse(nc net.Conn) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(nc, b); err != nil {
		return nil, err
	}
	return b[4:], nil
}

func apiVersions() kmsg.Request { return kmsg.NewPtrApiVersionsRequest() }

// answers reports whether the node answers an ApiVersions on nc within d.
func answers(nc net.Conn, d time.Duration) bool {
	nc.SetDeadline(time.Now().Add(d))
	defer nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write(request(apiVersions(), 1)); err != nil {
		return false
	}
	_, err := readResponse(nc)
	return err == nil
}

// closedByPeer reports whether the node closed nc: a read ends in EOF or a
// reset within d rather than a timeout.
func closedByPeer(nc net.Conn, d time.Duration) bool {
	nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func rss(t *testing.T, nd *harness.Node) int64 {
	t.Helper()
	n, err := harness.RSS(nd.Pid())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// heapAlloc is the node's allocated heap: unlike RSS it counts a buffer
// allocated at a claimed size whose pages were never touched.
func heapAlloc(t *testing.T, nd *harness.Node) int64 {
	return int64(harness.Metric(t, nd, "go_memstats_heap_alloc_bytes"))
}

// TestBoundsAnnouncedFrames opens 20 connections that each announce a
// 100 MiB frame (the default socket.request.max.bytes) and send 2 MiB of
// it: the node allocates for what arrives, not for what is announced.
func TestBoundsAnnouncedFrames(t *testing.T) {
	tg := newTarget(t, 1)
	nd := tg.c.Nodes[0]
	before := heapAlloc(t, nd)
	chunk := make([]byte, 2<<20)
	for range 20 {
		nc := dial(t, nd.KafkaAddr)
		if _, err := nc.Write(binary.BigEndian.AppendUint32(nil, 100<<20)); err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // let the node read what was sent
	grew := heapAlloc(t, nd) - before
	t.Logf("20 connections announcing 100 MiB and sending 2 MiB each: heap grew %d MiB", grew>>20)
	if grew > 128<<20 {
		t.Errorf("heap grew %d MiB with 40 MiB sent", grew>>20)
	}
	if !answers(dial(t, nd.KafkaAddr), 10*time.Second) {
		t.Error("a new connection got no answer while the partial frames were open")
	}
	tg.check()
}

// TestBoundsQueuedRequestBytes: with queued.max.request.bytes spent by a
// frame still arriving, other requests wait to be read, and are answered
// once it is gone.
func TestBoundsQueuedRequestBytes(t *testing.T) {
	tg := newTarget(t, 1, "queued.max.request.bytes=1048576")
	nd := tg.c.Nodes[0]
	hog := dial(t, nd.KafkaAddr)
	hog.Write(binary.BigEndian.AppendUint32(nil, 50<<20))
	hog.Write(make([]byte, 1<<20))
	time.Sleep(200 * time.Millisecond)
	nc := dial(t, nd.KafkaAddr)
	if answers(nc, 2*time.Second) {
		t.Fatal("a request was read while queued.max.request.bytes was spent")
	}
	hog.Close()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readResponse(nc); err != nil {
		t.Fatalf("the waiting request was not answered once the budget came back: %v", err)
	}
	tg.check()
}

// TestBoundsFrameTooLarge: a frame over socket.request.max.bytes closes the
// connection before its body is read, as Kafka does.
func TestBoundsFrameTooLarge(t *testing.T) {
	tg := newTarget(t, 1, "socket.request.max.bytes=1048576")
	nc := dial(t, tg.c.Nodes[0].KafkaAddr)
	if _, err := nc.Write(binary.BigEndian.AppendUint32(nil, 1048577)); err != nil {
		t.Fatal(err)
	}
	if !closedByPeer(nc, 10*time.Second) {
		t.Fatal("a frame over socket.request.max.bytes left the connection open")
	}
	tg.check()
}

// metadataRequest is a Metadata v8 request naming n topics, name(i) each,
// encoded by hand: kmsg would take a while over millions of topics.
func metadataRequest(n int, name func(i int) string) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 4), uint32(kmsg.Metadata)<<16|8)
	b = binary.BigEndian.AppendUint32(b, 1)      // correlation id
	b = binary.BigEndian.AppendUint16(b, 0xffff) // null client id
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	for i := range n {
		s := name(i)
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = append(b, 0, 0, 0) // no auto-creation, no authorized operations
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// TestBoundsMetadataManyTopics sends Metadata requests naming up to a
// million nonexistent topics (the bound per request; past it the request
// is refused undecoded, TestMetadataTopicCountBound): one empty name over
// and over (answered once, as Kafka answers a set), and distinct names.
// The cost is in proportion to what the answer carries.
func TestBoundsMetadataManyTopics(t *testing.T) {
	cases := []struct {
		name    string
		n       int
		topic   func(i int) string
		answers int // topics in the answer
	}{
		{"one empty name 1M times", 1 << 20, func(int) string { return "" }, 1},
		// Each distinct name costs its request entry, its answer entry and
		// its encoded answer (~30 bytes of memory per request byte), so
		// this case is 4 MiB to stay within maxRSSGrowth.
		{"distinct names", (4 << 20) / 8, func(i int) string { return fmt.Sprintf("%06x", i) }, (4 << 20) / 8},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTarget(t, 1) // each case on a fresh node: Go keeps freed memory a while
			nd := tg.c.Nodes[0]
			before := rss(t, nd)
			nc := dial(t, nd.KafkaAddr)
			nc.SetDeadline(time.Now().Add(2 * time.Minute))
			frame := metadataRequest(tt.n, tt.topic)
			if _, err := nc.Write(frame); err != nil {
				t.Fatal(err)
			}
			body, err := readResponse(nc)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			grew := rss(t, nd) - before
			t.Logf("%d MiB Metadata request, %s: RSS grew %d MiB, answer %d KiB", len(frame)>>20, tt.name, grew>>20, len(body)>>10)
			resp := kmsg.NewPtrMetadataResponse()
			resp.SetVersion(8)
			if err := resp.ReadFrom(body); err != nil {
				t.Fatal(err)
			}
			if len(resp.Topics) != tt.answers {
				t.Fatalf("answer lists %d topics, want %d", len(resp.Topics), tt.answers)
			}
			tg.check()
		})
	}
}

// produceBig appends n records of size bytes to topic, each its own batch.
func produceBig(t *testing.T, tg *target, topic string, n, size int) {
	t.Helper()
	cl := tg.client(kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(int32(size+1024)), kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	value := make([]byte, size)
	rand.Read(value)
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: value}).FirstErr(); err != nil {
			t.Fatalf("producing record %d: %v", i, err)
		}
	}
}

func fetchRequest(topic string, maxBytes, partitionMaxBytes, minBytes, maxWaitMs int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(11)
	req.ReplicaID = -1
	req.MaxBytes, req.MinBytes, req.MaxWaitMillis = maxBytes, minBytes, maxWaitMs
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = partitionMaxBytes, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// TestBoundsFetchMaxBytes: a fetch asking for 2 GiB gets at most
// fetch.max.bytes, and the first batch whole even when it is larger.
func TestBoundsFetchMaxBytes(t *testing.T) {
	tg := newTarget(t, 1, "fetch.max.bytes=1048576")
	produceBig(t, tg, "big", 40, 100<<10) // 4 MiB in 100 KiB batches
	nc := dial(t, tg.c.Nodes[0].KafkaAddr)
	resp := kmsg.NewPtrFetchResponse()
	roundTrip(t, nc, fetchRequest("big", 1<<31-1, 1<<31-1, 1, 500), resp)
	got := len(resp.Topics[0].Partitions[0].RecordBatches)
	t.Logf("fetch with max_bytes 2 GiB over 4 MiB, fetch.max.bytes 1 MiB: %d bytes", got)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 || got == 0 || got > 1<<20 {
		t.Fatalf("fetch answered %d bytes (error %d), want 1..1048576", got, code)
	}
	resp = kmsg.NewPtrFetchResponse()
	roundTrip(t, nc, fetchRequest("big", 1000, 1000, 1, 500), resp)
	if got := len(resp.Topics[0].Partitions[0].RecordBatches); got < 100<<10 {
		t.Fatalf("fetch with max_bytes 1000 answered %d bytes, want the whole first batch", got)
	}
	// 64 pipelined fetches from a client that reads nothing: the node holds
	// one response's records at a time per connection, not 64.
	nd := tg.c.Nodes[0]
	before := heapAlloc(t, nd)
	slow := dial(t, nd.KafkaAddr)
	var pipelined []byte
	for i := range 64 {
		pipelined = append(pipelined, request(fetchRequest("big", 1<<31-1, 1<<31-1, 1, 500), int32(i))...)
	}
	if _, err := slow.Write(pipelined); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	grew := heapAlloc(t, nd) - before
	t.Logf("64 pipelined 1 MiB fetches, none read: heap grew %d MiB", grew>>20)
	if grew > 32<<20 {
		t.Errorf("heap grew %d MiB for a client that pipelines fetches and reads nothing", grew>>20)
	}
	slow.Close()
	tg.check()
}

// TestBoundsParkedFetchesVanish parks fetches that wait for more than will
// ever come, then drops their connections: the node forgets them at once,
// and appends do not read for them.
func TestBoundsParkedFetchesVanish(t *testing.T) {
	tg := newTarget(t, 1)
	nd := tg.c.Nodes[0]
	var conns []net.Conn
	for range 50 {
		nc := dial(t, nd.KafkaAddr)
		if _, err := nc.Write(request(fetchRequest("witness", 50<<20, 50<<20, 50<<20, 600000), 1)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
	}
	parked := func() float64 {
		return harness.Metric(t, nd, "gokafka_server_delayedoperationpurgatory_purgatorysize", `delayedoperation="Fetch"`)
	}
	harness.WaitFor(t, "50 parked fetches", 10*time.Second, func() bool { return parked() == 50 })
	for _, nc := range conns {
		nc.Close()
	}
	harness.WaitFor(t, "parked fetches dropped with their connections", 10*time.Second, func() bool { return parked() == 0 })
	tg.check()
}

// TestBoundsConnectionsPerIP: with max.connections.per.ip=5 the sixth
// connection from one address is closed as it is accepted.
func TestBoundsConnectionsPerIP(t *testing.T) {
	tg := newTarget(t, 1, "max.connections.per.ip=5")
	nd := tg.c.Nodes[0]
	harness.WaitFor(t, "the setup's clients to disconnect", 10*time.Second, func() bool {
		n, _, err := nd.Metric("gokafka_server_socket_server_metrics_connection_count")
		return err == nil && n == 0
	})
	var conns []net.Conn
	for i := range 5 {
		nc := dial(t, nd.KafkaAddr)
		if !answers(nc, 10*time.Second) {
			t.Fatalf("connection %d of 5 was refused", i+1)
		}
		conns = append(conns, nc)
	}
	sixth := dial(t, nd.KafkaAddr)
	if !closedByPeer(sixth, 10*time.Second) {
		t.Fatal("a sixth connection from one address was kept")
	}
	for _, nc := range conns {
		nc.Close()
	}
	tg.check()
}

// TestBoundsIdleConnection: connections.max.idle.ms closes a connection
// that sends nothing, but not one waiting for a parked fetch.
func TestBoundsIdleConnection(t *testing.T) {
	tg := newTarget(t, 1, "connections.max.idle.ms=1000")
	nd := tg.c.Nodes[0]
	idle := dial(t, nd.KafkaAddr)
	if !answers(idle, 5*time.Second) {
		t.Fatal("no answer")
	}
	waiting := dial(t, nd.KafkaAddr)
	if _, err := waiting.Write(request(fetchRequest("witness", 1<<20, 1<<20, 1<<20, 3000), 1)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !closedByPeer(idle, 10*time.Second) {
		t.Fatal("an idle connection was kept past connections.max.idle.ms")
	}
	t.Logf("idle connection closed after %v", time.Since(start).Round(100*time.Millisecond))
	waiting.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readResponse(waiting); err != nil {
		t.Fatalf("a connection waiting 3 s for its fetch was closed as idle: %v", err)
	}
	tg.check()
}

// TestBoundsAcceptOutOfDescriptors lowers the node's RLIMIT_NOFILE with
// prlimit(1) and opens connections until accept fails: /readyz says 503
// and why; once the connections close the node accepts again by itself
// and /readyz is 200.
func TestBoundsAcceptOutOfDescriptors(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit(1) from util-linux is not installed")
	}
	tg := newTarget(t, 1)
	nd := tg.c.Nodes[0]
	// /readyz over one kept-alive connection, opened before descriptors
	// run out: a new HTTP connection could not be accepted either.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	readyz := func() (int, string) {
		resp, err := hc.Get("http://" + nd.HTTPAddr + "/readyz")
		if err != nil {
			t.Fatalf("/readyz: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	if code, body := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz before the probe: %d %s", code, body)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", nd.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	limit := len(fds) + 30
	out, err := exec.Command("prlimit", "--pid", strconv.Itoa(nd.Pid()), fmt.Sprintf("--nofile=%d:%d", limit, limit)).CombinedOutput()
	if err != nil {
		t.Fatalf("prlimit: %v: %s", err, out)
	}
	var conns []net.Conn
	for len(conns) < 200 {
		nc := dial(t, nd.KafkaAddr)
		conns = append(conns, nc)
		if !answers(nc, 2*time.Second) {
			break // accepted by the kernel, not by the node: out of descriptors
		}
	}
	if len(conns) == 200 {
		t.Fatalf("accept never failed with RLIMIT_NOFILE %d", limit)
	}
	t.Logf("accept failed after %d connections with RLIMIT_NOFILE %d", len(conns)-1, limit)
	code, body := readyz()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "accept") {
		t.Fatalf("/readyz while accept fails: %d %q, want 503 naming the failing accept", code, body)
	}
	t.Logf("/readyz: %d %s", code, body)
	last := conns[len(conns)-1]
	for _, nc := range conns[:len(conns)-1] {
		nc.Close()
	}
	last.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readResponse(last); err != nil {
		t.Fatalf("the connection waiting in the backlog was not served once descriptors freed: %v", err)
	}
	harness.WaitFor(t, "/readyz 200 again", 10*time.Second, func() bool { code, _ := readyz(); return code == http.StatusOK })
	last.Close()
	hc.CloseIdleConnections()
	tg.check()
}
