package main

import "testing"

// count reads the nodes' log lines as the figures need: a line each, N
// for a line carrying refused=N, and none for lines naming what skip says.
func TestCount(t *testing.T) {
	log := `time=1 level=WARN msg="ISR change refused" node=1 refused=12 sent=40 err=x
time=2 level=WARN msg="ISR change refused" node=2 topic=t partition=0 err=y
time=3 level=WARN msg="fencing broker: no heartbeat within the session timeout" node=1 broker=2 silent=9s
time=4 level=WARN msg="fencing broker: no heartbeat within the session timeout" node=1 broker=3 silent=9s
time=5 level=WARN msg="fencing broker: no heartbeat within the session timeout" node=3 broker=2 silent=9.6s`
	for _, tc := range []struct {
		line, skip string
		want       int
	}{
		{`msg="ISR change refused"`, "", 13},
		{"fencing broker: no heartbeat", "", 3},
		{"fencing broker: no heartbeat", " broker=2 ", 1},
		{"heartbeat to the controller failed", "", 0},
	} {
		if got := count(log, tc.line, tc.skip); got != tc.want {
			t.Errorf("count(%q, skip %q) = %d, want %d", tc.line, tc.skip, got, tc.want)
		}
	}
}
