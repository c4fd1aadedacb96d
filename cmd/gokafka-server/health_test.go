package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProbeExitCodes(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	if rc := probe(srv.URL); rc != 0 {
		t.Errorf("probe of a 200: exit %d, want 0", rc)
	}
	status = http.StatusServiceUnavailable
	if rc := probe(srv.URL); rc != 1 {
		t.Errorf("probe of a 503: exit %d, want 1", rc)
	}
	if rc := probe("http://127.0.0.1:1/readyz"); rc != 1 {
		t.Errorf("probe of a closed port: exit %d, want 1", rc)
	}
}
