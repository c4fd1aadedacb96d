package broker

import (
	"io"
	"net"
	"os"
	"syscall"
)

// sendFileAt sends n bytes of f from off to tc with sendfile(2) at an
// explicit offset: f is a duplicate of a segment's descriptor and shares
// its file offset, which nothing may move. It waits for the socket as a
// write does, deadline included. A file that ends early (cut short
// under the response) is io.ErrUnexpectedEOF.
func sendFileAt(tc *net.TCPConn, f *os.File, off, n int64) error {
	src, err := f.SyscallConn()
	if err != nil {
		return err
	}
	dst, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	cerr := src.Control(func(in uintptr) {
		werr := dst.Write(func(out uintptr) bool {
			for n > 0 {
				w, err := syscall.Sendfile(int(out), int(in), &off, int(min(n, 1<<30)))
				if w > 0 {
					n -= int64(w)
				}
				switch {
				case err == syscall.EAGAIN:
					return false // wait until the socket takes more
				case err == syscall.EINTR:
				case err != nil:
					serr = err
					return true
				case w == 0:
					serr = io.ErrUnexpectedEOF
					return true
				}
			}
			return true
		})
		if serr == nil {
			serr = werr
		}
	})
	if cerr != nil {
		return cerr
	}
	return serr
}
