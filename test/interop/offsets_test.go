package interop

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gokafka/gokafka/test/harness"
)

// TestCommittedOffsetsSurviveRestart commits offsets for a group that
// consumes by assignment (no membership), reads them back, SIGKILLs the
// node and reads them again: they come back from __consumer_offsets.
func TestCommittedOffsetsSurviveRestart(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "offs", 3, nil)
	adm := kadm.NewClient(client(t, c))
	var commit kadm.Offsets
	for p := int32(0); p < 3; p++ {
		commit.Add(kadm.Offset{Topic: "offs", Partition: p, At: int64(10 * (p + 1)), LeaderEpoch: -1, Metadata: "m"})
	}
	res, err := adm.CommitOffsets(testCtx(t), "g1", commit)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	check := func(when string) {
		t.Helper()
		got, err := kadm.NewClient(client(t, c)).FetchOffsets(testCtx(t), "g1")
		if err == nil {
			err = got.Error()
		}
		if err != nil {
			t.Fatalf("%s: fetch: %v", when, err)
		}
		for p := int32(0); p < 3; p++ {
			o, ok := got.Lookup("offs", p)
			if !ok || o.At != int64(10*(p+1)) || o.Metadata != "m" {
				t.Fatalf("%s: partition %d committed %+v (found %v), want %d", when, p, o, ok, 10*(p+1))
			}
		}
	}
	check("after commit")
	other, err := adm.FetchOffsets(testCtx(t), "never-committed")
	if err != nil || len(other) != 0 {
		t.Fatalf("a group without commits: %v %v", other, err)
	}
	c.Nodes[0].Kill()
	restart(t, c.Nodes[0])
	check("after SIGKILL and restart")
}

// TestOffsetDelete deletes one partition's committed offset of a group
// that consumes by assignment; the others stay.
func TestOffsetDelete(t *testing.T) {
	c := harness.StartT(t, 1)
	createTopic(t, c, "odel", 2, nil)
	adm := kadm.NewClient(client(t, c))
	var commit kadm.Offsets
	commit.Add(kadm.Offset{Topic: "odel", Partition: 0, At: 5, LeaderEpoch: -1})
	commit.Add(kadm.Offset{Topic: "odel", Partition: 1, At: 6, LeaderEpoch: -1})
	if r, err := adm.CommitOffsets(testCtx(t), "od", commit); err != nil || r.Error() != nil {
		t.Fatalf("commit: %v %v", err, r.Error())
	}
	var del kadm.TopicsSet
	del.Add("odel", 0)
	r, err := adm.DeleteOffsets(testCtx(t), "od", del)
	if err == nil {
		err = r.Error()
	}
	if err != nil {
		t.Fatalf("delete offsets: %v", err)
	}
	got, err := adm.FetchOffsets(testCtx(t), "od")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Lookup("odel", 0); ok {
		t.Fatal("partition 0's offset survived OffsetDelete")
	}
	if o, ok := got.Lookup("odel", 1); !ok || o.At != 6 {
		t.Fatalf("partition 1's offset: %+v %v", o, ok)
	}
}
