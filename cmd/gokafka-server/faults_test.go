//go:build faultfs

package main

import (
	"net/url"
	"syscall"
	"testing"
	"time"

	klog "github.com/gokafka/gokafka/log"
)

func TestParseFault(t *testing.T) {
	for _, c := range []struct {
		query string
		want  faultRequest
		bad   bool
	}{
		{query: "heal=1", want: faultRequest{heal: true}},
		{query: "op=write&err=ENOSPC&match=.log", want: faultRequest{op: klog.FaultWrite, err: syscall.ENOSPC, match: ".log"}},
		{query: "op=sync&delay=200ms", want: faultRequest{op: klog.FaultSync, delay: 200 * time.Millisecond}},
		{query: "op=read&err=EIO", want: faultRequest{op: klog.FaultRead, err: syscall.EIO}},
		{query: "op=read&err=EINVAL&match=.log", want: faultRequest{op: klog.FaultRead, err: syscall.EINVAL, match: ".log"}},
		{query: "op=fsync&err=EIO", bad: true},
		{query: "op=write", bad: true},
		{query: "op=write&err=EIO&delay=1s", bad: true},
		{query: "op=write&err=EPERM", bad: true},
		{query: "op=write&delay=-1s", bad: true},
		{query: "op=write&delay=2h", bad: true},
		{query: "op=write&delay=%zz", bad: true},
	} {
		q, _ := url.ParseQuery(c.query)
		got, err := parseFault(q)
		if c.bad {
			if err == nil {
				t.Errorf("%s: accepted as %+v", c.query, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.query, got, err, c.want)
		}
	}
}

// Any query parses to a fault or an error, never a panic.
func FuzzParseFault(f *testing.F) {
	for _, s := range []string{"heal", "op=write&err=EIO", "op=sync&delay=1ms&match=x", "op=&delay=", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, _ := url.ParseQuery(s)
		parseFault(q)
	})
}
