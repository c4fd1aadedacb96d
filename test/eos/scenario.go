package eos

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Victim picks the node an ETL scenario SIGKILLs mid-stream.
type Victim string

const (
	// TxnCoordinatorVictim is the coordinator of the first worker's
	// transactional id.
	TxnCoordinatorVictim Victim = "transaction-coordinator"
	// LeaderVictim is the leader of the output topic's partition 0.
	LeaderVictim Victim = "partition-leader"
)

// ETLInputs is how many records the scenario transforms.
const ETLInputs = 3000

// Job runs a consume-transform-produce application reading in and writing
// "out-<value>" to out, in group, until ctx ends; it restarts whatever
// part of it fails, as a supervisor would.
type Job func(ctx context.Context, t *testing.T, seeds []string, in, out, group string)

// FranzGo is the job as two franz-go GroupTransactSessions.
func FranzGo(ctx context.Context, t *testing.T, seeds []string, in, out, group string) {
	(&ETL{Seeds: seeds, In: in, Out: out, Group: group, Workers: 2}).Run(ctx, t)
}

// RunETLScenario runs job on a three-node cluster reached through seeds,
// SIGKILLs the victim (through kill) once a
// sixth of the output is committed, and checks that every input appears
// exactly once in the output read with read_committed and that the group's
// committed offsets end where the input does.
func RunETLScenario(t *testing.T, seeds []string, victim Victim, kill func(node int32), job Job) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	in, out, group := "etl-in", "etl-out", "etl"
	if err := CreateTopics(ctx, seeds, 3, in, out); err != nil {
		t.Fatalf("creating topics: %v", err)
	}
	if err := ProduceInputs(ctx, seeds, in, 0, ETLInputs/2); err != nil {
		t.Fatalf("producing the first inputs: %v", err)
	}
	etlCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); job(etlCtx, t, seeds, in, out, group) }()
	defer func() { stop(); <-done }()

	waitStable(ctx, t, seeds, out, ETLInputs/6)
	var node int32
	var err error
	switch victim {
	case TxnCoordinatorVictim:
		node, err = TxnCoordinator(ctx, seeds, group+"-0")
	case LeaderVictim:
		node, err = Leader(ctx, seeds, out, 0)
	}
	if err != nil {
		t.Fatalf("finding the %s: %v", victim, err)
	}
	t.Logf("SIGKILL node %d, the %s", node, victim)
	kill(node)
	if err := ProduceInputs(ctx, seeds, in, ETLInputs/2, ETLInputs); err != nil {
		t.Fatalf("producing the other inputs: %v", err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		err := CheckCommitted(ctx, seeds, group, in)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group never committed all its input: %v", err)
		}
	}
	stop()
	<-done
	got, err := ReadCommitted(ctx, seeds, out, ETLInputs, 2*time.Second)
	if err != nil {
		t.Fatalf("read_committed got %d of %d outputs: %v", len(got), ETLInputs, err)
	}
	if err := CheckExactlyOnce(got, ETLInputs); err != nil {
		t.Fatalf("output after the %s's SIGKILL is not exactly once: %v", victim, err)
	}
	t.Logf("%d inputs, each exactly once in the output", ETLInputs)
}

// waitStable waits until topic's last stable offsets add up to n.
func waitStable(ctx context.Context, t *testing.T, seeds []string, topic string, n int64) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if os, err := adm.ListCommittedOffsets(ctx, topic); err == nil {
			var sum int64
			os.Each(func(o kadm.ListedOffset) { sum += o.Offset })
			if sum >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %d stable records", topic, n)
		}
	}
}
