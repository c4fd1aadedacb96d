package auth

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
)

// maxServerMessage bounds one answer of the exchange. A SCRAM
// server-first message is a few hundred bytes; a larger answer is not a
// SASL server.
const maxServerMessage = 64 << 10

// Authenticate runs the client side of a SASL exchange on a fresh
// connection: SaslHandshake v1, then SaslAuthenticate v1 until mech is
// done (KIP-152), as Kafka's own clients do. ctx's deadline, if any,
// bounds every read and write; nc is left without one. It reads exactly
// the answers' bytes, so that whatever follows on nc is untouched. The
// broker's replica fetchers and the coordinator's controller connections
// both authenticate through it.
func Authenticate(ctx context.Context, nc net.Conn, clientID string, mech sasl.Mechanism) error {
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
		defer nc.SetDeadline(time.Time{})
	}
	c := saslClient{nc: nc, fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, mech.Name()
	resp, err := c.request(hs)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.(*kmsg.SASLHandshakeResponse).ErrorCode); err != nil {
		return err
	}
	session, token, err := mech.Authenticate(ctx, nc.RemoteAddr().String())
	if err != nil {
		return err
	}
	for {
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.Version, req.SASLAuthBytes = 1, token
		resp, err := c.request(req)
		if err != nil {
			return err
		}
		ar := resp.(*kmsg.SASLAuthenticateResponse)
		if err := kerr.ErrorForCode(ar.ErrorCode); err != nil {
			if ar.ErrorMessage != nil {
				err = fmt.Errorf("%w: %s", err, *ar.ErrorMessage)
			}
			return err
		}
		done, next, err := session.Challenge(ar.SASLAuthBytes)
		if err != nil || done && next == nil {
			return err
		}
		token = next
	}
}

// saslClient sends the exchange's requests, one at a time.
type saslClient struct {
	nc   net.Conn
	fmt  *kmsg.RequestFormatter
	corr int32
}

// request sends req and decodes its answer. Both SASL requests are sent
// at v1, whose response header is the correlation id alone.
func (c *saslClient) request(req kmsg.Request) (kmsg.Response, error) {
	c.corr++
	if _, err := c.nc.Write(c.fmt.AppendRequest(nil, req, c.corr)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > maxServerMessage {
		return nil, fmt.Errorf("SASL: %s answer of %d bytes", kmsg.NameForKey(req.Key()), n)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(c.nc, frame); err != nil {
		return nil, err
	}
	if corr := int32(binary.BigEndian.Uint32(frame)); corr != c.corr {
		return nil, fmt.Errorf("SASL: correlation id %d, want %d", corr, c.corr)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(frame[4:]); err != nil {
		return nil, fmt.Errorf("SASL: decoding the %s answer: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}
