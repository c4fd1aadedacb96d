// Command gokafka-server runs one gokafka node: the embedded Raft
// coordinator and the Kafka-protocol broker, configured by a Kafka-style
// server.properties file (an embedded single-node default without one).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/coordinator"
	klog "github.com/gokafka/gokafka/log"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("gokafka-server", flag.ContinueOnError)
	configPath := fs.String("config", "", "path of server.properties (default: the embedded single-node config)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gokafka-server [--config server.properties]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *configPath == "" && fs.NArg() == 1 {
		*configPath = fs.Arg(0) // kafka-server-start.sh style
	}
	cfg, warnings, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gokafka-server:", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", cfg.Broker.NodeID)
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
// signal, and stops them in reverse order.
func serve(cfg *serverConfig, logger *slog.Logger) error {
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	logs, err := klog.OpenManager(cfg.Log, logger.With("component", "log"))
	if err != nil {
		return fmt.Errorf("opening log.dirs: %w", err)
	}
	defer closeLogged(logger, "log manager", logs.Close)

	coord, err := coordinator.New(cfg.Coordinator, logger.With("component", "coordinator"))
	if err != nil {
		return fmt.Errorf("starting the coordinator: %w", err)
	}
	defer closeLogged(logger, "coordinator", coord.Close)

	var b *broker.Broker
	var quorumReady atomic.Bool
	ready := quorumReady.Load // a controller-only node is ready once it follows the quorum
	if cfg.hasRole("broker") {
		if b, err = broker.New(cfg.Broker, logs, coord, logger.With("component", "broker")); err != nil {
			return err
		}
		ready = b.Ready
	}
	health := newHealthServer(cfg.HTTPListener, ready, logger)
	if err := health.start(); err != nil {
		return err
	}
	defer health.close()

	if err := coord.WaitReady(ctx); err != nil {
		return fmt.Errorf("waiting for the metadata quorum: %w", err)
	}
	quorumReady.Store(true)
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

func closeLogged(logger *slog.Logger, what string, close func() error) {
	if err := close(); err != nil {
		logger.Error("closing "+what, "err", err)
	}
}

// healthServer serves /healthz, /readyz and /metrics on http.listener.
type healthServer struct {
	srv *http.Server
	log *slog.Logger
}

func newHealthServer(addr string, ready func() bool, logger *slog.Logger) *healthServer {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/metrics", promhttp.Handler()) // Go runtime and process metrics for now
	// Profiles on demand, for diagnosing a live node; they cost nothing
	// until fetched, and http.listener belongs on an operator network.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &healthServer{srv: &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}, log: logger}
}

func (h *healthServer) start() error {
	ln, err := net.Listen("tcp", h.srv.Addr)
	if err != nil {
		return fmt.Errorf("http.listener %s: %w", h.srv.Addr, err)
	}
	go func() {
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("http listener stopped", "err", err)
		}
	}()
	return nil
}

func (h *healthServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h.srv.Shutdown(ctx)
}
