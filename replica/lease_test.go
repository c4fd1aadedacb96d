package replica

import (
	"testing"
	"time"
)

func TestLeaseRunsOut(t *testing.T) {
	l := NewLease()
	if l.Held() {
		t.Fatal("a lease never extended is held")
	}
	l.Extend(time.Now().Add(time.Hour))
	if !l.Held() {
		t.Fatal("a lease extended an hour ahead is not held")
	}
	l.Extend(time.Now().Add(-time.Millisecond))
	if l.Held() {
		t.Fatal("a lease that ended a millisecond ago is held")
	}
}
