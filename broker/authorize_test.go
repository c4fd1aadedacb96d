package broker

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gokafka/gokafka/protocol"
)

// Every API served has its rows in the matrix (an API that checks nothing
// says so with an unchecked row), and every row is of an API served: a new
// handler cannot arrive without deciding what it checks.
func TestAuthorizationsCoverEveryAPI(t *testing.T) {
	inTable := map[kmsg.Key]bool{}
	for _, a := range Authorizations() {
		inTable[a.Key] = true
		if _, ok := handlers[a.Key]; !ok {
			t.Errorf("row for %s, which is not served", kmsg.NameForKey(int16(a.Key)))
		}
	}
	for key := range handlers {
		if !inTable[key] {
			t.Errorf("%s is served but has no row in the authorization matrix", kmsg.NameForKey(int16(key)))
		}
	}
}

// The rows are well formed: a check has an operation the resource type
// supports and one of Kafka's authorization codes (or None for what is
// left out); an alternative follows a row of the same request kind.
func TestAuthorizationRows(t *testing.T) {
	codes := map[protocol.ErrorCode]bool{protocol.None: true, protocol.TopicAuthorizationFailed: true,
		protocol.GroupAuthorizationFailed: true, protocol.ClusterAuthorizationFailed: true, protocol.TransactionalIDAuthFailed: true}
	rows := Authorizations()
	for i, a := range rows {
		name := kmsg.NameForKey(int16(a.Key)) + " " + a.When
		if a.Resource == kmsg.ACLResourceTypeUnknown {
			if a.Operation != 0 || a.OrPrevious || a.Error != protocol.None || a.Note == "" {
				t.Errorf("%s: an unchecked row carries a check or no note: %+v", name, a)
			}
			continue
		}
		if !codes[a.Error] {
			t.Errorf("%s: error %d is not an authorization failure", name, a.Error)
		}
		if a.Resource != resTxnID && !supports(a.Resource, a.Operation) {
			t.Errorf("%s: %s is not an operation of %s", name, a.Operation, a.Resource)
		}
		if a.OrPrevious && (i == 0 || rows[i-1].Key != a.Key || rows[i-1].When != a.When) {
			t.Errorf("%s: an alternative with no row before it", name)
		}
	}
}

func supports(rt kmsg.ACLResourceType, op kmsg.ACLOperation) bool {
	return slices.Contains(supportedOperations[rt], op)
}

// The README's table is the matrix: each of its lines is rendered from
// Authorizations, and the test prints the whole table when they differ.
func TestAuthorizationsInREADME(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := matrixMarkdown()
	if !strings.Contains(string(readme), table) {
		t.Errorf("README.md's authorization matrix is not the table in authorize.go; it should read:\n%s", table)
	}
}

// matrixMarkdown renders the matrix, one line per API and kind of request.
func matrixMarkdown() string {
	var b strings.Builder
	b.WriteString("| API | needs | refused with |\n|---|---|---|\n")
	rows := Authorizations()
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].Key == rows[i].Key && rows[j].When == rows[i].When {
			j++
		}
		api := kmsg.NameForKey(int16(rows[i].Key))
		if rows[i].When != "" {
			api += ", " + rows[i].When
		}
		var needs, codes []string
		for _, a := range rows[i:j] {
			if a.Resource == kmsg.ACLResourceTypeUnknown {
				needs = append(needs, "nothing ("+a.Note+")")
				continue
			}
			need := fmt.Sprintf("%s on %s", a.Operation, resourceWords[a.Resource])
			if a.Note != "" {
				need += " (" + a.Note + ")"
			}
			if a.OrPrevious {
				needs[len(needs)-1] += " or " + need
			} else {
				needs = append(needs, need)
			}
			code := "left out"
			if a.Error != protocol.None {
				code = kerr.ErrorForCode(int16(a.Error)).(*kerr.Error).Message
			}
			if !slices.Contains(codes, code) {
				codes = append(codes, code)
			}
		}
		if len(codes) == 0 {
			codes = []string{"-"}
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", api, strings.Join(needs, "; "), strings.Join(codes, ", "))
		i = j
	}
	return b.String()
}

var resourceWords = map[kmsg.ACLResourceType]string{resTopic: "the topic", resGroup: "the group",
	resCluster: "the cluster", resTxnID: "the transactional id"}

// Without an authorizer the produce and fetch paths pay one nil check per
// topic and allocate nothing.
func TestMayWithoutAuthorizerAllocatesNothing(t *testing.T) {
	c := &conn{b: &Broker{}}
	allocs := testing.AllocsPerRun(1000, func() {
		if !c.may(authzProduce, "topic") || !c.may(authzFetchFollower, "") {
			t.Fatal("refused without an authorizer")
		}
	})
	if allocs != 0 {
		t.Fatalf("may allocated %.1f times per call", allocs)
	}
}

func BenchmarkMayWithoutAuthorizer(b *testing.B) {
	c := &conn{b: &Broker{}}
	for b.Loop() {
		c.may(authzProduce, "topic")
	}
}
