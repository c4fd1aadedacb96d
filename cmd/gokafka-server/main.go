// Command gokafka-server runs one gokafka node: the embedded Raft
// coordinator and the Kafka-protocol broker, configured by a Kafka-style
// server.properties file (an embedded single-node default without one).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gokafka/gokafka/auth"
	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/coordinator"
	"github.com/gokafka/gokafka/internal/buildinfo"
	klog "github.com/gokafka/gokafka/log"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "format":
			return runFormat(args[1:])
		case "migrate-config":
			return runMigrateConfig(args[1:])
		case "random-uuid":
			fmt.Println(coordinator.NewClusterID())
			return 0
		case "--version", "-version":
			fmt.Println(buildinfo.Version())
			return 0
		}
	}
	fs := flag.NewFlagSet("gokafka-server", flag.ContinueOnError)
	configPath := fs.String("config", "", "path of server.properties (default: the embedded single-node config)")
	probeURL := fs.String("probe", "", "GET this URL, exit 0 on 200 and 1 otherwise, and serve nothing: a container healthcheck for an image without a shell")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gokafka-server [--config server.properties] | --probe http://127.0.0.1:9644/readyz\n"+
			"       gokafka-server format --config server.properties --cluster-id ID [--ignore-formatted] [--add-scram 'SCRAM-SHA-256=[name=N,password=P]']...\n"+
			"       gokafka-server migrate-config --node-id N --voters 1@h1:9093,2@h2:9093,3@h3:9093 old-server.properties\n"+
			"       gokafka-server random-uuid")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // asked for
		}
		return 2
	}
	if *probeURL != "" {
		return probe(*probeURL)
	}
	if *configPath == "" && fs.NArg() == 1 {
		*configPath = fs.Arg(0) // kafka-server-start.sh style
	}
	cfg, warnings, err := loadConfig(*configPath)
	if err != nil {
		reportConfig(os.Stderr, warnings, err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", cfg.Broker.NodeID)
	for _, k := range cfg.Keystores {
		k.TLS.OnReloadError(func(err error) {
			logger.Warn("keystore changed on disk but cannot be loaded; serving the previous certificate", "tls", k.What, "err", err)
		})
	}
	for _, w := range warnings {
		logger.Warn("config: " + w)
	}
	if err := serve(cfg, logger); err != nil {
		logger.Error("gokafka-server stopped", "err", err)
		return 1
	}
	return 0
}

// serve starts every part of the node in dependency order, waits for a
// signal, and stops them in reverse order. Nothing in log.dirs is opened
// before the storage identity is checked against the metadata
// (format.go): recovery writes, and the data may not be ours.
func serve(cfg *serverConfig, logger *slog.Logger) error {
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	id, err := checkStorage(cfg)
	if err != nil {
		return err
	}
	cfg.Coordinator.ClusterID = id.clusterID
	cfg.Coordinator.OnStoreFailure = func(dir string, err error) {
		halt(logger, "the metadata log directory failed", dir, err)
	}
	var running atomic.Pointer[coordinator.Coordinator] // peers may knock before New returns
	authorizePeers(cfg, func() *auth.ACLSet {
		if c := running.Load(); c != nil {
			return c.Metadata().ACLs
		}
		return nil // super users only
	})
	coord, err := coordinator.New(cfg.Coordinator, logger.With("component", "coordinator"))
	if err != nil {
		return fmt.Errorf("starting the coordinator: %w", err)
	}
	running.Store(coord)
	defer closeLogged(logger, "coordinator", coord.Close)

	reg, requests := newRegistry(coord)
	var ready atomic.Pointer[func() error] // the broker's check once it exists
	notYet := func() error { return errors.New("opening log.dirs") }
	ready.Store(&notYet)
	health := newHealthServer(cfg.HTTPListener, cfg.PprofEnable, func() error { return (*ready.Load())() }, reg, logger)
	if err := health.start(); err != nil {
		return err
	}
	defer health.close()
	installFaults(cfg, health)
	stopConsole, err := startConsole(cfg, health, reg, logger)
	if err != nil {
		return err
	}
	defer stopConsole()

	if err := coord.WaitReady(ctx); err != nil {
		return fmt.Errorf("waiting for the metadata quorum: %w", err)
	}
	if err := adoptClusterID(cfg, id, coord.Metadata().ClusterID); err != nil {
		return err
	}
	logs, err := klog.OpenManager(cfg.Log, logger.With("component", "log"))
	if err != nil {
		return fmt.Errorf("opening log.dirs: %w", err)
	}
	defer closeLogged(logger, "log manager", logs.Close)
	logs.OnDirFailure(func(dir string, err error) {
		halt(logger, "a log directory failed and gokafka takes no directory offline alone", dir, err)
	})
	reg.MustRegister(&logCollector{logs: logs})

	var b *broker.Broker
	if cfg.hasRole("broker") {
		cfg.Broker.Requests = requests
		cfg.Broker.TxnPhases = registerTxnPhases(reg)
		if b, err = broker.New(cfg.Broker, logs, coord, logger.With("component", "broker")); err != nil {
			return err
		}
		registerBroker(reg, b, cfg.MetricsPerPartition)
	}
	check := readiness(coord, b, cfg.Broker.NodeID)
	ready.Store(&check)
	if b != nil {
		if err := b.Start(ctx); err != nil {
			b.Close()
			return err
		}
		defer closeLogged(logger, "broker", b.Close)
	}
	logs.Start()
	logger.Info("gokafka ready", "roles", cfg.Roles, "startup", time.Since(start).Round(time.Millisecond))

	<-ctx.Done()
	logger.Info("shutting down")
	if b != nil {
		b.ControlledShutdown(5 * time.Second)
	}
	return nil
}

// halt ends the process when a directory fails: a log directory, as
// Kafka halts a broker left with no live log directory (with its
// partitions unwritable it must stop leading them, and a broker that
// stops heartbeating is fenced and loses every leadership; gokafka has no
// JBOD directory assignment for the controller to move single
// directories, so any failed directory halts it), or the metadata log
// directory, as Kafka halts too (a node that cannot store the metadata
// log can neither catch up nor vote, and would wait unready forever). No
// shutdown runs: closing would write to the disk that failed. Restarted
// once the disk is back, the node recovers and catches up as after a
// crash.
func halt(logger *slog.Logger, why, dir string, err error) {
	logger.Error("halting: "+why, "dir", dir, "err", err)
	os.Exit(1)
}

// reportConfig prints every problem of a config file that cannot start a
// node, one a line, and then its warnings, which may be part of the fix.
func reportConfig(w io.Writer, warnings []string, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(w, "gokafka-server: error:", line)
	}
	for _, line := range warnings {
		fmt.Fprintln(w, "gokafka-server: warning:", line)
	}
	fmt.Fprintln(w, "gokafka-server: nothing started")
}

func closeLogged(logger *slog.Logger, what string, close func() error) {
	if err := close(); err != nil {
		logger.Error("closing "+what, "err", err)
	}
}
