//go:build faultfs

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/gokafka/gokafka/clock"
	klog "github.com/gokafka/gokafka/log"
)

// A build with -tags faultfs (the chaos tests build one; a release never
// does) puts a log.FaultFS under log.dirs and lets a test strike through
// http.listener, unauthenticated:
//
//	POST /debug/faultfs?op=write|sync|read&err=EIO|ENOSPC|EINVAL[&match=substr]  fail op on paths holding match
//	POST /debug/faultfs?op=write|sync|read&delay=200ms                         slow op down
//	POST /debug/faultfs?heal=1                                                 remove every fault and delay
//	POST /debug/clock?skew=-1h                                                 skew the wall clock (package clock)
//
// Without the tag none of this is compiled in (faults_off.go).
func installFaults(cfg *serverConfig, h *healthServer) {
	disk := klog.NewFaultFS(cfg.Log.FS)
	cfg.Log.FS = disk
	h.mux.HandleFunc("POST /debug/faultfs", func(w http.ResponseWriter, r *http.Request) {
		f, err := parseFault(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.apply(disk)
		h.log.Warn("disk fault set through /debug/faultfs", "fault", r.URL.RawQuery)
		fmt.Fprintln(w, "ok")
	})
	h.mux.HandleFunc("POST /debug/clock", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("skew"))
		if err != nil {
			http.Error(w, "skew: "+err.Error(), http.StatusBadRequest)
			return
		}
		clock.SetSkew(d)
		h.log.Warn("wall clock skewed through /debug/clock", "skew", d)
		fmt.Fprintln(w, "ok")
	})
	h.log.Warn("built with -tags faultfs: disk faults and clock skew can be set on http.listener", slog.String("paths", "/debug/faultfs, /debug/clock"))
}

// faultRequest is one request to /debug/faultfs.
type faultRequest struct {
	heal  bool
	op    klog.FaultOp
	err   error // nil: a delay
	match string
	delay time.Duration
}

var faultOps = map[string]klog.FaultOp{"write": klog.FaultWrite, "sync": klog.FaultSync, "read": klog.FaultRead}

// faultErrs are the errors a fault can inject: a failing disk's, and
// EINVAL, an error of the caller's making, which a read answers without
// failing the log directory.
var faultErrs = map[string]error{"EIO": syscall.EIO, "ENOSPC": syscall.ENOSPC, "EINVAL": syscall.EINVAL}

func parseFault(q url.Values) (faultRequest, error) {
	if q.Has("heal") {
		return faultRequest{heal: true}, nil
	}
	op, ok := faultOps[q.Get("op")]
	if !ok {
		return faultRequest{}, fmt.Errorf("op %q: want write, sync or read", q.Get("op"))
	}
	f := faultRequest{op: op, match: q.Get("match")}
	switch {
	case q.Has("err") == q.Has("delay"):
		return f, errors.New("give one of err and delay")
	case q.Has("err"):
		if f.err = faultErrs[q.Get("err")]; f.err == nil {
			return f, fmt.Errorf("err %q: want EIO, ENOSPC or EINVAL", q.Get("err"))
		}
	default:
		d, err := time.ParseDuration(q.Get("delay"))
		if err != nil || d <= 0 || d > time.Minute {
			return f, fmt.Errorf("delay %q: want a duration in (0, 1m]", q.Get("delay"))
		}
		f.delay = d
	}
	return f, nil
}

func (f faultRequest) apply(disk *klog.FaultFS) {
	switch {
	case f.heal:
		disk.Heal()
	case f.err != nil:
		disk.Fail(f.op, f.match, f.err)
	default:
		disk.Delay(f.op, f.delay)
	}
}
