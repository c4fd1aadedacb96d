package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// configsCommand is kafka-configs.sh for topics and brokers, and for the
// SCRAM credentials of users.
func configsCommand(std *stdio, args []string) error {
	f := newFlags("configs", std)
	describe := f.Bool("describe", false, "describe the entity's configs")
	alter := f.Bool("alter", false, "change the entity's configs")
	entityType := f.String("entity-type", "", "REQUIRED: topics, brokers or users")
	entityName := f.String("entity-name", "", "the topic name, broker id or user name")
	entityDefault := f.Bool("entity-default", false, "with --entity-type brokers: the cluster-wide default instead of one broker")
	all := f.Bool("all", false, "--describe: every config, not only the dynamic ones")
	addConfig := f.String("add-config", "", "--alter: k=v[,k2=v2...] to set; k=[v1,v2] for a value with commas")
	deleteConfig := f.String("delete-config", "", "--alter: k[,k2...] to remove")
	if err := f.parse(args); err != nil {
		return err
	}
	if count(*describe, *alter) != 1 {
		return usagef("exactly one of --describe and --alter is needed")
	}
	if *entityType == "users" {
		return userConfigs(f, *describe, *entityName, *addConfig, *deleteConfig)
	}
	if *entityType != "topics" && *entityType != "brokers" {
		return usagef("--entity-type must be topics, brokers or users")
	}
	if (*entityName == "") != (*entityDefault && *entityType == "brokers") {
		return usagef("one of --entity-name and (for brokers) --entity-default is needed")
	}
	_, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	if *describe {
		return describeConfigs(std, adm, ctx, *entityType, *entityName, *all)
	}
	var changes []kadm.AlterConfig
	add, err := parseAddConfig(*addConfig)
	if err != nil {
		return err
	}
	for _, kv := range add {
		changes = append(changes, kadm.AlterConfig{Op: kadm.SetConfig, Name: kv[0], Value: kadm.StringPtr(kv[1])})
	}
	for _, k := range deleteConfigs(*deleteConfig) {
		changes = append(changes, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	if len(changes) == 0 {
		return usagef("--alter needs --add-config or --delete-config")
	}
	var rs kadm.AlterConfigsResponses
	if *entityType == "topics" {
		rs, err = adm.AlterTopicConfigs(ctx, changes, *entityName)
	} else {
		ids, perr := brokerIDs(*entityName)
		if perr != nil {
			return perr
		}
		rs, err = adm.AlterBrokerConfigs(ctx, changes, ids...)
	}
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Err != nil {
			return fmt.Errorf("altering %s %s: %w (%s)", *entityType, *entityName, r.Err, r.ErrMessage)
		}
	}
	if *entityDefault {
		fmt.Fprintln(std.out, "Completed updating default config for brokers in the cluster.")
	} else {
		fmt.Fprintf(std.out, "Completed updating config for %s %s.\n", strings.TrimSuffix(*entityType, "s"), *entityName)
	}
	return nil
}

// parseAddConfig reads --add-config as ConfigCommand does: entries split
// at the commas outside square brackets, each key=value split at its one
// '=' outside brackets, the brackets then dropped from the value
// (SCRAM-SHA-256=[iterations=8192,password=secret]). Later keys win.
func parseAddConfig(s string) ([][2]string, error) {
	if s == "" {
		return nil, nil
	}
	var out [][2]string
	for _, entry := range splitOutsideBrackets(s, ',', true) {
		kv := splitOutsideBrackets(entry, '=', false)
		if len(kv) != 2 {
			return nil, argumentf(`Invalid entity config: all configs to be added must be in the format "key=val" or  "key=[val1,val2]" to group values which contain commas.`)
		}
		k := strings.TrimSpace(kv[0])
		if strings.Trim(k, "$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
			return nil, argumentf("Invalid character found for config key: %s", k)
		}
		v := strings.TrimSpace(strings.NewReplacer("[", "", "]", "").Replace(kv[1]))
		out = slices.DeleteFunc(out, func(o [2]string) bool { return o[0] == k })
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// splitOutsideBrackets splits s at each sep that is not inside [...]:
// the next ']' after it, if any, comes after a '['. That is the
// lookahead of Kafka's pattern; dropTrailing drops trailing empty parts
// as Java's String.split does without a limit.
func splitOutsideBrackets(s string, sep byte, dropTrailing bool) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != sep {
			continue
		}
		rest := s[i+1:]
		close := strings.IndexByte(rest, ']')
		if close < 0 || strings.IndexByte(rest[:close], '[') >= 0 {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	for dropTrailing && len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// deleteConfigs reads --delete-config: names separated by commas.
func deleteConfigs(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, k := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(k))
	}
	return out
}

// brokerIDs reads a broker --entity-name: none for the cluster default.
func brokerIDs(name string) ([]int32, error) {
	if name == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return nil, usagef("--entity-name %q: a broker id is a number", name)
	}
	return []int32{int32(id)}, nil
}

// describeConfigs prints kafka-configs.sh --describe: the dynamic configs
// (topic overrides), or with --all every config, each with its synonyms.
func describeConfigs(std *stdio, adm *kadm.Client, ctx context.Context, typ, name string, all bool) error {
	var rcs kadm.ResourceConfigs
	var err error
	if typ == "topics" {
		rcs, err = adm.DescribeTopicConfigs(ctx, name)
	} else {
		ids, perr := brokerIDs(name)
		if perr != nil {
			return perr
		}
		rcs, err = adm.DescribeBrokerConfigs(ctx, ids...)
	}
	if err != nil {
		return err
	}
	rc, err := rcs.On(name, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return err
	}
	kind, which := strings.TrimSuffix(typ, "s"), "Dynamic"
	if all {
		which = "All"
	}
	if name == "" {
		fmt.Fprintln(std.out, "Default configs for brokers in the cluster are:")
	} else {
		fmt.Fprintf(std.out, "%s configs for %s %s are:\n", which, kind, name)
	}
	// Without --all Kafka shows the entity's own dynamic configs only:
	// a topic's overrides, one broker's, or the cluster-wide defaults.
	own := "DYNAMIC_TOPIC_CONFIG"
	switch {
	case typ != "topics" && name == "":
		own = "DYNAMIC_DEFAULT_BROKER_CONFIG"
	case typ != "topics":
		own = "DYNAMIC_BROKER_CONFIG"
	}
	slices.SortFunc(rc.Configs, func(a, b kadm.Config) int { return strings.Compare(a.Key, b.Key) })
	for _, c := range rc.Configs {
		if !all && c.Source.String() != own {
			continue
		}
		var syns []string
		for _, s := range c.Synonyms {
			v := ""
			if s.Value != nil {
				v = *s.Value
			}
			syns = append(syns, fmt.Sprintf("%s:%s=%s", s.Source, s.Key, v))
		}
		fmt.Fprintf(std.out, "  %s=%s sensitive=%v synonyms={%s}\n", c.Key, c.MaybeValue(), c.Sensitive, strings.Join(syns, ", "))
	}
	return nil
}
