package main

// `gokafka-server format --add-scram` records SCRAM credentials that the
// node initialising the cluster proposes with the cluster's first record,
// so that the first admin exists before any client connects. The argument
// is kafka-storage's:
//
//	SCRAM-SHA-256=[name=admin,password=admin-secret]
//	SCRAM-SHA-512=[name=admin,iterations=8192,salt=c2FsdA==,saltedpassword=…]
//
// salt and saltedpassword are base64; a value may be quoted ("…"); the
// salt is random and iterations 4096 unless given. Parsing follows Kafka's
// ScramParser, with its words in the errors.

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/coordinator"
)

// scramArgs collects repeated --add-scram flags.
type scramArgs []string

func (s *scramArgs) String() string { return strings.Join(*s, " ") }

func (s *scramArgs) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// scramDefaultIterations is kafka-storage's default.
const scramDefaultIterations = 4096

// parseAddScram turns every --add-scram argument into the credential the
// quorum stores; an error names the argument.
func parseAddScram(args []string) ([]coordinator.UserScram, error) {
	var out []coordinator.UserScram
	for _, arg := range args {
		u, err := parseScramArg(arg)
		if err != nil {
			return nil, fmt.Errorf("--add-scram %q: %w", arg, err)
		}
		dup := func(o coordinator.UserScram) bool {
			return o.User == u.User && o.Credential.Mechanism == u.Credential.Mechanism
		}
		if slices.ContainsFunc(out, dup) {
			return nil, fmt.Errorf("--add-scram %q: user %s has a %s credential already", arg, u.User, u.Credential.Mechanism)
		}
		out = append(out, u)
	}
	return out, nil
}

func parseScramArg(arg string) (coordinator.UserScram, error) {
	arg = strings.TrimSpace(arg)
	mechName, config, ok := strings.Cut(arg, "=")
	if !ok {
		return coordinator.UserScram{}, fmt.Errorf("Failed to find equals sign in SCRAM argument '%s'", arg)
	}
	mech, ok := scramMechanisms[mechName]
	if !ok {
		return coordinator.UserScram{}, fmt.Errorf("The add-scram mechanism %s is not supported.", mechName)
	}
	if !strings.HasPrefix(config, "[") {
		return coordinator.UserScram{}, errors.New("Expected configuration string to start with [")
	}
	if !strings.HasSuffix(config, "]") || len(config) < 2 {
		return coordinator.UserScram{}, errors.New("Expected configuration string to end with ]")
	}
	fields, err := scramFields(config[1 : len(config)-1])
	if err != nil {
		return coordinator.UserScram{}, err
	}
	return scramFromFields(mech, fields)
}

var scramMechanisms = map[string]auth.ScramMechanism{
	auth.ScramSHA256.String(): auth.ScramSHA256,
	auth.ScramSHA512.String(): auth.ScramSHA512,
}

// scramFields splits "k=v,k=v"; a value in double quotes loses them.
func scramFields(s string) (map[string]string, error) {
	fields := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("No equals sign found in SCRAM component: %s", part)
		}
		if len(v) >= 2 && strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
			v = v[1 : len(v)-1]
		}
		fields[k] = v
	}
	return fields, nil
}

// scramFromFields derives the stored credential as kafka-storage does.
func scramFromFields(mech auth.ScramMechanism, f map[string]string) (coordinator.UserScram, error) {
	take := func(k string) (string, bool) {
		v, ok := f[k]
		delete(f, k)
		return v, ok
	}
	name, hasName := take("name")
	saltText, hasSalt := take("salt")
	iterText, hasIter := take("iterations")
	password, hasPassword := take("password")
	saltedText, hasSalted := take("saltedpassword")
	switch {
	case !hasName:
		return coordinator.UserScram{}, errors.New("You must supply 'name' to add-scram")
	case name == "":
		return coordinator.UserScram{}, errors.New("Username must not be empty")
	case len(f) > 0:
		return coordinator.UserScram{}, fmt.Errorf("Unknown SCRAM configurations: %s", strings.Join(slices.Sorted(maps.Keys(f)), ", "))
	case !hasPassword && !hasSalted:
		return coordinator.UserScram{}, errors.New("You must supply one of 'password' or 'saltedpassword' to add-scram")
	case !hasPassword && !hasSalt:
		return coordinator.UserScram{}, errors.New("You must supply 'salt' with 'saltedpassword' to add-scram")
	}
	salt := make([]byte, 32)
	rand.Read(salt)
	if hasSalt {
		var err error
		if salt, err = base64.StdEncoding.DecodeString(saltText); err != nil {
			return coordinator.UserScram{}, fmt.Errorf("Failed to decode given salt: %s", saltText)
		}
	}
	iterations := int64(scramDefaultIterations)
	if hasIter {
		var err error
		if iterations, err = strconv.ParseInt(iterText, 10, 32); err != nil {
			return coordinator.UserScram{}, fmt.Errorf("Failed to parse iterations count: %s", iterText)
		}
	}
	switch {
	case iterations < auth.ScramMinIterations:
		return coordinator.UserScram{}, fmt.Errorf("The 'iterations' value must be >= %d for add-scram using %s", auth.ScramMinIterations, mech)
	case iterations > auth.ScramMaxIterations:
		return coordinator.UserScram{}, fmt.Errorf("The 'iterations' value must be <= %d for add-scram using %s", auth.ScramMaxIterations, mech)
	}
	var cred auth.ScramCredential
	var err error
	if hasPassword {
		cred, err = auth.NewScramCredential(mech, []byte(password), salt, int32(iterations))
	} else {
		var salted []byte
		if salted, err = base64.StdEncoding.DecodeString(saltedText); err != nil {
			return coordinator.UserScram{}, fmt.Errorf("Failed to decode given saltedPassword: %s", saltedText)
		}
		cred, err = auth.ScramFromSalted(mech, salted, salt, int32(iterations))
	}
	if err != nil {
		return coordinator.UserScram{}, err
	}
	return coordinator.UserScram{User: name, Credential: cred}, nil
}
