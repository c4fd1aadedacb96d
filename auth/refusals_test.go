package auth

import (
	"net"
	"testing"
	"time"
)

func TestRefusalsOncePerSourcePerPeriod(t *testing.T) {
	r := NewRefusals(time.Minute)
	t0 := time.Now()
	a := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1000}
	aOtherPort := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 2000}
	b := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 1000}
	logged := 0
	note := func(addr net.Addr, at time.Time) (string, int) {
		ok, source, suppressed := r.Note(addr, at)
		if ok {
			logged++
		}
		return source, suppressed
	}
	note(a, t0)
	note(aOtherPort, t0.Add(time.Second))
	note(a, t0.Add(59*time.Second))
	note(b, t0.Add(2*time.Second))
	if logged != 2 {
		t.Fatalf("%d lines for two sources within a minute, want 2", logged)
	}
	if source, suppressed := note(a, t0.Add(61*time.Second)); logged != 3 || source != "10.0.0.1" || suppressed != 2 {
		t.Fatalf("after the period: logged %d, source %s, suppressed %d; want 3, 10.0.0.1, 2", logged, source, suppressed)
	}
	// A flood from many sources is bounded in memory and in lines.
	for i := range 2 * refusalsMax {
		note(&net.TCPAddr{IP: net.IPv4(11, byte(i>>16), byte(i>>8), byte(i)), Port: 1}, t0.Add(62*time.Second))
	}
	if len(r.seen) > refusalsMax+1 {
		t.Fatalf("%d sources remembered, bound %d", len(r.seen), refusalsMax)
	}
	if logged > refusalsMax+4 {
		t.Fatalf("%d lines for a flood", logged)
	}
}
