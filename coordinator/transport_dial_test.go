package coordinator

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// A peer whose link is cut never answers. An address that drops SYNs is
// not reliable on every machine (no route fails at once), so the peer here
// is a listener that takes the TCP connection and then stays silent: the
// TLS handshake of the Raft dial waits on it as on a cut link. raft asks
// for its 5 s transport timeout; the dial must give up at the cap.
func TestRaftDialIsCapped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 4)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			held <- nc // kept open, never read or written
		}
	}()
	defer func() {
		for len(held) > 0 {
			(<-held).Close()
		}
	}()
	layer := raftLayer{&mux{dialTLS: &tls.Config{InsecureSkipVerify: true}}}
	start := time.Now()
	nc, err := layer.Dial(raft.ServerAddress(ln.Addr().String()), 5*time.Second)
	took := time.Since(start)
	if err == nil {
		nc.Close()
		t.Fatal("dial to a silent peer succeeded")
	}
	if took < raftDialTimeout-50*time.Millisecond || took > raftDialTimeout+500*time.Millisecond {
		t.Fatalf("dial to a silent peer returned after %v, want about %v: %v", took, raftDialTimeout, err)
	}
	t.Logf("gave up after %v: %v", took.Round(time.Millisecond), err)
}

// A shorter timeout than the cap is kept.
func TestRaftDialKeepsShorterTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if nc, err := ln.Accept(); err == nil {
			defer nc.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	layer := raftLayer{&mux{dialTLS: &tls.Config{InsecureSkipVerify: true}}}
	start := time.Now()
	if nc, err := layer.Dial(raft.ServerAddress(ln.Addr().String()), 200*time.Millisecond); err == nil {
		nc.Close()
		t.Fatal("dial to a silent peer succeeded")
	}
	if took := time.Since(start); took > 700*time.Millisecond {
		t.Fatalf("a 200 ms dial took %v", took)
	}
}
