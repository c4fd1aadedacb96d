package coordinator

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/protocol"
)

// saslFrameMax bounds each frame of the controller listener's SASL
// exchange. A PLAIN token is a user name and a password; the frames of
// our own nodes are well under 1 KiB.
const saslFrameMax = 8 << 10

// saslClientID is the client id a node sends in its SASL requests.
const saslClientID = "gokafka-controller"

// mechanism is what this node presents when it dials; nil without SASL.
func (s *ControllerSASL) mechanism() sasl.Mechanism {
	if s == nil {
		return nil
	}
	return plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()
}

// authenticateSASL admits a connection once its SASL/PLAIN exchange
// succeeded and AuthorizePrincipal accepts who it authenticated as.
func (m *mux) authenticateSASL(nc net.Conn) error {
	p, err := serveSASL(nc, m.sasl.Users)
	if err != nil {
		return err
	}
	if m.authorizeP != nil && !m.authorizeP(p) {
		return fmt.Errorf("principal %s is not authorized on the controller listener", p)
	}
	m.log.Debug("controller listener: peer authenticated", "remote", nc.RemoteAddr().String(), "principal", p.String())
	return nil
}

// serveSASL is the listener's side of the exchange auth.Authenticate
// runs: a SaslHandshake v1 naming PLAIN, then one SaslAuthenticate v1
// whose token users must accept, each a frame of at most saslFrameMax
// bytes, nothing else and nothing more. Each is answered as Kafka does,
// so that a refused node can log why; every failure ends the connection.
// rw is read frame by frame, so the byte that follows is left unread.
func serveSASL(rw io.ReadWriter, users map[string]string) (auth.Principal, error) {
	h, body, err := readSASLRequest(rw, kmsg.SASLHandshake)
	if err != nil {
		return auth.Principal{}, err
	}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version = h.APIVersion
	if err := hs.ReadFrom(body); err != nil {
		return auth.Principal{}, fmt.Errorf("SaslHandshake: %w", err)
	}
	hsResp := kmsg.NewPtrSASLHandshakeResponse()
	hsResp.Version = h.APIVersion
	hsResp.SupportedMechanisms = []string{auth.MechanismPlain}
	if hs.Mechanism != auth.MechanismPlain {
		hsResp.ErrorCode = int16(protocol.UnsupportedSaslMechanism)
	}
	if _, err := rw.Write(protocol.AppendResponse(nil, h, hsResp)); err != nil {
		return auth.Principal{}, err
	}
	if hsResp.ErrorCode != 0 {
		return auth.Principal{}, fmt.Errorf("SASL mechanism %.64q: the controller listener serves PLAIN only", hs.Mechanism)
	}

	if h, body, err = readSASLRequest(rw, kmsg.SASLAuthenticate); err != nil {
		return auth.Principal{}, err
	}
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version = h.APIVersion
	if err := req.ReadFrom(body); err != nil {
		return auth.Principal{}, fmt.Errorf("SaslAuthenticate: %w", err)
	}
	session, err := auth.NewSession(auth.MechanismPlain, users, nil)
	if err != nil {
		return auth.Principal{}, err
	}
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	resp.Version = h.APIVersion
	token, done, stepErr := session.Step(req.SASLAuthBytes)
	switch {
	case stepErr != nil:
		resp.ErrorCode, resp.ErrorMessage = int16(protocol.SaslAuthenticationFailed), kmsg.StringPtr(stepErr.Error())
		if ae := (*auth.AuthError)(nil); errors.As(stepErr, &ae) && ae.Reason != "" {
			stepErr = errors.New(ae.Reason) // what the peer is not told
		}
	case !done: // PLAIN is one message
		resp.ErrorCode, stepErr = int16(protocol.IllegalSaslState), errors.New("SASL/PLAIN exchange not done after its one message")
	}
	resp.SASLAuthBytes = token
	if _, err := rw.Write(protocol.AppendResponse(nil, h, resp)); err != nil {
		return auth.Principal{}, err
	}
	return session.Principal(), stepErr
}

// readSASLRequest reads one frame that must be a v1 request of key.
func readSASLRequest(r io.Reader, key kmsg.Key) (protocol.RequestHeader, []byte, error) {
	frame, err := protocol.ReadFrame(r, saslFrameMax, make([]byte, 0, 512))
	if err != nil {
		return protocol.RequestHeader{}, nil, fmt.Errorf("reading %s: %w", key.Name(), err)
	}
	h, body, err := protocol.ParseRequest(frame)
	switch {
	case err != nil:
		return h, nil, fmt.Errorf("reading %s: %w", key.Name(), err)
	case h.APIKey != int16(key) || h.APIVersion != 1:
		return h, nil, fmt.Errorf("%s v%d where %s v1 was due", kmsg.NameForKey(h.APIKey), h.APIVersion, key.Name())
	}
	return h, body, nil
}
