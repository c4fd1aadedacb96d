//go:build !faultfs

package main

// installFaults does nothing: disk faults and clock skew exist only in a
// build with -tags faultfs (faults.go).
func installFaults(*serverConfig, *healthServer) {}
