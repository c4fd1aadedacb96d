package main

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestAssignmentString checks --members --verbose's CURRENT-ASSIGNMENT,
// which the walkthrough's finished consumers never show: topics in
// order, each with its partitions in order, as Kafka's tool prints them.
func TestAssignmentString(t *testing.T) {
	s, n := assignmentString([]kmsg.ConsumerMemberAssignmentTopic{{Topic: "t2", Partitions: []int32{1}}, {Topic: "t1", Partitions: []int32{2, 0}}})
	if s != "t1:0,2;t2:1" || n != 3 {
		t.Fatalf("got %q, %d; want t1:0,2;t2:1, 3", s, n)
	}
	if s, n := assignmentString(nil); s != "-" || n != 0 {
		t.Fatalf("no partitions: got %q, %d", s, n)
	}
}

// TestPrintMembersEmpty: an empty group gets the note on stderr and the
// header alone, as Kafka's tool prints it.
func TestPrintMembersEmpty(t *testing.T) {
	var out, errb strings.Builder
	printMembers(&stdio{out: &out, err: &errb}, kadm.DescribedGroupLag{Group: "g", State: "Empty"}, false)
	if want := "\nGROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS     \n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
	if want := "\nConsumer group 'g' has no active members.\n"; errb.String() != want {
		t.Fatalf("stderr %q, want %q", errb.String(), want)
	}
}
