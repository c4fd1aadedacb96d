package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// median of xs; xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is (max-min)/median, the noise between rounds, in percent.
func spread(xs []float64) float64 {
	m := median(xs)
	if len(xs) < 2 || m == 0 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / m * 100
}

func collect(rs []result, f func(result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

// clusterShare is the 3-node RF=3 acks=all target, as a share of the
// single node's acks=1 throughput with the same record size.
const clusterShare = 0.4

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS ✗"
}

// printTable prints one line per case and target; the gokafka line carries
// the ratio to kfake on the same case and whether it meets the target.
func printTable(w io.Writer, rows []*row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\ttarget\trecords/s\tMB/s\tp50 ms\tp99 ms\tspread\tgokafka/kfake\t≥ kfake\t")
	kfakeRPS := map[string]float64{}
	single := map[int]float64{} // gokafka, 1 node, acks=1, by record size
	for _, r := range rows {
		if len(r.results) == 0 {
			continue
		}
		rps := median(collect(r.results, result.RecordsPerSec))
		switch {
		case r.target == "kfake":
			kfakeRPS[r.c.Name] = rps
		case r.c.Nodes == 1 && !r.c.AllAcks:
			single[r.c.RecordSize] = rps
		}
	}
	for _, r := range rows {
		if len(r.results) == 0 {
			fmt.Fprintf(tw, "%s\t%s\tFAILED: %v\t\t\t\t\t\t%s\t\n", r.c.Name, r.target, firstLine(r.err), failMark(r.target))
			continue
		}
		rps := collect(r.results, result.RecordsPerSec)
		mbs := collect(r.results, result.MBPerSec)
		p50 := collect(r.results, func(x result) float64 { return ms(x.P50) })
		p99 := collect(r.results, func(x result) float64 { return ms(x.P99) })
		ratio, verdict := "", ""
		if r.target == "gokafka" {
			if k, ok := kfakeRPS[r.c.Name]; ok && k > 0 {
				q := median(rps) / k
				ratio, verdict = fmt.Sprintf("%.2f", q), mark(q >= 1)
			} else {
				ratio, verdict = "n/a", "no kfake figure"
			}
			// A cluster case's target is a share of the single node's
			// acks=1 throughput: three servers and the client share the
			// machine, so kfake is no yardstick there.
			if base, ok := single[r.c.RecordSize]; ok && r.c.Nodes > 1 && base > 0 {
				q := median(rps) / base
				verdict = fmt.Sprintf("%s (%.0f%% of 1 node acks=1, target 40%%)", mark(q >= clusterShare), 100*q)
			}
		}
		note := ""
		if len(r.results) < r.attempts {
			note = fmt.Sprintf(" (%d/%d ok)", len(r.results), r.attempts)
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%.0f\t%.1f\t%.2f\t%.2f\t%.0f%%\t%s\t%s\t\n",
			r.c.Name, r.target, note, median(rps), median(mbs), median(p50), median(p99), spread(rps), ratio, verdict)
	}
	tw.Flush()
}

func failMark(target string) string {
	if target == "gokafka" {
		return mark(false)
	}
	return ""
}

func firstLine(err error) string {
	s := fmt.Sprint(err)
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// printStartup prints the start and memory figures against their targets.
func printStartup(w io.Writer, readyMs, rssMB []float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "gokafka-server, 1 node\tmedian\tmin\tmax\ttarget\t\t")
	r, m := median(readyMs), median(rssMB)
	fmt.Fprintf(tw, "start to ready (ms)\t%.0f\t%.0f\t%.0f\t< %.0f\t%s\t\n",
		r, slices.Min(readyMs), slices.Max(readyMs), float64(targetReady/time.Millisecond), mark(r < float64(targetReady/time.Millisecond)))
	fmt.Fprintf(tw, "idle RSS (MiB)\t%.1f\t%.1f\t%.1f\t< %d\t%s\t\n",
		m, slices.Min(rssMB), slices.Max(rssMB), targetRSS>>20, mark(m*(1<<20) < targetRSS))
	tw.Flush()
}
