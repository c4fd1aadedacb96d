//go:build !faultfs

package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// A build without -tags faultfs serves no way to break its disk or clock,
// and leaves the logs on the operating system's file system.
func TestNoFaultsWithoutTag(t *testing.T) {
	cfg := &serverConfig{}
	h := newHealthServer("127.0.0.1:0", false, func() error { return nil }, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	installFaults(cfg, h)
	if cfg.Log.FS != nil {
		t.Fatalf("log FS %T, want the operating system's", cfg.Log.FS)
	}
	for _, path := range []string{"/debug/faultfs?op=write&err=EIO", "/debug/clock?skew=1h"} {
		rec := httptest.NewRecorder()
		h.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, rec.Code)
		}
	}
}
