package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/coordinator"
)

// readiness is /readyz: nil when the node is a current member of the
// metadata quorum and, on a broker, serving (its listeners accepting) with
// every partition it holds a replica of online (led by someone), so that
// an orchestrator sends clients only where they can be served. The error says what is missing.
func readiness(coord *coordinator.Coordinator, b *broker.Broker, id int32) func() error {
	return func() error {
		if err := coord.Health(); err != nil {
			return err
		}
		if b == nil {
			return nil // controller only
		}
		if !b.Ready() {
			return errors.New("broker is not registered and serving yet")
		}
		if err := b.AcceptError(); err != nil {
			return err // out of file descriptors: clients cannot connect
		}
		offline := 0
		for _, t := range coord.Metadata().Topics.All() {
			for _, p := range t.Partitions {
				if p.Leader < 0 && slices.Contains(p.Replicas, id) {
					offline++
				}
			}
		}
		if offline > 0 {
			return fmt.Errorf("%d partitions with a replica here have no leader", offline)
		}
		return nil
	}
}

// healthServer serves http.listener: /healthz (the process answers),
// /readyz (it serves clients: 200, or 503 and why), /metrics (Prometheus
// text) and, only with http.pprof.enable=true, /debug/pprof (Go's
// profiler, which shows memory contents and costs CPU while it runs).
// None of it authenticates: http.listener belongs on an operator network.
// The web console (console.go) is served here too.
type healthServer struct {
	srv *http.Server
	mux *http.ServeMux // the web console mounts here once the broker exists
	log *slog.Logger
}

func newHealthServer(addr string, pprofOn bool, ready func() error, reg *prometheus.Registry, logger *slog.Logger) *healthServer {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}))
	if pprofOn {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return &healthServer{srv: &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}, mux: mux, log: logger}
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

// probe is --probe: one GET, for a healthcheck that has no curl to run.
func probe(url string) int {
	hc := &http.Client{Timeout: 3 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gokafka-server: probe:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "gokafka-server: probe: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	return 0
}
