package hostile

// The controller listener (CONTROLLER port, connection type 0x02): frames
// that used to panic the node, frames that claim more than they send,
// garbage, and topic names that would leave log.dirs or take the Raft
// store's name. Authentication of this port is the security issue's;
// these probes only show that parsing it is safe.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const connController = 0x02 // first byte of a controller-RPC connection

// ctrlRequest frames req as a forwarding node does: size, request header
// v2 (every controller version is flexible), body.
func ctrlRequest(req kmsg.Request) []byte {
	b := make([]byte, 4, 64)
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint16(b, 0xffff) // null client id
	b = append(b, 0)                             // no tagged fields
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// ctrlAnswer reads one controller response: the whole-operation error code
// from the header's tagged field 1 (0 when absent) and the body.
func ctrlAnswer(t *testing.T, nc net.Conn) (int16, []byte) {
	t.Helper()
	frame, err := readResponse(nc) // frame after the correlation id
	if err != nil {
		t.Fatalf("no answer from the controller: %v", err)
	}
	var code int16
	n, w := binary.Uvarint(frame)
	frame = frame[w:]
	for range n {
		tag, w1 := binary.Uvarint(frame)
		size, w2 := binary.Uvarint(frame[w1:])
		v := frame[w1+w2 : w1+w2+int(size)]
		frame = frame[w1+w2+int(size):]
		if tag == 1 {
			code = int16(binary.BigEndian.Uint16(v))
		}
	}
	return code, frame
}

func dialController(t *testing.T, tg *target) net.Conn {
	t.Helper()
	nc := dial(t, tg.c.Nodes[0].CtrlAddr)
	if _, err := nc.Write([]byte{connController}); err != nil {
		t.Fatal(err)
	}
	return nc
}

// The 27- and 22-byte frames that panicked the node, and garbage after a
// plausible size, get an error answer; garbage sizes close the connection.
func TestControllerCrashFrames(t *testing.T) {
	tg := newTarget(t, 1)
	for _, op := range []string{`{"Op":"alter_configs"}`, `{"Op":"register"}`} {
		nc := dialController(t, tg)
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(op)))
		nc.Write(append(frame, op...))
		if code, _ := ctrlAnswer(t, nc); code != 35 { // UNSUPPORTED_VERSION
			t.Errorf("%s: code %d, want 35 (UNSUPPORTED_VERSION)", op, code)
		}
	}
	// Missing fields in a well-formed message: an error, not a crash.
	nc := dialController(t, tg)
	for _, req := range []kmsg.Request{
		&kmsg.BrokerRegistrationRequest{BrokerID: -1},
		&kmsg.AlterConfigsRequest{Version: 2},
		&kmsg.AlterPartitionRequest{Version: 1},
	} {
		nc.Write(ctrlRequest(req))
		if code, _ := ctrlAnswer(t, nc); code != 42 { // INVALID_REQUEST
			t.Errorf("%s without its fields: code %d, want 42 (INVALID_REQUEST)", kmsg.NameForKey(req.Key()), code)
		}
	}
	for i := range 20 {
		garbage := make([]byte, 4096)
		rand.Read(garbage)
		if i%2 == 0 { // a plausible size, so that the header is read
			binary.BigEndian.PutUint32(garbage, uint32(len(garbage)-4))
		}
		nc := dialController(t, tg)
		nc.Write(garbage)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		var size [4]byte
		if _, err := io.ReadFull(nc, size[:]); err == nil && i%2 == 1 {
			t.Errorf("garbage %d with a random size got an answer", i)
		}
	}
	tg.check()
}

// A size past the controller's 8 MiB frame bound closes the connection at
// once; 20 connections announcing 8 MiB each and sending nothing cost no
// memory until bytes arrive.
func TestControllerAnnouncedFrames(t *testing.T) {
	tg := newTarget(t, 1)
	for _, size := range []uint32{1<<31 - 1, 8<<20 + 1} {
		nc := dialController(t, tg)
		nc.Write(binary.BigEndian.AppendUint32(nil, size))
		nc.(*net.TCPConn).CloseWrite()
		if !closedByPeer(nc, 5*time.Second) {
			t.Errorf("a frame of %d bytes did not close the connection", size)
		}
	}
	nd := tg.c.Nodes[0]
	before := heapAlloc(t, nd)
	var held []net.Conn
	for range 20 {
		nc := dialController(t, tg)
		nc.Write(binary.BigEndian.AppendUint32(nil, 8<<20))
		held = append(held, nc)
	}
	time.Sleep(time.Second) // let each connection's reader book what it would
	grew := heapAlloc(t, nd) - before
	t.Logf("20 controller connections announcing 8 MiB and sending nothing: heap grew %d KiB", grew>>10)
	if grew > 16<<20 {
		t.Errorf("heap grew %d MiB for frames of which no byte arrived", grew>>20)
	}
	for i, nc := range held {
		if closedByPeer(nc, 50*time.Millisecond) {
			t.Errorf("connection %d announcing 8 MiB was closed before its bytes could arrive", i)
		}
	}
	tg.check() // and RSS grew by less than 256 MiB with the 20 connections open
}

// Topic names from the controller port are checked as Kafka checks them:
// nothing escapes log.dirs (tg.check) and the Raft store's name is refused.
func TestControllerTopicNames(t *testing.T) {
	tg := newTarget(t, 1)
	nc := dialController(t, tg)
	for _, tc := range []struct {
		name string
		code int16
	}{
		{"../../escaped", 17},      // INVALID_TOPIC_EXCEPTION
		{"__cluster_metadata", 42}, // INVALID_REQUEST, as Kafka refuses it
		{"..", 17},
	} {
		nc.Write(ctrlRequest(&kmsg.CreateTopicsRequest{Version: 7,
			Topics: []kmsg.CreateTopicsRequestTopic{{Topic: tc.name, NumPartitions: 1, ReplicationFactor: 1}}}))
		code, body := ctrlAnswer(t, nc)
		resp := kmsg.CreateTopicsResponse{Version: 7}
		if err := resp.ReadFrom(body); code != 0 || err != nil || len(resp.Topics) != 1 {
			t.Fatalf("create %q: code %d, %v, %d topics", tc.name, code, err, len(resp.Topics))
		}
		if got := resp.Topics[0].ErrorCode; got != tc.code {
			t.Errorf("create %q: code %d, want %d", tc.name, got, tc.code)
		}
	}
	nc.Write(ctrlRequest(&kmsg.DeleteTopicsRequest{Version: 6, Topics: []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("../../escaped")}}}))
	code, body := ctrlAnswer(t, nc)
	resp := kmsg.DeleteTopicsResponse{Version: 6}
	if err := resp.ReadFrom(body); code != 0 || err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 17 {
		t.Errorf("delete ../../escaped: code %d, %v, %+v", code, err, resp.Topics)
	}
	tg.check()
}

// connections.max.idle.ms holds on the controller port too: a controller
// connection that sends nothing is closed, and the brokers' forwarders,
// whose connections idle out alike, dial again when next needed.
func TestControllerIdleConnection(t *testing.T) {
	tg := newTarget(t, 3, "connections.max.idle.ms=1000")
	nc := dialController(t, tg)
	start := time.Now()
	if !closedByPeer(nc, 10*time.Second) {
		t.Fatal("an idle controller connection stayed open past connections.max.idle.ms=1000")
	}
	t.Logf("idle controller connection closed after %v", time.Since(start).Round(time.Millisecond))
	time.Sleep(1500 * time.Millisecond) // every forwarder's connection idles out too
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, nd := range tg.c.Nodes {
		cl, err := kgo.NewClient(kgo.SeedBrokers(nd.KafkaAddr))
		if err != nil {
			t.Fatal(err)
		}
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = fmt.Sprintf("after-idle-%d", nd.ID), 1, 3
		req.Topics = append(req.Topics, rt)
		// Metadata names the answering broker as the controller, so kgo
		// sends this to nd, which forwards it unless it is the controller.
		resp, err := req.RequestWith(ctx, cl)
		cl.Close()
		if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
			t.Fatalf("create through node %d after the idle timeout: %v %+v", nd.ID, err, resp)
		}
	}
	tg.check()
}
