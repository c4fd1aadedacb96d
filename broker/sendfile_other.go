//go:build !linux

package broker

import (
	"io"
	"net"
	"os"
)

// sendFileAt copies n bytes of f from off to tc where sendfile(2) with an
// offset is not at hand.
func sendFileAt(tc *net.TCPConn, f *os.File, off, n int64) error {
	w, err := io.Copy(tc, io.NewSectionReader(f, off, n))
	if err == nil && w < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}
