package log

import "syscall"

// platformDeviceErrno reports the errors besides deviceFailed's that
// Linux's storage stack returns when a device or a file system failed: the
// block layer's for a failed request (blk_status_to_errno: a transport,
// target, nexus, medium or integrity error, a timeout), which a read or an
// fsync may pass on as they are, and the corruption that ext4 and XFS
// detect (EUCLEAN for EFSCORRUPTED, EBADMSG for a bad checksum).
func platformDeviceErrno(errno syscall.Errno) bool {
	switch errno {
	case syscall.ENOLINK, syscall.EREMOTEIO, syscall.EBADE, syscall.ENODATA, syscall.EILSEQ, syscall.ETIMEDOUT,
		syscall.EUCLEAN, syscall.EBADMSG:
		return true
	}
	return false
}
