//go:build !linux

package log

import "syscall"

// platformDeviceErrno is Linux's storage errors elsewhere: none besides
// deviceFailed's portable ones.
func platformDeviceErrno(syscall.Errno) bool { return false }
