package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// aclsCommand is kafka-acls.sh (Kafka's AclCommand): --add, --remove and
// --list of ACL bindings, with its flags, its words and its exit codes.
// Its mistakes on the command line exit 1 with a line on standard error;
// a failure while it runs prints "Error while executing ACL command: ..."
// on standard output, exit 1.
func aclsCommand(std *stdio, args []string) error {
	f := newFlags("acls", std)
	o := &aclOptions{}
	f.BoolVar(&o.add, "add", false, "add ACLs")
	f.BoolVar(&o.remove, "remove", false, "remove ACLs")
	f.BoolVar(&o.list, "list", false, "list ACLs, of the given resources or all")
	f.Var(&o.topics, "topic", "a topic the ACLs apply to ('*' for all); repeatable")
	f.BoolVar(&o.cluster, "cluster", false, "the cluster's ACLs")
	f.Var(&o.groups, "group", "a consumer group the ACLs apply to ('*' for all); repeatable")
	f.Var(&o.txnIDs, "transactional-id", "a transactional id the ACLs apply to ('*' for all); repeatable")
	f.Var(&o.tokens, "delegation-token", "a delegation token the ACLs apply to ('*' for all); repeatable")
	f.Var(&o.users, "user-principal", "a user principal as the resource (CreateTokens, DescribeTokens); repeatable")
	f.StringVar(&o.patternType, "resource-pattern-type", "LITERAL", "literal or prefixed to add; also match or any to list or remove")
	f.Var(&o.ops, "operation", "an operation allowed or denied (Read, Write, ..., All, the default); repeatable")
	f.Var(&o.allowPrincipals, "allow-principal", "a principal as Type:name (User:alice, User:*) to allow; repeatable")
	f.Var(&o.denyPrincipals, "deny-principal", "a principal as Type:name to deny; deny wins over allow; repeatable")
	f.Var(&o.allowHosts, "allow-host", "a host the allowed principals may come from (default *); repeatable")
	f.Var(&o.denyHosts, "deny-host", "a host the denied principals are denied from (default *); repeatable")
	f.Var(&o.listPrincipals, "principal", "--list: only this principal's ACLs; repeatable")
	f.BoolVar(&o.producer, "producer", false, "the producer role: Write, Describe and Create on the topics")
	f.BoolVar(&o.consumer, "consumer", false, "the consumer role: Read and Describe on the topics, Read on the group")
	f.BoolVar(&o.idempotent, "idempotent", false, "with --producer: IdempotentWrite on the cluster")
	f.BoolVar(&o.force, "force", false, "do not ask before removing")
	if err := f.parse(args); err != nil {
		return asArgumentError(err)
	}
	o.set = map[string]bool{}
	f.Visit(func(fl *flag.Flag) { o.set[fl.Name] = true })
	if err := o.check(); err != nil {
		return err
	}
	cl, _, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	switch {
	case o.add:
		err = o.addACLs(std, ctx, cl)
	case o.remove:
		err = o.removeACLs(std, ctx, cl)
	default:
		err = o.listACLs(std, ctx, cl)
	}
	var ae argumentError
	if err != nil && !errors.As(err, &ae) {
		return toolError{"Error while executing ACL command: " + errorMessage(err)}
	}
	return err
}

// aclOptions is the command line of gokafka acls.
type aclOptions struct {
	add, remove, list                              bool
	topics, groups, txnIDs, tokens, users          listFlag
	cluster, producer, consumer, idempotent, force bool
	patternType                                    string
	ops, allowPrincipals, denyPrincipals           listFlag
	allowHosts, denyHosts, listPrincipals          listFlag
	set                                            map[string]bool // the flags given
}

// check refuses what AclCommandOptions.checkArgs refuses, in its order
// and its words.
func (o *aclOptions) check() error {
	if count(o.add, o.remove, o.list) != 1 {
		return argumentf("Command must include exactly one action: --list, --add, --remove. ")
	}
	for _, rule := range []struct {
		if_  string
		nots []string
	}{
		{"list", []string{"producer", "consumer", "allow-host", "allow-principal", "deny-host", "deny-principal"}},
		{"producer", []string{"operation", "deny-principal", "deny-host"}},
		{"consumer", []string{"operation", "deny-principal", "deny-host"}},
	} {
		if !o.set[rule.if_] {
			continue
		}
		for _, n := range rule.nots {
			if o.set[n] {
				return argumentf(`Option "[%s]" can't be used with option "[%s]"`, rule.if_, n)
			}
		}
	}
	switch {
	case o.set["principal"] && !o.list:
		return argumentf("The --principal option is only available if --list is set")
	case o.producer && len(o.topics) == 0:
		return argumentf("With --producer you must specify a --topic")
	case o.idempotent && !o.producer:
		return argumentf("The --idempotent option is only available if --producer is set")
	case o.consumer && (len(o.topics) == 0 || len(o.groups) == 0 || (!o.producer && (o.cluster || len(o.txnIDs) > 0))):
		return argumentf("With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.")
	}
	if _, err := parsePatternType(o.patternType); err != nil {
		return err
	}
	return nil
}

// aclPattern is Kafka's ResourcePattern, or as a filter its
// ResourcePatternFilter: the pattern type may then be MATCH or ANY.
type aclPattern struct {
	typ     kmsg.ACLResourceType
	name    string
	pattern kmsg.ACLResourcePatternType
}

// String is ResourcePattern.toString, which the tool prints.
func (p aclPattern) String() string {
	return fmt.Sprintf("ResourcePattern(resourceType=%s, name=%s, patternType=%s)", p.typ, p.name, p.pattern)
}

// aclEntry is Kafka's AccessControlEntry.
type aclEntry struct {
	principal, host string
	op              kmsg.ACLOperation
	perm            kmsg.ACLPermissionType
}

// String is AccessControlEntry.toString.
func (e aclEntry) String() string {
	return fmt.Sprintf("(principal=%s, host=%s, operation=%s, permissionType=%s)", e.principal, e.host, opName(e.op), e.perm)
}

// aclSet is what the tool adds, removes or lists, by resource.
type aclSet map[aclPattern]map[aclEntry]bool

func (s aclSet) put(p aclPattern, es ...aclEntry) {
	if s[p] == nil {
		s[p] = map[aclEntry]bool{}
	}
	for _, e := range es {
		s[p][e] = true
	}
}

// patterns are the set's resources in a fixed order (Kafka prints its
// hash order, which a reader cannot rely on either).
func (s aclSet) patterns() []aclPattern {
	return slices.SortedFunc(maps.Keys(s), func(a, b aclPattern) int {
		if a.typ != b.typ {
			return int(a.typ) - int(b.typ)
		}
		if a.name != b.name {
			return strings.Compare(a.name, b.name)
		}
		return int(a.pattern) - int(b.pattern)
	})
}

func sortedEntries(es map[aclEntry]bool) []aclEntry {
	return slices.SortedFunc(maps.Keys(es), func(a, b aclEntry) int { return strings.Compare(a.String(), b.String()) })
}

// Kafka's operations by their enum names; kmsg has no name for
// TWO_PHASE_COMMIT (KIP-939), which Kafka 4.4 accepts on transactional ids.
var aclOperations = []struct {
	op   kmsg.ACLOperation
	name string
}{
	{kmsg.ACLOperationUnknown, "UNKNOWN"}, {kmsg.ACLOperationAny, "ANY"}, {kmsg.ACLOperationAll, "ALL"},
	{kmsg.ACLOperationRead, "READ"}, {kmsg.ACLOperationWrite, "WRITE"}, {kmsg.ACLOperationCreate, "CREATE"},
	{kmsg.ACLOperationDelete, "DELETE"}, {kmsg.ACLOperationAlter, "ALTER"}, {kmsg.ACLOperationDescribe, "DESCRIBE"},
	{kmsg.ACLOperationClusterAction, "CLUSTER_ACTION"}, {kmsg.ACLOperationDescribeConfigs, "DESCRIBE_CONFIGS"},
	{kmsg.ACLOperationAlterConfigs, "ALTER_CONFIGS"}, {kmsg.ACLOperationIdempotentWrite, "IDEMPOTENT_WRITE"},
	{kmsg.ACLOperationCreateTokens, "CREATE_TOKENS"}, {kmsg.ACLOperationDescribeTokens, "DESCRIBE_TOKENS"},
	{aclOperationTwoPhaseCommit, "TWO_PHASE_COMMIT"},
}

const aclOperationTwoPhaseCommit kmsg.ACLOperation = 15

func opName(op kmsg.ACLOperation) string {
	for _, o := range aclOperations {
		if o.op == op {
			return o.name
		}
	}
	return "UNKNOWN"
}

// parseOperation reads an --operation as Kafka's SecurityUtils.operation
// does: the Pascal-case name (IdempotentWrite), or any case of it without
// underscores (idempotentwrite); anything else is UNKNOWN, which the
// check of supported operations then refuses.
func parseOperation(s string) kmsg.ACLOperation {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, o := range aclOperations {
		if strings.ReplaceAll(o.name, "_", "") == s {
			return o.op
		}
	}
	return kmsg.ACLOperationUnknown
}

// supportedOperations is Kafka's AclEntry.supportedOperations, plus ALL.
var supportedOperations = map[kmsg.ACLResourceType][]kmsg.ACLOperation{
	kmsg.ACLResourceTypeTopic: {kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate,
		kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeGroup: {kmsg.ACLOperationRead, kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeCluster: {kmsg.ACLOperationCreate, kmsg.ACLOperationClusterAction,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite,
		kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeTransactionalId: {kmsg.ACLOperationDescribe, kmsg.ACLOperationWrite, aclOperationTwoPhaseCommit, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeDelegationToken: {kmsg.ACLOperationDescribe, kmsg.ACLOperationAll},
	kmsg.ACLResourceTypeUser:            {kmsg.ACLOperationCreateTokens, kmsg.ACLOperationDescribeTokens, kmsg.ACLOperationAll},
}

// parsePatternType reads --resource-pattern-type in any case, as Kafka's
// enum converter does.
func parsePatternType(s string) (kmsg.ACLResourcePatternType, error) {
	if strings.EqualFold(s, "unknown") {
		return 0, argumentf("Unknown resource-pattern-type: %s", s)
	}
	pt, err := kmsg.ParseACLResourcePatternType(s)
	if err != nil {
		return 0, argumentf("Cannot parse argument '%s' of option resource-pattern-type", s)
	}
	return pt, nil
}

// parsePrincipal is SecurityUtils.parseKafkaPrincipal: Type:name, split
// at the first colon.
func parsePrincipal(s string) (string, error) {
	s = strings.TrimSpace(s)
	if typ, name, ok := strings.Cut(s, ":"); ok {
		return typ + ":" + name, nil
	}
	return "", fmt.Errorf("expected a string in format principalType:principalName but got %s", s)
}

// clusterPattern is the one cluster resource, always literal.
var clusterPattern = aclPattern{kmsg.ACLResourceTypeCluster, "kafka-cluster", kmsg.ACLResourcePatternTypeLiteral}

// resources are the resource patterns (or filters) the flags name; with
// need, none is a mistake.
func (o *aclOptions) resources(need bool) ([]aclPattern, error) {
	pt, _ := parsePatternType(o.patternType)
	var out []aclPattern
	add := func(typ kmsg.ACLResourceType, names listFlag) {
		for _, n := range names {
			p := aclPattern{typ, strings.TrimSpace(n), pt}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	add(kmsg.ACLResourceTypeTopic, o.topics)
	if pt == kmsg.ACLResourcePatternTypeLiteral && (o.cluster || o.idempotent) {
		out = append(out, clusterPattern)
	}
	add(kmsg.ACLResourceTypeGroup, o.groups)
	add(kmsg.ACLResourceTypeTransactionalId, o.txnIDs)
	add(kmsg.ACLResourceTypeDelegationToken, o.tokens)
	add(kmsg.ACLResourceTypeUser, o.users)
	if len(out) == 0 && need {
		return nil, argumentf("You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>")
	}
	return out, nil
}

// checkPrincipals parses the principals before anything is sent.
func (o *aclOptions) checkPrincipals() error {
	for _, p := range slices.Concat(o.allowPrincipals, o.denyPrincipals) {
		if _, err := parsePrincipal(p); err != nil {
			return err
		}
	}
	return nil
}

// entries are the access control entries for ops: every allowed
// principal from every allowed host, every denied one from every denied
// host; a principal without a host means any host. The principals have
// passed checkPrincipals.
func (o *aclOptions) entries(ops ...kmsg.ACLOperation) []aclEntry {
	var out []aclEntry
	for _, side := range []struct {
		principals, hosts listFlag
		perm              kmsg.ACLPermissionType
	}{
		{o.allowPrincipals, o.allowHosts, kmsg.ACLPermissionTypeAllow},
		{o.denyPrincipals, o.denyHosts, kmsg.ACLPermissionTypeDeny},
	} {
		hosts := side.hosts
		if len(hosts) == 0 && len(side.principals) > 0 {
			hosts = listFlag{"*"}
		}
		for _, p := range side.principals {
			principal, _ := parsePrincipal(p)
			for _, op := range ops {
				for _, h := range hosts {
					out = append(out, aclEntry{principal, strings.TrimSpace(h), op, side.perm})
				}
			}
		}
	}
	return out
}

// plan is AclCommand's getResourceFilterToAcls: the entries for each
// resource, from --operation or from the --producer and --consumer roles.
func (o *aclOptions) plan() (aclSet, error) {
	rs, err := o.resources(true)
	if err != nil {
		return nil, err
	}
	if err := o.checkPrincipals(); err != nil {
		return nil, err
	}
	set := aclSet{}
	// role gives the resources of one type the entries for ops.
	role := func(typ kmsg.ACLResourceType, ops ...kmsg.ACLOperation) {
		es := o.entries(ops...)
		for _, r := range rs {
			if r.typ == typ {
				set.put(r, es...)
			}
		}
	}
	if !o.producer && !o.consumer {
		var ops []kmsg.ACLOperation
		for _, s := range o.ops {
			ops = append(ops, parseOperation(s))
		}
		if len(ops) == 0 {
			ops = []kmsg.ACLOperation{kmsg.ACLOperationAll}
		}
		es := o.entries(ops...)
		for _, r := range rs {
			set.put(r, es...)
		}
	}
	if o.producer {
		role(kmsg.ACLResourceTypeTopic, kmsg.ACLOperationWrite, kmsg.ACLOperationDescribe, kmsg.ACLOperationCreate)
		role(kmsg.ACLResourceTypeTransactionalId, kmsg.ACLOperationWrite, kmsg.ACLOperationDescribe)
		if o.idempotent {
			set.put(clusterPattern, o.entries(kmsg.ACLOperationIdempotentWrite)...)
		}
	}
	if o.consumer {
		role(kmsg.ACLResourceTypeTopic, kmsg.ACLOperationRead, kmsg.ACLOperationDescribe)
		role(kmsg.ACLResourceTypeGroup, kmsg.ACLOperationRead)
	}
	return set, checkOperations(set)
}

// checkOperations refuses an operation the resource type does not have,
// in Kafka's words (it lists the supported ones in its hash order).
func checkOperations(set aclSet) error {
	for _, p := range set.patterns() {
		valid := supportedOperations[p.typ]
		for e := range set[p] {
			if !slices.Contains(valid, e.op) {
				names := make([]string, len(valid))
				for i, op := range valid {
					names[i] = opName(op)
				}
				return argumentf("ResourceType %s only supports operations [%s]", p.typ, strings.Join(names, ", "))
			}
		}
	}
	return nil
}

// addACLs creates the planned bindings that do not exist yet, resource
// by resource, saying which already exist.
func (o *aclOptions) addACLs(std *stdio, ctx context.Context, cl *kgo.Client) error {
	pt, _ := parsePatternType(o.patternType)
	if pt != kmsg.ACLResourcePatternTypeLiteral && pt != kmsg.ACLResourcePatternTypePrefixed {
		return argumentf("A '--resource-pattern-type' value of '%s' is not valid when adding acls.", pt)
	}
	set, err := o.plan()
	if err != nil {
		return err
	}
	for _, p := range set.patterns() {
		if len(set[p]) == 0 {
			return argumentf("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.")
		}
	}
	for _, p := range set.patterns() {
		existing, err := describeACLs(ctx, cl, &p)
		if err != nil {
			return err
		}
		var create []aclEntry
		for _, e := range sortedEntries(set[p]) {
			if existing[p][e] {
				fmt.Fprintf(std.out, "Acl (pattern=%s, entry=%s) already exists.\n", p, e)
			} else {
				create = append(create, e)
			}
		}
		if len(create) == 0 {
			continue
		}
		printAdding(std.out, p, create)
		if err := createACLs(ctx, cl, p, create); err != nil {
			return err
		}
	}
	return nil
}

// printAdding is the tool's announcement of the bindings it creates.
func printAdding(w io.Writer, p aclPattern, es []aclEntry) {
	fmt.Fprintf(w, "Adding ACLs for resource `%s`: \n %s\n\n", p, tabbed(es))
}

// tabbed is the tool's list of entries: each after a tab, one a line.
func tabbed(es []aclEntry) string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = "\t" + e.String()
	}
	return strings.Join(lines, "\n")
}

// removeACLs deletes, for each resource filter, the planned entries, or
// every entry when no principal was given; it asks first unless --force.
func (o *aclOptions) removeACLs(std *stdio, ctx context.Context, cl *kgo.Client) error {
	set, err := o.plan()
	if err != nil {
		return err
	}
	answers := bufio.NewReader(std.in)
	for _, p := range set.patterns() {
		es := sortedEntries(set[p])
		question := fmt.Sprintf("Are you sure you want to delete all ACLs for resource filter `%s`? (y/n)", p)
		if len(es) > 0 {
			question = fmt.Sprintf("Are you sure you want to remove ACLs: \n %s\n from resource filter `%s`? (y/n)", tabbed(es), p)
		}
		if !o.force && !confirm(std.out, answers, question) {
			continue
		}
		if err := deleteACLs(ctx, cl, p, es); err != nil {
			return err
		}
	}
	return nil
}

// confirm asks a yes/no question on the terminal; only y (any case) is yes.
func confirm(out io.Writer, in *bufio.Reader, question string) bool {
	fmt.Fprintln(out, question)
	line, _ := in.ReadString('\n')
	return strings.EqualFold(strings.TrimRight(line, "\r\n"), "y")
}

// listACLs prints the bindings matching the resource filters (all of
// them without one), grouped by resource; with --principal, only theirs,
// principal by principal.
func (o *aclOptions) listACLs(std *stdio, ctx context.Context, cl *kgo.Client) error {
	filters, err := o.resources(false)
	if err != nil {
		return err
	}
	var principals []string
	for _, p := range o.listPrincipals {
		principal, err := parsePrincipal(p)
		if err != nil {
			return err
		}
		if !slices.Contains(principals, principal) {
			principals = append(principals, principal)
		}
	}
	found := aclSet{}
	if len(filters) == 0 {
		if found, err = describeACLs(ctx, cl, nil); err != nil {
			return err
		}
	}
	for _, f := range filters {
		got, err := describeACLs(ctx, cl, &f)
		if err != nil {
			return err
		}
		for p, es := range got {
			found.put(p, slices.Collect(maps.Keys(es))...)
		}
	}
	if len(principals) == 0 {
		printACLs(std.out, found)
		return nil
	}
	for _, principal := range principals {
		fmt.Fprintf(std.out, "ACLs for principal `%s`\n", principal)
		theirs := aclSet{}
		for p, es := range found {
			for e := range es {
				if e.principal == principal {
					theirs.put(p, e)
				}
			}
		}
		printACLs(std.out, theirs)
	}
	return nil
}

// printACLs is AclCommand.printResourceAcls.
func printACLs(w io.Writer, set aclSet) {
	for _, p := range set.patterns() {
		fmt.Fprintf(w, "Current ACLs for resource `%s`:\n%s\n\n", p, tabbed(sortedEntries(set[p])))
	}
}

// describeACLs asks for every binding on the resources the filter
// matches (every binding when the filter is nil).
func describeACLs(ctx context.Context, cl *kgo.Client, f *aclPattern) (aclSet, error) {
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	if f != nil {
		req.ResourceType, req.ResourceName, req.ResourcePatternType = f.typ, kmsg.StringPtr(f.name), f.pattern
	}
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if err := codeError(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, err
	}
	set := aclSet{}
	for _, r := range resp.Resources {
		p := aclPattern{r.ResourceType, r.ResourceName, r.ResourcePatternType}
		for _, a := range r.ACLs {
			set.put(p, aclEntry{a.Principal, a.Host, a.Operation, a.PermissionType})
		}
	}
	return set, nil
}

// createACLs creates the bindings of entries on one resource.
func createACLs(ctx context.Context, cl *kgo.Client, p aclPattern, es []aclEntry) error {
	req := kmsg.NewPtrCreateACLsRequest()
	for _, e := range es {
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType, c.ResourceName, c.ResourcePatternType = p.typ, p.name, p.pattern
		c.Principal, c.Host, c.Operation, c.PermissionType = e.principal, e.host, e.op, e.perm
		req.Creations = append(req.Creations, c)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	return firstError(resp.Results, func(r kmsg.CreateACLsResponseResult) (int16, *string) { return r.ErrorCode, r.ErrorMessage })
}

// deleteACLs deletes the entries from the resources the filter matches,
// or every entry there when es is empty.
func deleteACLs(ctx context.Context, cl *kgo.Client, p aclPattern, es []aclEntry) error {
	req := kmsg.NewPtrDeleteACLsRequest()
	filter := func() kmsg.DeleteACLsRequestFilter {
		f := kmsg.NewDeleteACLsRequestFilter()
		f.ResourceType, f.ResourceName, f.ResourcePatternType = p.typ, kmsg.StringPtr(p.name), p.pattern
		f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		return f
	}
	if len(es) == 0 {
		req.Filters = append(req.Filters, filter())
	}
	for _, e := range es {
		f := filter()
		f.Principal, f.Host, f.Operation, f.PermissionType = kmsg.StringPtr(e.principal), kmsg.StringPtr(e.host), e.op, e.perm
		req.Filters = append(req.Filters, f)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	return firstError(resp.Results, func(r kmsg.DeleteACLsResponseResult) (int16, *string) { return r.ErrorCode, r.ErrorMessage })
}

// firstError is the first error among a response's per-entry results.
func firstError[R any](results []R, code func(R) (int16, *string)) error {
	for _, r := range results {
		if err := codeError(code(r)); err != nil {
			return err
		}
	}
	return nil
}

// codeError is a response's error code with the message sent with it.
func codeError(code int16, msg *string) error {
	if msg == nil {
		return kerr.ErrorForCode(code)
	}
	return withMessage(kerr.ErrorForCode(code), *msg)
}
