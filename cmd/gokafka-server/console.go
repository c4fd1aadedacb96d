package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gokafka/gokafka/broker"
	"github.com/gokafka/gokafka/console"
)

// startConsole serves the web console on http.listener, connected to this
// broker's own client listener, and redirects / to it. It returns what
// stops it; a node without a listener the console can dial serves none.
func startConsole(cfg *serverConfig, h *healthServer, reg prometheus.Gatherer, logger *slog.Logger) (func(), error) {
	if !cfg.Console.Enable || !cfg.hasRole("broker") {
		return func() {}, nil
	}
	l, err := consoleListener(cfg.Broker.Listeners)
	if err != nil {
		logger.Warn("web console not served", "err", err)
		return func() {}, nil
	}
	cc := cfg.Console
	cc.Bootstrap = net.JoinHostPort(dialHost(l.Host), strconv.Itoa(l.Port))
	if l.Security != nil {
		cc.Mechanisms = l.Security.Mechanisms
	}
	c, err := console.New(cc, reg, logger.With("component", "console"))
	if err != nil {
		return nil, err
	}
	h.mux.Handle("/console/", c)
	h.mux.Handle("GET /{$}", http.RedirectHandler("/console/", http.StatusFound))
	logger.Info("web console on http.listener", "path", "/console/", "listener", l.Name, "changes", cc.ChangesEnable)
	return c.Close, nil
}

// consoleListener is the client listener the console dials: the first
// without TLS, since the console has no trust store for its own node's
// certificate.
func consoleListener(ls []broker.Listener) (broker.Listener, error) {
	for _, l := range ls {
		if l.Security == nil || l.Security.TLS == nil {
			return l, nil
		}
	}
	return broker.Listener{}, errors.New("every client listener is SSL or SASL_SSL; the console dials a PLAINTEXT or SASL_PLAINTEXT one")
}

// dialHost is where to reach a listener bound to host from this machine.
func dialHost(host string) string {
	ip := net.ParseIP(host)
	switch {
	case host == "" || ip != nil && ip.To4() != nil && ip.IsUnspecified():
		return "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		return "::1"
	}
	return host
}
