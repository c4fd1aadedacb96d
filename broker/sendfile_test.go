package broker

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
	"github.com/gokafka/gokafka/protocol"
	"github.com/gokafka/gokafka/protocol/prototest"
)

// sliceResponse is a fetch response of two partitions of one topic whose
// records are slices of a real log, attached as handleFetch attaches
// them, and the bytes each slice holds.
func sliceResponse(t *testing.T, version int16) (*response, [][]byte) {
	lc := klog.DefaultManagerConfig()
	lc.Dirs = []string{t.TempDir()}
	b := newTestBroker(t, 1, lc)
	out := kmsg.NewPtrFetchResponse()
	out.Topics = []kmsg.FetchResponseTopic{kmsg.NewFetchResponseTopic()}
	out.Topics[0].Topic = "t"
	var targets []*fetchTarget
	var want [][]byte
	for i := range int32(3) {
		l, err := b.logs.GetOrCreate(klog.TopicPartition{Topic: "t", Partition: i}, [16]byte{1}, lc.Defaults)
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for j := range int(i) * 40 { // partition 0 stays empty: inline, not a slice
			if _, err := l.Append(prototest.Plain(int64(j), strings.Repeat("s", 200+j)).Encode(), klog.AppendOptions{AssignOffsets: true}); err != nil {
				t.Fatal(err)
			}
		}
		sl, err := l.ReadSlice(0, 1<<20, l.LogEndOffset(), true)
		if err != nil {
			t.Fatal(err)
		}
		if sl.Len > 0 {
			if all, err = sl.ReadBytes(); err != nil {
				t.Fatal(err)
			}
		}
		op := kmsg.NewFetchResponseTopicPartition()
		op.Partition, op.HighWatermark, op.RecordBatches = i, l.LogEndOffset(), []byte{}
		out.Topics[0].Partitions = append(out.Topics[0].Partitions, op)
		want = append(want, all)
		targets = append(targets, &fetchTarget{slice: sl})
	}
	for i, ft := range targets {
		ft.out = &out.Topics[0].Partitions[i]
	}
	resp := newResponse(protocol.RequestHeader{APIKey: int16(kmsg.Fetch), APIVersion: version, CorrelationID: 7, Flexible: version >= 12}, time.Now())
	resp.attachSlices(targets)
	resp.complete(out)
	t.Cleanup(resp.closeSlices)
	return resp, want
}

// A fetch response written with its slices from the files is the frame
// the encoder would have made with the records in memory: for the old
// 4-byte record lengths and the compact ones, over a TCP socket (sendfile)
// and over a pipe (copied).
func TestWriteSlicesMakesTheSameFrame(t *testing.T) {
	for _, version := range []int16{4, 11, 12, 16} {
		for _, tcp := range []bool{true, false} {
			resp, want := sliceResponse(t, version)
			server, client := socketPair(t, tcp)
			c := &conn{nc: server}
			buf := protocol.AppendResponse([]byte("earlier"), resp.hdr, resp.msg)
			done := make(chan error, 1)
			go func() { done <- c.writeSlices(buf, len("earlier"), resp) }()
			if got := make([]byte, len("earlier")); readFull(t, client, got) != "earlier" {
				t.Fatalf("v%d: the bytes queued before the response were not sent first", version)
			}
			size, err := protocol.ReadFrameSize(client, 64<<20)
			if err != nil {
				t.Fatal(err)
			}
			frame, err := protocol.ReadFrameBody(client, size, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got := kmsg.NewPtrFetchResponse()
			got.Version = version
			body := frame[4:] // correlation id
			if version >= 12 {
				body = body[1:] // no tagged fields in the header
			}
			if err := got.ReadFrom(body); err != nil {
				t.Fatalf("v%d tcp=%v: the frame does not decode: %v", version, tcp, err)
			}
			for i, p := range got.Topics[0].Partitions {
				if !bytes.Equal(p.RecordBatches, want[i]) || p.HighWatermark != resp.msg.(*kmsg.FetchResponse).Topics[0].Partitions[i].HighWatermark {
					t.Errorf("v%d tcp=%v partition %d: %d record bytes, want %d", version, tcp, i, len(p.RecordBatches), len(want[i]))
				}
			}
		}
	}
}

func readFull(t *testing.T, r net.Conn, b []byte) string {
	t.Helper()
	for n := 0; n < len(b); {
		m, err := r.Read(b[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	return string(b)
}

// socketPair is a connected TCP pair on loopback, or a pipe.
func socketPair(t testing.TB, tcp bool) (server, client net.Conn) {
	if !tcp {
		server, client = net.Pipe()
		t.Cleanup(func() { server.Close(); client.Close() })
		return server, client
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// BenchmarkFetchResponseWrite writes a fetch response of 1 MiB of
// records over a loopback TCP socket to a reader that discards it: read
// into memory and copied into the response buffer (TLS connections, and
// every connection before sendfile), or sent from the segment file.
func BenchmarkFetchResponseWrite(b *testing.B) {
	lc := klog.DefaultManagerConfig()
	lc.Dirs = []string{b.TempDir()}
	br := newTestBroker(b, 1, lc)
	l, err := br.logs.GetOrCreate(klog.TopicPartition{Topic: "t"}, [16]byte{1}, lc.Defaults)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 64 { // 64 batches of 16 KiB
		if _, err := l.Append(prototest.Plain(int64(i), strings.Repeat("b", 16<<10)).Encode(), klog.AppendOptions{AssignOffsets: true}); err != nil {
			b.Fatal(err)
		}
	}
	for _, sendfile := range []bool{false, true} {
		name := map[bool]string{false: "copy", true: "sendfile"}[sendfile]
		b.Run(name, func(b *testing.B) {
			server, client := socketPair(b, true)
			go io.Copy(io.Discard, client)
			c := &conn{nc: server}
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				out := kmsg.NewPtrFetchResponse()
				out.Topics = []kmsg.FetchResponseTopic{kmsg.NewFetchResponseTopic()}
				out.Topics[0].Partitions = []kmsg.FetchResponseTopicPartition{kmsg.NewFetchResponseTopicPartition()}
				ft := &fetchTarget{out: &out.Topics[0].Partitions[0]}
				resp := newResponse(protocol.RequestHeader{APIKey: int16(kmsg.Fetch), APIVersion: 16, Flexible: true}, time.Now())
				if sendfile {
					if ft.slice, err = l.ReadSlice(0, 1<<20, l.LogEndOffset(), true); err != nil {
						b.Fatal(err)
					}
					n = ft.slice.Len
					resp.attachSlices([]*fetchTarget{ft})
				} else {
					res, err := l.Read(0, 1<<20, l.LogEndOffset(), true)
					if err != nil {
						b.Fatal(err)
					}
					ft.out.RecordBatches, n = res.Records, int64(len(res.Records))
				}
				resp.complete(out)
				buf := protocol.AppendResponse(nil, resp.hdr, resp.msg)
				if sendfile {
					err = c.writeSlices(buf, 0, resp)
					resp.closeSlices()
				} else {
					_, err = server.Write(buf)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(n)
		})
	}
}
