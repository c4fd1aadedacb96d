package broker

import (
	"context"
	"testing"
	"time"
)

// Readers wait once the budget is spent and go on when bytes come back; a
// single request larger than what is left still gets through.
func TestRequestBudget(t *testing.T) {
	rb := newRequestBudget(100)
	ctx := context.Background()
	if !rb.book(ctx, 150) {
		t.Fatal("a request larger than the free budget was refused")
	}
	booked := make(chan bool)
	go func() { booked <- rb.book(ctx, 10) }()
	select {
	case <-booked:
		t.Fatal("booked while the budget was overspent")
	case <-time.After(50 * time.Millisecond):
	}
	rb.release(150)
	if !<-booked {
		t.Fatal("booking failed after bytes came back")
	}
	rb.book(ctx, 90)
	cancelled, cancel := context.WithCancel(ctx)
	go func() { booked <- rb.book(cancelled, 1) }()
	cancel()
	if <-booked {
		t.Fatal("booked with the budget spent and the context cancelled")
	}
}

// Kafka's default -1 is no budget at all.
func TestRequestBudgetUnbounded(t *testing.T) {
	var rb *requestBudget = newRequestBudget(-1)
	if rb != nil || !rb.book(context.Background(), 1<<40) {
		t.Fatal("queued.max.request.bytes=-1 must not bound reads")
	}
	rb.release(1 << 40)
}
