//go:build race

package log

// raceDetector is true in a test binary built with -race, where tests
// that open thousands of files scale down: the detector makes every
// file operation several times slower, and they test no concurrency.
const raceDetector = true
