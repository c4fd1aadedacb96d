package interop

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol/prototest"
	"github.com/gokafka/gokafka/test/harness"
)

// rawConn speaks the Kafka framing directly, so that tests can send what
// no well-behaved client would.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t *testing.T, c *harness.Cluster) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", c.Nodes[0].KafkaAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (rc *rawConn) write(b []byte) {
	rc.t.Helper()
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

func (rc *rawConn) send(req kmsg.Request, corr int32) {
	rc.write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, corr))
}

// readFrame returns one response frame's bytes after the size prefix.
func (rc *rawConn) readFrame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(rc.r, size[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(rc.r, buf)
	return buf, err
}

// recv reads the response to req and checks its correlation id.
func (rc *rawConn) recv(req kmsg.Request, corr int32) kmsg.Response {
	rc.t.Helper()
	frame, err := rc.readFrame()
	if err != nil {
		rc.t.Fatalf("reading response %d: %v", corr, err)
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != corr {
		rc.t.Fatalf("response correlation id %d, want %d", got, corr)
	}
	body := frame[4:]
	if req.IsFlexible() && req.Key() != 18 { // ApiVersions keeps header v0
		body = body[1:] // empty tag buffer
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body); err != nil {
		rc.t.Fatalf("decoding response %d: %v", corr, err)
	}
	return resp
}

// expectClosed checks that the server hung up on this connection.
func (rc *rawConn) expectClosed(why string) {
	rc.t.Helper()
	rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.readFrame(); err == nil || isTimeout(err) {
		rc.t.Fatalf("%s: connection still open (err %v), want it closed", why, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// alive checks that the server still answers a fresh connection.
func alive(t *testing.T, c *harness.Cluster) {
	t.Helper()
	rc := dialRaw(t, c)
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 0
	rc.send(req, 1)
	if resp := rc.recv(req, 1).(*kmsg.ApiVersionsResponse); resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("ApiVersions after bad input: code %d, %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
}

// TestMalformedInputCostsOnlyTheConnection sends oversized and garbage
// frames; each must close that connection and nothing else.
func TestMalformedInputCostsOnlyTheConnection(t *testing.T) {
	c := harness.StartT(t, 1)
	cases := map[string][]byte{
		"size above socket.request.max.bytes": {0x7f, 0xff, 0xff, 0xff},
		"negative size":                       {0xff, 0xff, 0xff, 0xfe},
		"garbage header":                      append([]byte{0, 0, 0, 12}, "not a header"...),
		"unknown api key":                     {0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff},
		"truncated produce body":              {0, 0, 0, 12, 0, 0, 0, 9, 0, 0, 0, 7, 0xff, 0xff, 0, 1},
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			rc := dialRaw(t, c)
			rc.write(payload)
			rc.expectClosed(name)
			alive(t, c)
		})
	}
}

// TestApiVersionsFallback asks for a version the broker lacks: Kafka
// answers in v0 with UNSUPPORTED_VERSION and its own ranges.
func TestApiVersionsFallback(t *testing.T) {
	c := harness.StartT(t, 1)
	rc := dialRaw(t, c)
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, 7)
	binary.BigEndian.PutUint16(frame[6:], 99) // request_api_version
	rc.write(frame)
	body, err := rc.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrApiVersionsResponse() // v0
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatalf("fallback answer is not ApiVersions v0: %v", err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("fallback: code %d, want %d", resp.ErrorCode, kerr.UnsupportedVersion.Code)
	}
	keys := map[int16]bool{}
	for _, k := range resp.ApiKeys {
		keys[k.ApiKey] = true
	}
	for _, k := range []int16{0, 1, 2, 3, 18} { // Produce, Fetch, ListOffsets, Metadata, ApiVersions
		if !keys[k] {
			t.Fatalf("fallback answer lacks api key %d: %+v", k, resp.ApiKeys)
		}
	}
}

// TestProduceErrors checks the codes for a corrupt batch, a missing topic
// and an out-of-range fetch, on one connection that stays usable.
func TestProduceErrors(t *testing.T) {
	c := harness.StartT(t, 1, "auto.create.topics.enable=false")
	createTopic(t, c, "errs", 1, nil)
	createTopic(t, c, "small", 1, map[string]*string{"max.message.bytes": kadm.StringPtr("200")})
	rc := dialRaw(t, c)

	produceTo := func(topic string, partition int32, batch []byte) int16 {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 9, -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = partition, batch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		rc.send(req, 2)
		return rc.recv(req, 2).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
	}
	produce := func(topic string, batch []byte) int16 { return produceTo(topic, 0, batch) }
	good := prototest.Plain(time.Now().UnixMilli(), "a", "b").Encode()
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 0xff
	if code := produce("errs", bad); code != kerr.CorruptMessage.Code {
		t.Fatalf("bad CRC: code %d, want %d", code, kerr.CorruptMessage.Code)
	}
	if code := produce("missing", good); code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("missing topic: code %d, want %d", code, kerr.UnknownTopicOrPartition.Code)
	}
	if code := produceTo("errs", 5, good); code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("missing partition: code %d, want %d", code, kerr.UnknownTopicOrPartition.Code)
	}
	big := prototest.Plain(time.Now().UnixMilli(), strings.Repeat("x", 300)).Encode()
	if code := produce("small", big); code != kerr.MessageTooLarge.Code {
		t.Fatalf("batch above max.message.bytes: code %d, want %d", code, kerr.MessageTooLarge.Code)
	}
	if code := produce("errs", good); code != 0 {
		t.Fatalf("good batch after bad ones: code %d", code)
	}

	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version, fetch.ReplicaID, fetch.MaxBytes, fetch.SessionEpoch = 11, -1, 1<<20, -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "errs"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 1000, 1<<20, -1
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	rc.send(fetch, 3)
	p := rc.recv(fetch, 3).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	// Kafka answers a consumer's error with unknown watermarks (-1).
	if p.ErrorCode != kerr.OffsetOutOfRange.Code || p.HighWatermark != -1 || p.LogStartOffset != -1 {
		t.Fatalf("fetch beyond the end: code %d hw %d log start %d, want %d and -1, -1",
			p.ErrorCode, p.HighWatermark, p.LogStartOffset, kerr.OffsetOutOfRange.Code)
	}
}

// TestPipelinedRequestsAnsweredInOrder writes many requests before reading
// any answer, mixing a slow one (a parked fetch) with fast ones.
func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "pipe", 1, nil)
	rc := dialRaw(t, c)
	var reqs []kmsg.Request
	for i := range 60 {
		var req kmsg.Request
		switch i % 3 {
		case 0:
			req = kmsg.NewPtrApiVersionsRequest()
		case 1:
			md := kmsg.NewPtrMetadataRequest()
			md.Version = 12
			req = md
		case 2:
			f := kmsg.NewPtrFetchRequest() // parks for MaxWait on the empty topic
			f.Version, f.ReplicaID, f.MaxWaitMillis, f.MinBytes, f.MaxBytes, f.SessionEpoch = 12, -1, 50, 1, 1<<20, -1
			ft := kmsg.NewFetchRequestTopic()
			ft.Topic = "pipe"
			fp := kmsg.NewFetchRequestTopicPartition()
			fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 1<<20, -1
			ft.Partitions = append(ft.Partitions, fp)
			f.Topics = append(f.Topics, ft)
			req = f
		}
		reqs = append(reqs, req)
		rc.send(req, int32(100+i))
	}
	for i, req := range reqs {
		resp := rc.recv(req, int32(100+i)) // fails on an out-of-order correlation id
		if f, ok := resp.(*kmsg.FetchResponse); ok && f.Topics[0].Partitions[0].RecordBatches == nil {
			// librdkafka refuses a null record set ("invalid MessageSetSize -1").
			t.Fatal("empty fetch answered with a null record set, want an empty one")
		}
	}
}

// TestIdempotentSequences replays a batch and skips a sequence number on
// the wire: the replay is acknowledged with its first offset and not
// appended again; the gap gets OUT_OF_ORDER_SEQUENCE_NUMBER.
func TestIdempotentSequences(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "idem", 1, nil)
	rc := dialRaw(t, c)
	init := kmsg.NewPtrInitProducerIDRequest()
	init.Version, init.TransactionTimeoutMillis = 4, 60000
	rc.send(init, 1)
	ir := rc.recv(init, 1).(*kmsg.InitProducerIDResponse)
	if ir.ErrorCode != 0 || ir.ProducerID < 0 || ir.ProducerEpoch != 0 {
		t.Fatalf("InitProducerId: code %d id %d epoch %d", ir.ErrorCode, ir.ProducerID, ir.ProducerEpoch)
	}
	produce := func(corr int32, seq int32, values ...string) kmsg.ProduceResponseTopicPartition {
		b := prototest.Plain(time.Now().UnixMilli(), values...)
		b.ProducerID, b.ProducerEpoch, b.BaseSequence = ir.ProducerID, ir.ProducerEpoch, seq
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 9, -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "idem"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = b.Encode()
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		rc.send(req, corr)
		return rc.recv(req, corr).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
	}
	if p := produce(2, 0, "a", "b"); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("first batch: code %d offset %d", p.ErrorCode, p.BaseOffset)
	}
	if p := produce(3, 2, "c"); p.ErrorCode != 0 || p.BaseOffset != 2 {
		t.Fatalf("second batch: code %d offset %d", p.ErrorCode, p.BaseOffset)
	}
	if p := produce(4, 0, "a", "b"); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("replayed batch: code %d offset %d, want 0 and its original offset 0", p.ErrorCode, p.BaseOffset)
	}
	if p := produce(5, 7, "gap"); p.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("sequence gap: code %d, want %d", p.ErrorCode, kerr.OutOfOrderSequenceNumber.Code)
	}
	checkValues(t, consumeN(t, c, "idem", 3), []string{"a", "b", "c"})
}

// TestFindCoordinatorAnswersThisBroker checks that group and transaction
// coordinator lookups name this node until the group protocol lands.
func TestFindCoordinatorAnswersThisBroker(t *testing.T) {
	c := harness.StartT(t, 1)
	adm := kadm.NewClient(client(t, c))
	res := adm.FindGroupCoordinators(testCtx(t), "g1", "g2")
	for _, g := range []string{"g1", "g2"} {
		r := res[g]
		if r.Err != nil || r.NodeID != 1 || r.Host+":"+fmt.Sprint(r.Port) != c.Nodes[0].KafkaAddr {
			t.Fatalf("coordinator of %s: %+v", g, r)
		}
	}
}
