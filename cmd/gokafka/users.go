package main

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// The SCRAM mechanisms by the names kafka-configs.sh takes as config keys.
var scramMechanisms = map[string]kadm.ScramMechanism{
	"SCRAM-SHA-256": kadm.ScramSha256,
	"SCRAM-SHA-512": kadm.ScramSha512,
}

// Kafka's quota keys for users: kafka-configs.sh alters them through
// AlterClientQuotas, which gokafka's CLI does not speak.
var userQuotaKeys = []string{"producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"}

// scramMinIterations is ScramMechanism.minIterations for both mechanisms;
// the tool's default is the same figure.
const scramMinIterations = 4096

// userConfigs is kafka-configs.sh --entity-type users for SCRAM
// credentials: --alter upserts (the client salts the password) and
// deletes them in one AlterUserScramCredentials; --describe prints the
// mechanisms and iterations of one user, or of all without a name.
// Kafka reports its argument errors on standard error with exit 1.
func userConfigs(f *flags, describe bool, name, addConfig, deleteConfig string) error {
	var upserts []kadm.UpsertSCRAM
	var deletes []kadm.DeleteSCRAM
	if !describe {
		if name == "" {
			return argumentf("An entity name must be specified for every entity type")
		}
		var err error
		if upserts, deletes, err = scramChanges(name, addConfig, deleteConfig); err != nil {
			return err
		}
	}
	_, adm, ctx, done, err := f.open()
	if err != nil {
		return err
	}
	defer done()
	if describe {
		return describeUserSCRAMs(f.std, adm, ctx, name)
	}
	altered, err := adm.AlterUserSCRAMs(ctx, deletes, upserts)
	if err != nil {
		return err
	}
	for _, a := range altered {
		if a.Err != nil {
			return fmt.Errorf("altering the SCRAM credentials of %s: %w", a.User, withMessage(a.Err, a.ErrMessage))
		}
	}
	fmt.Fprintf(f.std.out, "Completed updating config for user %s.\n", name)
	return nil
}

// scramChanges turns --add-config and --delete-config into the
// credentials to upsert and delete, refusing what ConfigCommand refuses.
func scramChanges(user, addConfig, deleteConfig string) ([]kadm.UpsertSCRAM, []kadm.DeleteSCRAM, error) {
	add, err := parseAddConfig(addConfig)
	if err != nil {
		return nil, nil, err
	}
	del := deleteConfigs(deleteConfig)
	var unknownAdd, unknownDel []string
	quotas := false
	for _, kv := range add {
		if _, ok := scramMechanisms[kv[0]]; !ok && !slices.Contains(userQuotaKeys, kv[0]) {
			unknownAdd = append(unknownAdd, kv[0])
		}
		quotas = quotas || slices.Contains(userQuotaKeys, kv[0])
	}
	for _, k := range del {
		if _, ok := scramMechanisms[k]; !ok && !slices.Contains(userQuotaKeys, k) {
			unknownDel = append(unknownDel, k)
		}
		quotas = quotas || slices.Contains(userQuotaKeys, k)
	}
	switch {
	case len(unknownAdd) > 0:
		return nil, nil, argumentf("Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: %s", strings.Join(unknownAdd, ","))
	case len(unknownDel) > 0:
		return nil, nil, argumentf("Only quota and SCRAM credential configs can be deleted for 'users' using --bootstrap-server. Unexpected config names: %s", strings.Join(unknownDel, ","))
	case quotas:
		return nil, nil, argumentf("User quotas (%s) are not supported by gokafka configs; only SCRAM credential configs", strings.Join(userQuotaKeys, ", "))
	case len(add) == 0 && len(del) == 0:
		return nil, nil, usagef("--alter needs --add-config or --delete-config")
	}
	var upserts []kadm.UpsertSCRAM
	for _, kv := range add {
		iterations, password, err := parseScramCredential(kv[0], kv[1])
		if err != nil {
			return nil, nil, err
		}
		upserts = append(upserts, kadm.UpsertSCRAM{User: user, Mechanism: scramMechanisms[kv[0]], Iterations: iterations, Password: password})
	}
	var deletes []kadm.DeleteSCRAM
	for _, k := range del {
		deletes = append(deletes, kadm.DeleteSCRAM{User: user, Mechanism: scramMechanisms[k]})
	}
	return upserts, deletes, nil
}

// scramCredential is the value kafka-configs.sh takes for a mechanism.
var scramCredential = regexp.MustCompile(`^(?:iterations=(-?[0-9]*),)?password=(.*)$`)

// parseScramCredential reads "[iterations=N,]password=P" (brackets
// already dropped); no iterations, or -1, is Kafka's default of 4096.
func parseScramCredential(mechanism, value string) (int32, string, error) {
	m := scramCredential.FindStringSubmatchIndex(value)
	if m == nil {
		return 0, "", argumentf("Invalid credential property %s=%s", mechanism, value)
	}
	iterations := int64(scramMinIterations)
	if m[2] >= 0 && value[m[2]:m[3]] != "-1" {
		n, err := strconv.ParseInt(value[m[2]:m[3]], 10, 32)
		if err != nil {
			return 0, "", argumentf("For input string: %q", value[m[2]:m[3]])
		}
		iterations = n
	}
	if iterations < scramMinIterations {
		return 0, "", argumentf("Iterations %d is less than the minimum %d required for %s", iterations, scramMinIterations, mechanism)
	}
	return int32(iterations), value[m[4]:m[5]], nil
}

// describeUserSCRAMs prints "SCRAM credential configs for user-principal
// 'alice' are SCRAM-SHA-256=iterations=8192, ..." per user that has
// credentials; a user without any prints nothing, as with Kafka.
func describeUserSCRAMs(std *stdio, adm *kadm.Client, ctx context.Context, name string) error {
	var names []string
	if name != "" {
		names = append(names, name)
	}
	described, err := adm.DescribeUserSCRAMs(ctx, names...)
	if err != nil {
		return err
	}
	for _, u := range slices.Sorted(maps.Keys(described)) {
		d := described[u]
		switch {
		case d.Err == kerr.ResourceNotFound:
			continue
		case d.Err != nil:
			fmt.Fprintf(std.out, "Error retrieving SCRAM credential configs for user-principal '%s': %s\n", u, errorMessage(withMessage(d.Err, d.ErrMessage)))
			continue
		}
		infos := make([]string, len(d.CredInfos))
		for i, c := range d.CredInfos {
			infos[i] = fmt.Sprintf("%s=iterations=%d", c.Mechanism, c.Iterations)
		}
		fmt.Fprintf(std.out, "SCRAM credential configs for user-principal '%s' are %s\n", u, strings.Join(infos, ", "))
	}
	return nil
}
