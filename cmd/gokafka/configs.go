package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// configsCommand is kafka-configs.sh for topics and brokers.
func configsCommand(std *stdio, args []string) error {
	f := newFlags("configs", std)
	describe := f.Bool("describe", false, "describe the entity's configs")
	alter := f.Bool("alter", false, "change the entity's configs")
	entityType := f.String("entity-type", "", "REQUIRED: topics or brokers")
	entityName := f.String("entity-name", "", "the topic name or broker id")
	entityDefault := f.Bool("entity-default", false, "with --entity-type brokers: the cluster-wide default instead of one broker")
	all := f.Bool("all", false, "--describe: every config, not only the dynamic ones")
	addConfig := f.String("add-config", "", "--alter: k=v[,k2=v2...] to set")
	deleteConfig := f.String("delete-config", "", "--alter: k[,k2...] to remove")
	if err := f.parse(args); err != nil {
		return err
	}
	if count(*describe, *alter) != 1 {
		return usagef("exactly one of --describe and --alter is needed")
	}
	if *entityType != "topics" && *entityType != "brokers" {
		return usagef("--entity-type must be topics or brokers")
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
	if *addConfig != "" {
		kv, err := keyValues(strings.Split(*addConfig, ","))
		if err != nil {
			return err
		}
		for k, v := range kv {
			changes = append(changes, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
		}
	}
	if *deleteConfig != "" {
		for _, k := range strings.Split(*deleteConfig, ",") {
			changes = append(changes, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: strings.TrimSpace(k)})
		}
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
