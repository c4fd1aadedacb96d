package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestACLArgumentErrors checks the command lines AclCommand refuses
// before it connects: Kafka's words on standard error, exit status 1, and
// nothing on standard output.
func TestACLArgumentErrors(t *testing.T) {
	b := []string{"--bootstrap-server", "x:1"}
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--list"}, "--bootstrap-server is required"},
		{append([]string{"--list", "--add"}, b...), "Command must include exactly one action: --list, --add, --remove. "},
		{append([]string{"--list", "--producer", "--topic", "t"}, b...), `Option "[list]" can't be used with option "[producer]"`},
		{append([]string{"--list", "--allow-host", "h"}, b...), `Option "[list]" can't be used with option "[allow-host]"`},
		{append([]string{"--add", "--consumer", "--operation", "Read", "--topic", "t", "--group", "g"}, b...), `Option "[consumer]" can't be used with option "[operation]"`},
		{append([]string{"--add", "--principal", "User:a", "--topic", "t"}, b...), "The --principal option is only available if --list is set"},
		{append([]string{"--add", "--producer", "--allow-principal", "User:a"}, b...), "With --producer you must specify a --topic"},
		{append([]string{"--add", "--idempotent", "--topic", "t", "--allow-principal", "User:a"}, b...), "The --idempotent option is only available if --producer is set"},
		{append([]string{"--add", "--consumer", "--topic", "t", "--allow-principal", "User:a"}, b...), "With --consumer you must specify a --topic and a --group"},
		{append([]string{"--add", "--consumer", "--topic", "t", "--group", "g", "--cluster", "--allow-principal", "User:a"}, b...), "no --cluster or --transactional-id"},
		{append([]string{"--list", "--resource-pattern-type", "unknown"}, b...), "Unknown resource-pattern-type: unknown"},
		{append([]string{"--list", "--resource-pattern-type", "wild"}, b...), "Cannot parse argument 'wild' of option resource-pattern-type"},
		{append([]string{"--add", "--resource-pattern-type", "MATCH", "--topic", "t", "--allow-principal", "User:a"}, b...), "A '--resource-pattern-type' value of 'MATCH' is not valid when adding acls."},
		{append([]string{"--add", "--topic", "t"}, b...), "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs."},
		{append([]string{"--add", "--allow-principal", "User:a"}, b...), "You must provide at least one resource"},
		{append([]string{"--add", "--cluster", "--operation", "Read", "--allow-principal", "User:a"}, b...), "ResourceType CLUSTER only supports operations ["},
		{append([]string{"--add", "--topic", "t", "--operation", "Fly", "--allow-principal", "User:a"}, b...), "ResourceType TOPIC only supports operations ["},
		{append([]string{"--remove", "--delegation-token", "d", "--operation", "Write", "--deny-principal", "User:a", "--force"}, b...), "ResourceType DELEGATION_TOKEN only supports operations [DESCRIBE, ALL]"},
	} {
		code, out, stderr := runCLI(append([]string{"acls"}, tt.args...)...)
		if code != 1 || out != "" || !strings.Contains(stderr, tt.msg) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("gokafka acls %s: exit %d, stdout %q, stderr %q; want exit 1 and one line with %q",
				strings.Join(tt.args, " "), code, out, stderr, tt.msg)
		}
	}
	// A principal without a type fails as the command runs: on standard
	// output, as Kafka's tool reports exceptions.
	code, out, _ := runCLI("acls", "--add", "--allow-principal", "alice", "--topic", "t", "--bootstrap-server", "x:1")
	if want := "Error while executing ACL command: expected a string in format principalType:principalName but got alice\n"; code != 1 || out != want {
		t.Errorf("bad principal: exit %d, %q; want 1, %q", code, out, want)
	}
}

// TestACLPlan checks the bindings the roles expand to, against the lists
// in kafka-acls.sh's help: the producer gets Write, Describe and Create on
// topics, Write and Describe on transactional ids, IdempotentWrite on the
// cluster; the consumer Read and Describe on topics, Read on groups.
func TestACLPlan(t *testing.T) {
	o := &aclOptions{producer: true, consumer: true, idempotent: true, patternType: "literal",
		topics: listFlag{"t"}, groups: listFlag{"g"}, txnIDs: listFlag{"x"},
		allowPrincipals: listFlag{"User:a", "User:b"}, allowHosts: listFlag{"h1"}}
	set, err := o.plan()
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	printACLs(&got, set)
	want := "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`:\n" +
		"\t(principal=User:a, host=h1, operation=CREATE, permissionType=ALLOW)\n" +
		"\t(principal=User:a, host=h1, operation=DESCRIBE, permissionType=ALLOW)\n" +
		"\t(principal=User:a, host=h1, operation=READ, permissionType=ALLOW)\n" +
		"\t(principal=User:a, host=h1, operation=WRITE, permissionType=ALLOW)\n" +
		"\t(principal=User:b, host=h1, operation=CREATE, permissionType=ALLOW)\n" +
		"\t(principal=User:b, host=h1, operation=DESCRIBE, permissionType=ALLOW)\n" +
		"\t(principal=User:b, host=h1, operation=READ, permissionType=ALLOW)\n" +
		"\t(principal=User:b, host=h1, operation=WRITE, permissionType=ALLOW)\n\n" +
		"Current ACLs for resource `ResourcePattern(resourceType=GROUP, name=g, patternType=LITERAL)`:\n" +
		"\t(principal=User:a, host=h1, operation=READ, permissionType=ALLOW)\n" +
		"\t(principal=User:b, host=h1, operation=READ, permissionType=ALLOW)\n\n" +
		"Current ACLs for resource `ResourcePattern(resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL)`:\n" +
		"\t(principal=User:a, host=h1, operation=IDEMPOTENT_WRITE, permissionType=ALLOW)\n" +
		"\t(principal=User:b, host=h1, operation=IDEMPOTENT_WRITE, permissionType=ALLOW)\n\n" +
		"Current ACLs for resource `ResourcePattern(resourceType=TRANSACTIONAL_ID, name=x, patternType=LITERAL)`:\n" +
		"\t(principal=User:a, host=h1, operation=DESCRIBE, permissionType=ALLOW)\n" +
		"\t(principal=User:a, host=h1, operation=WRITE, permissionType=ALLOW)\n" +
		"\t(principal=User:b, host=h1, operation=DESCRIBE, permissionType=ALLOW)\n" +
		"\t(principal=User:b, host=h1, operation=WRITE, permissionType=ALLOW)\n\n"
	if got.String() != want {
		t.Errorf("plan:\n%s\nwant\n%s", got.String(), want)
	}

	// Without a role: --operation on every resource, hosts default to *
	// for the side that has principals, and a prefixed pattern leaves the
	// cluster out (it is only ever literal).
	o = &aclOptions{patternType: "Prefixed", topics: listFlag{"t-"}, cluster: true, ops: listFlag{"describe", "AlterConfigs"},
		denyPrincipals: listFlag{"User:c"}}
	if set, err = o.plan(); err != nil {
		t.Fatal(err)
	}
	p := aclPattern{kmsg.ACLResourceTypeTopic, "t-", kmsg.ACLResourcePatternTypePrefixed}
	if len(set) != 1 || len(set[p]) != 2 ||
		!set[p][aclEntry{"User:c", "*", kmsg.ACLOperationDescribe, kmsg.ACLPermissionTypeDeny}] ||
		!set[p][aclEntry{"User:c", "*", kmsg.ACLOperationAlterConfigs, kmsg.ACLPermissionTypeDeny}] {
		t.Errorf("prefixed plan: %v", set)
	}
}

// TestParseOperation follows Kafka's SecurityUtils.operation: the Pascal
// name, or the name in any case without underscores.
func TestParseOperation(t *testing.T) {
	for in, want := range map[string]kmsg.ACLOperation{
		"Read": kmsg.ACLOperationRead, "READ": kmsg.ACLOperationRead, "read": kmsg.ACLOperationRead,
		"IdempotentWrite": kmsg.ACLOperationIdempotentWrite, "idempotentwrite": kmsg.ACLOperationIdempotentWrite,
		"All": kmsg.ACLOperationAll, "TwoPhaseCommit": aclOperationTwoPhaseCommit,
		"idempotent_write": kmsg.ACLOperationUnknown, "Fly": kmsg.ACLOperationUnknown, "": kmsg.ACLOperationUnknown,
	} {
		if got := parseOperation(in); got != want {
			t.Errorf("parseOperation(%q) = %s, want %s", in, opName(got), opName(want))
		}
	}
}

// TestAddingFormat pins the layout of "Adding ACLs": a space and a tab
// before the first entry, a tab before the others, a blank line after.
func TestAddingFormat(t *testing.T) {
	p := aclPattern{kmsg.ACLResourceTypeTopic, "t", kmsg.ACLResourcePatternTypeLiteral}
	es := []aclEntry{{"User:a", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow}, {"User:a", "*", kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeDeny}}
	var b bytes.Buffer
	printAdding(&b, p, es)
	want := "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`: \n" +
		" \t(principal=User:a, host=*, operation=READ, permissionType=ALLOW)\n" +
		"\t(principal=User:a, host=*, operation=WRITE, permissionType=DENY)\n\n"
	if b.String() != want {
		t.Errorf("adding:\n%q\nwant\n%q", b.String(), want)
	}
}
