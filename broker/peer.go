package broker

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/auth"
)

// peer is a Kafka-protocol client connection to another broker, used by the
// replica fetchers. One request at a time: a fetcher waits for each answer
// before it asks again.
type peer struct {
	addr string
	nc   net.Conn
	r    *bufio.Reader
	corr int32
	fmt  *kmsg.RequestFormatter
}

// peerDialTimeout bounds connecting to a peer, TLS and SASL included.
const peerDialTimeout = 10 * time.Second

// dialPeer connects to another broker on the inter-broker listener and
// authenticates as sec says.
func dialPeer(addr string, nodeID int32, sec PeerSecurity) (*peer, error) {
	nc, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerDialTimeout)
	defer cancel()
	if sec.TLS != nil {
		cfg := sec.TLS
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("%s: TLS: %w", addr, err)
		}
		nc = tc
	}
	clientID := fmt.Sprintf("broker-%d-fetcher", nodeID)
	if sec.SASL != nil {
		if err := auth.Authenticate(ctx, nc, clientID, sec.SASL); err != nil {
			nc.Close()
			return nil, fmt.Errorf("%s: SASL %s: %w", addr, sec.SASL.Name(), err)
		}
	}
	return &peer{addr: addr, nc: nc, r: bufio.NewReaderSize(nc, 64<<10),
		fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))}, nil
}

// Request sends req and decodes the answer within timeout.
func (p *peer) Request(req kmsg.Request, timeout time.Duration) (kmsg.Response, error) {
	p.corr++
	p.nc.SetDeadline(time.Now().Add(timeout))
	if _, err := p.nc.Write(p.fmt.AppendRequest(nil, req, p.corr)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(p.r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 256<<20 {
		return nil, fmt.Errorf("%s: response of %d bytes", p.addr, n)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(p.r, frame); err != nil {
		return nil, err
	}
	if corr := int32(binary.BigEndian.Uint32(frame)); corr != p.corr {
		return nil, fmt.Errorf("%s: correlation id %d, want %d", p.addr, corr, p.corr)
	}
	body := frame[4:]
	if req.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		if len(body) == 0 {
			return nil, fmt.Errorf("%s: empty response", p.addr)
		}
		body = body[1:] // no tagged fields in the response header
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("%s: decoding %s response: %w", p.addr, kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

func (p *peer) Close() { p.nc.Close() }
