package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// header builds a request header by hand: key, version, correlation id and
// a client id (nil writes the null string, length -1), followed by tags,
// which is appended verbatim (a flexible header's tagged-field section).
func header(key, version int16, corr int32, clientID *string, tags []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	if clientID == nil {
		b = binary.BigEndian.AppendUint16(b, 0xffff)
	} else {
		b = binary.BigEndian.AppendUint16(b, uint16(len(*clientID)))
		b = append(b, *clientID...)
	}
	return append(b, tags...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// formatted returns req as a client would send it, minus the size prefix.
func formatted(req kmsg.Request, corr int32, clientID string) []byte {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))
	return f.AppendRequest(nil, req, corr)[4:]
}

func TestParseRequest(t *testing.T) {
	client := "gokafka-test"
	empty := ""
	body := []byte{0xde, 0xad, 0xbe, 0xef}
	// Metadata: v0–v8 use request header v1, v9+ header v2 (flexible).
	metadata, apiVersions, produce := int16(kmsg.Metadata), int16(kmsg.ApiVersions), int16(kmsg.Produce)
	tests := []struct {
		name     string
		frame    []byte
		want     RequestHeader
		wantBody []byte
		wantErr  error // errors.Is; nil means success
		anyErr   bool  // an error without a sentinel (truncation)
	}{
		{
			name:     "v1 header",
			frame:    cat(header(metadata, 4, 42, &client, nil), body),
			want:     RequestHeader{APIKey: metadata, APIVersion: 4, CorrelationID: 42, ClientID: client},
			wantBody: body,
		},
		{
			name:     "v1 header, null client id",
			frame:    cat(header(metadata, 4, 1, nil, nil), body),
			want:     RequestHeader{APIKey: metadata, APIVersion: 4, CorrelationID: 1},
			wantBody: body,
		},
		{
			name:     "v1 header, empty client id, empty body",
			frame:    header(metadata, 0, -5, &empty, nil),
			want:     RequestHeader{APIKey: metadata, CorrelationID: -5},
			wantBody: []byte{},
		},
		{
			name:     "v2 header, no tags",
			frame:    cat(header(metadata, 12, 7, &client, []byte{0}), body),
			want:     RequestHeader{APIKey: metadata, APIVersion: 12, CorrelationID: 7, ClientID: client, Flexible: true},
			wantBody: body,
		},
		{
			name:     "v2 header, null client id",
			frame:    cat(header(metadata, 9, 7, nil, []byte{0}), body),
			want:     RequestHeader{APIKey: metadata, APIVersion: 9, CorrelationID: 7, Flexible: true},
			wantBody: body,
		},
		{
			// Two tagged fields we do not know: tag 0 with 3 bytes, tag 300
			// (a two-byte uvarint) with none. Both are skipped.
			name:     "v2 header, unknown tagged fields",
			frame:    cat(header(metadata, 9, 7, &client, []byte{2, 0, 3, 'a', 'b', 'c', 0xac, 0x02, 0}), body),
			want:     RequestHeader{APIKey: metadata, APIVersion: 9, CorrelationID: 7, ClientID: client, Flexible: true},
			wantBody: body,
		},
		{
			name:     "ApiVersions v3 uses header v2",
			frame:    cat(header(apiVersions, 3, 0, &client, []byte{0}), body),
			want:     RequestHeader{APIKey: apiVersions, APIVersion: 3, ClientID: client, Flexible: true},
			wantBody: body,
		},
		{
			name:    "unknown api key",
			frame:   cat(header(9999, 0, 3, &client, nil), body),
			want:    RequestHeader{APIKey: 9999, CorrelationID: 3},
			wantErr: ErrUnknownAPIKey,
		},
		{
			name:    "negative api key",
			frame:   cat(header(-1, 0, 3, &client, nil), body),
			want:    RequestHeader{APIKey: -1, CorrelationID: 3},
			wantErr: ErrUnknownAPIKey,
		},
		{
			// Produce v0–v2 are gone since Kafka 4.0; the header is still
			// parsed so the handler can answer with UNSUPPORTED_VERSION.
			name:     "unsupported version, header parsed",
			frame:    cat(header(produce, 0, 11, &client, nil), body),
			want:     RequestHeader{APIKey: produce, CorrelationID: 11, ClientID: client},
			wantBody: body,
			wantErr:  ErrUnsupportedVersion,
		},
		{
			// A client newer than kmsg probing ApiVersions: the header is
			// still read as flexible, which is what lets us answer v0.
			name:     "ApiVersions beyond every known version",
			frame:    cat(header(apiVersions, 100, 12, &client, []byte{0}), body),
			want:     RequestHeader{APIKey: apiVersions, APIVersion: 100, CorrelationID: 12, ClientID: client, Flexible: true},
			wantBody: body,
			wantErr:  ErrUnsupportedVersion,
		},
		{name: "empty", frame: nil, anyErr: true},
		{name: "nine bytes", frame: header(metadata, 4, 1, nil, nil)[:9], anyErr: true},
		{name: "client id cut short", frame: header(metadata, 4, 1, &client, nil)[:15], anyErr: true},
		{name: "tagged field count missing", frame: header(metadata, 9, 1, &client, nil), anyErr: true},
		{name: "tagged field cut short", frame: header(metadata, 9, 1, &client, []byte{1, 0, 5, 'a'}), anyErr: true},
		{name: "tagged field size missing", frame: header(metadata, 9, 1, &client, []byte{1, 0}), anyErr: true},
		{name: "tag uvarint unterminated", frame: header(metadata, 9, 1, &client, []byte{1, 0x80}), anyErr: true},
		{name: "huge tag count", frame: header(metadata, 9, 1, &client, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}), anyErr: true},
		{name: "uvarint overflow", frame: header(metadata, 9, 1, &client, bytes.Repeat([]byte{0xff}, 11)), anyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rest, err := ParseRequest(tt.frame)
			switch {
			case tt.anyErr:
				if err == nil {
					t.Fatalf("parsed %+v, want an error", h)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			}
			if h != tt.want {
				t.Errorf("header = %+v, want %+v", h, tt.want)
			}
			if !bytes.Equal(rest, tt.wantBody) {
				t.Errorf("body = %x, want %x", rest, tt.wantBody)
			}
		})
	}
}

// Every served API at its lowest and highest version, encoded by kmsg the way
// franz-go sends it, parses back to the same header and the same body.
func TestParseRequestKmsgRoundTrip(t *testing.T) {
	for _, k := range APIKeys() {
		for _, v := range []int16{k.MinVersion, k.MaxVersion} {
			req := kmsg.RequestForKey(k.ApiKey)
			req.SetVersion(v)
			frame := formatted(req, 99, "rt")
			t.Run(kmsg.NameForKey(k.ApiKey), func(t *testing.T) {
				h, body, err := ParseRequest(frame)
				if err != nil {
					t.Fatalf("v%d: %v", v, err)
				}
				want := RequestHeader{APIKey: k.ApiKey, APIVersion: v, CorrelationID: 99, ClientID: "rt", Flexible: req.IsFlexible()}
				if h != want {
					t.Fatalf("v%d: header = %+v, want %+v", v, h, want)
				}
				got := kmsg.RequestForKey(k.ApiKey)
				got.SetVersion(v)
				if err := got.ReadFrom(body); err != nil {
					t.Fatalf("v%d: decoding body: %v", v, err)
				}
				// Compare encodings: kmsg decodes some empty arrays as
				// non-nil, which DeepEqual would count as a difference.
				if enc := got.AppendTo(nil); !bytes.Equal(enc, body) {
					t.Errorf("v%d: body re-encodes as %x, want %x", v, enc, body)
				}
			})
		}
	}
}

// readResponse splits a response frame as a client does: size, correlation
// id, the tagged-field byte when tagged is set, then the body into resp.
func readResponse(t *testing.T, frame []byte, tagged bool, resp kmsg.Response) int32 {
	t.Helper()
	if len(frame) < 8 {
		t.Fatalf("response frame of %d bytes", len(frame))
	}
	if size := binary.BigEndian.Uint32(frame); int(size) != len(frame)-4 {
		t.Fatalf("size prefix %d, frame carries %d bytes", size, len(frame)-4)
	}
	corr := int32(binary.BigEndian.Uint32(frame[4:]))
	body := frame[8:]
	if tagged {
		if body[0] != 0 {
			t.Fatalf("response header tag count %d, want 0", body[0])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decoding %s v%d body: %v", kmsg.NameForKey(resp.Key()), resp.GetVersion(), err)
	}
	return corr
}

func TestAppendResponse(t *testing.T) {
	topic := "orders"
	metadata := func(v int16) kmsg.Response {
		r := kmsg.NewPtrMetadataResponse()
		r.Version = v
		r.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 1, Host: "127.0.0.1", Port: 9092}}
		r.Topics = []kmsg.MetadataResponseTopic{{Topic: &topic, Partitions: []kmsg.MetadataResponseTopicPartition{{Partition: 0, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}}}}
		return r
	}
	apiVersions := func(v int16) kmsg.Response {
		r := kmsg.NewPtrApiVersionsResponse()
		r.Version = v
		r.ApiKeys = APIKeys()
		return r
	}
	tests := []struct {
		name   string
		key    int16
		resp   kmsg.Response
		tagged bool // response header v1
	}{
		{name: "Metadata v4, header v0", key: int16(kmsg.Metadata), resp: metadata(4)},
		{name: "Metadata v12, header v1", key: int16(kmsg.Metadata), resp: metadata(12), tagged: true},
		{name: "ApiVersions v0", key: int16(kmsg.ApiVersions), resp: apiVersions(0)},
		{name: "ApiVersions v3 keeps header v0", key: int16(kmsg.ApiVersions), resp: apiVersions(3)},
		{name: "ApiVersions v4 keeps header v0", key: int16(kmsg.ApiVersions), resp: apiVersions(4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Parse the header the client would have sent, so Flexible comes
			// from the same place as in the broker.
			req := kmsg.RequestForKey(tt.key)
			req.SetVersion(tt.resp.GetVersion())
			h, _, err := ParseRequest(formatted(req, 1234, "c"))
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("previous response")
			frame := AppendResponse(append([]byte(nil), prefix...), h, tt.resp)
			if !bytes.Equal(frame[:len(prefix)], prefix) {
				t.Fatal("AppendResponse overwrote what was already in dst")
			}
			decoded := kmsg.ResponseForKey(tt.key)
			decoded.SetVersion(tt.resp.GetVersion())
			if corr := readResponse(t, frame[len(prefix):], tt.tagged, decoded); corr != 1234 {
				t.Errorf("correlation id %d, want 1234", corr)
			}
			if got, want := decoded.AppendTo(nil), tt.resp.AppendTo(nil); !bytes.Equal(got, want) {
				t.Errorf("body re-encodes as %x, want %x", got, want)
			}
		})
	}
}

// requestSeeds returns every served request at every served version, as
// franz-go frames it, for the fuzzer's corpus.
func requestSeeds() [][]byte {
	var seeds [][]byte
	for _, k := range APIKeys() {
		for v := k.MinVersion; v <= k.MaxVersion; v++ {
			req := kmsg.RequestForKey(k.ApiKey)
			req.SetVersion(v)
			seeds = append(seeds, formatted(req, int32(v), "fuzz"))
		}
	}
	return seeds
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range requestSeeds() {
		f.Add(s)
	}
	client := "c"
	f.Add(header(int16(kmsg.Metadata), 9, 7, &client, []byte{2, 0, 3, 'a', 'b', 'c', 0xac, 0x02, 0}))
	f.Add(header(int16(kmsg.ApiVersions), 100, 1, nil, []byte{0}))
	f.Add(header(9999, 0, 1, nil, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, body, err := ParseRequest(frame)
		if err != nil {
			return
		}
		if !Supported(h.APIKey, h.APIVersion) {
			t.Fatalf("accepted unsupported %d v%d", h.APIKey, h.APIVersion)
		}
		if len(body) > len(frame) {
			t.Fatalf("body of %d bytes from a %d-byte frame", len(body), len(frame))
		}
		req := kmsg.RequestForKey(h.APIKey)
		req.SetVersion(h.APIVersion)
		_ = req.ReadFrom(body) // must not panic; errors are the sender's problem
	})
}
