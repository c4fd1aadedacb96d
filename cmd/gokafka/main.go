// Command gokafka is the operator CLI, shaped like Kafka's tools: the
// command is the script's name without kafka- and .sh (gokafka topics for
// kafka-topics.sh), with the same flags and the same output. It speaks
// only the Kafka protocol, through franz-go, so it works against Apache
// Kafka too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gokafka/gokafka/internal/buildinfo"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A command runs with its arguments (after its name) and its streams.
type command struct {
	summary string
	run     func(io *stdio, args []string) error
}

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

var commands = map[string]command{
	"topics":              {"create, list, describe, alter and delete topics", topicsCommand},
	"acls":                {"add, remove and list ACLs", aclsCommand},
	"consumer-groups":     {"list, describe, reset offsets of and delete consumer groups", consumerGroupsCommand},
	"configs":             {"describe and alter topic and broker configs and users' SCRAM credentials", configsCommand},
	"console-producer":    {"produce lines from stdin", consoleProducerCommand},
	"console-consumer":    {"print records to stdout", consoleConsumerCommand},
	"metadata-quorum":     {"describe the Raft metadata quorum (describe --status | --replication)", metadataQuorumCommand},
	"producer-perf-test":  {"produce at a given rate and report throughput and latency percentiles", producerPerfTestCommand},
	"consumer-perf-test":  {"consume a number of records and report throughput", consumerPerfTestCommand},
	"reassign-partitions": {"move partitions to other brokers (--generate, --execute, --verify, --cancel)", reassignPartitionsCommand},
	"get-offsets":         {"print topic:partition:offset for the latest, earliest or a given time", getOffsetsCommand},
	"transactions":        {"list, describe and abort transactions, find hanging ones", transactionsCommand},
	"leader-election":     {"elect the preferred (or an unclean) leader of partitions", leaderElectionCommand},
	"log-dirs":            {"describe the brokers' log directories and the partitions in them", logDirsCommand},
	"delete-records":      {"move partitions' log start offsets forward", deleteRecordsCommand},
	"dump-log":            {"print segment, index, snapshot and checkpoint files of a data directory, offline", dumpLogCommand},
	"mirror":              {"copy topics and translated group offsets from another Kafka cluster (MIGRATING.md)", mirrorCommand},
}

func main() {
	os.Exit(run(os.Args[1:], &stdio{os.Stdin, os.Stdout, os.Stderr}))
}

// run returns the exit status: 0, 1 for a failed command, 2 for bad usage.
func run(args []string, std *stdio) int {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		usage(std.out)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if slices.Contains(args, "--version") { // gokafka --version, or per command as Kafka's tools
		fmt.Fprintln(std.out, buildinfo.Version())
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(std.err, "gokafka: unknown command %q; gokafka --help lists them\n", args[0])
		return 2
	}
	err := cmd.run(std, args[1:])
	var ue usageError
	var te toolError
	var ae argumentError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &te):
		fmt.Fprintln(std.out, te.msg)
		return 1
	case errors.As(err, &ae):
		fmt.Fprintln(std.err, ae.msg)
		return 1
	case errors.As(err, &ue):
		fmt.Fprintf(std.err, "gokafka %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(std.err, "Error: %v\n", err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: gokafka <command> [flags]; gokafka <command> --help for its flags")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-20s %s\n", n, commands[n].summary)
	}
}

// usageError is a mistake in the command line, as opposed to a failure of
// the operation.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// toolError is a failure Kafka's tool reports on standard output in its
// own words ("Error while executing topic command : ..."), exit status 1.
type toolError struct{ msg string }

func (e toolError) Error() string { return e.msg }

// argumentError is a bad command line as the newer Kafka tools report it:
// the message alone on standard error and exit status 1 (their
// CommandLineUtils.printUsageAndExit, or an IllegalArgumentException),
// where gokafka's older commands follow the convention of status 2.
type argumentError struct{ msg string }

func (e argumentError) Error() string { return e.msg }

func argumentf(format string, args ...any) error {
	return argumentError{fmt.Sprintf(format, args...)}
}

// asArgumentError turns a usage error of the shared flags into the form
// Kafka's newer tools use; other errors, and --help, pass unchanged.
func asArgumentError(err error) error {
	var ue usageError
	if errors.As(err, &ue) {
		return argumentError(ue)
	}
	return err
}

// brokerError is an error code with the message the broker sent with it.
type brokerError struct {
	err error
	msg string
}

func (e brokerError) Error() string { return e.err.Error() + ": " + e.msg }
func (e brokerError) Unwrap() error { return e.err }

// withMessage attaches the broker's error message, if it sent one.
func withMessage(err error, msg string) error {
	if err == nil || msg == "" {
		return err
	}
	return brokerError{err, msg}
}

// errorMessage is an error as a Java tool prints its exception's message:
// the broker's message, else Kafka's description of the code.
func errorMessage(err error) string {
	var be brokerError
	if errors.As(err, &be) {
		return be.msg
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Description
	}
	return err.Error()
}

// flags is a command's flag set with the flags every command shares.
type flags struct {
	*flag.FlagSet
	bootstrap     string
	commandConfig string
	timeout       time.Duration
	std           *stdio
}

func newFlags(name string, std *stdio) *flags {
	f := &flags{FlagSet: flag.NewFlagSet("gokafka "+name, flag.ContinueOnError), std: std}
	f.SetOutput(io.Discard) // errors come back as one line; --help prints usage
	f.StringVar(&f.bootstrap, "bootstrap-server", "", "REQUIRED: the Kafka servers to connect to, host:port[,host:port...]")
	f.StringVar(&f.commandConfig, "command-config", "", "a client properties file: client.id, request.timeout.ms, security.protocol, sasl.*, ssl.*")
	f.DurationVar(&f.timeout, "command-timeout", 30*time.Second, "how long the command may take")
	return f
}

// parse parses args; a flag error is a usage error (flag has printed it).
func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.usage()
			return err
		}
		return usageError{strings.Replace(err.Error(), " -", " --", 1) + " (--help lists the flags)"}
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	if f.bootstrap == "" {
		return usagef("--bootstrap-server is required")
	}
	return nil
}

// usage lists the flags the way Kafka's tools spell them, with two dashes.
func (f *flags) usage() {
	fmt.Fprintf(f.std.out, "usage: %s [flags]\n", f.Name())
	f.VisitAll(func(fl *flag.Flag) {
		arg := ""
		if _, isBool := fl.Value.(interface{ IsBoolFlag() bool }); !isBool {
			arg = " <value>"
		}
		fmt.Fprintf(f.std.out, "  --%s%s\n    \t%s\n", fl.Name, arg, fl.Usage)
	})
}

// clientAutoCreates is the option of the producing and consuming tools:
// Java's producer and consumer ask for auto-creation in their metadata
// requests (the broker decides), and Kafka's tools rely on it. Its admin
// client never does, so that a describe of a mistyped name does not
// create a topic.
var clientAutoCreates = kgo.AllowAutoTopicCreation()

// client connects with the shared flags and extra options.
func (f *flags) client(opts ...kgo.Opt) (*kgo.Client, *kadm.Client, error) {
	base := []kgo.Opt{kgo.SeedBrokers(strings.Split(f.bootstrap, ",")...)}
	if f.commandConfig != "" {
		more, err := clientProperties(f.commandConfig)
		if err != nil {
			return nil, nil, err
		}
		base = append(base, more...)
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	return cl, kadm.NewClient(cl), nil
}

// open connects and bounds the command by --timeout; done undoes both.
func (f *flags) open(opts ...kgo.Opt) (cl *kgo.Client, adm *kadm.Client, ctx context.Context, done func(), err error) {
	cl, adm, err = f.client(opts...)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	return cl, adm, ctx, func() { cancel(); cl.Close() }, nil
}

// listFlag collects a repeated flag (--config k=v --config k2=v2).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// keyValues parses k=v entries; a value may hold commas and '='.
func keyValues(entries []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range entries {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("%q is not key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}
