package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
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

// collect is f of every x: one figure over rounds or starts.
func collect[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// ratio is a/b, false when b is no figure to divide by.
func ratio(a, b float64) (float64, bool) {
	if b <= 0 || a < 0 {
		return 0, false
	}
	return a / b, true
}

// fmtRatio prints a/b with two significant digits below 0.1 (start and
// RSS ratios are small), two decimals above, "n/a" without a figure.
func fmtRatio(a, b float64) string {
	q, ok := ratio(a, b)
	switch {
	case !ok:
		return "n/a"
	case q > 0 && q < 0.1:
		return fmt.Sprintf("%.2g", q)
	}
	return fmt.Sprintf("%.2f", q)
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS ✗"
}

// figures are one row's medians.
type figures struct{ rps, mbs, p50, p99 float64 }

func medians(rs []result) figures {
	return figures{
		rps: median(collect(rs, result.RecordsPerSec)),
		mbs: median(collect(rs, result.MBPerSec)),
		p50: median(collect(rs, func(x result) float64 { return ms(x.P50) })),
		p99: median(collect(rs, func(x result) float64 { return ms(x.P99) })),
	}
}

// printTable prints one line per case and target; the gokafka line carries
// its ratios to Kafka (records/s, p50, p99) and to kfake (records/s) on the
// same case, and whether a throughput case meets the Kafka target.
func printTable(w io.Writer, rows []*row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\ttarget\trecords/s\tMB/s\tp50 ms\tp99 ms\tspread\t/Kafka rec/s\tp50\tp99\t/kfake rec/s\t≥ Kafka\t")
	anchors := map[string]figures{} // by case and target
	for _, r := range rows {
		if len(r.results) > 0 {
			anchors[r.c.Name+"/"+r.target] = medians(r.results)
		}
	}
	for _, r := range rows {
		if len(r.results) == 0 {
			fmt.Fprintf(tw, "%s\t%s\tFAILED: %v\t\t\t\t\t\t\t\t\t%s\t\n", r.c.Name, r.target, firstLine(r.err), failMark(r.target))
			continue
		}
		f := medians(r.results)
		var toKafka, toKfake, verdict string
		if r.target == "gokafka" {
			k, okK := anchors[r.c.Name+"/Kafka"]
			toKafka = fmt.Sprintf("%s\t%s\t%s", fmtRatio(f.rps, k.rps), fmtRatio(f.p50, k.p50), fmtRatio(f.p99, k.p99))
			toKfake = fmtRatio(f.rps, anchors[r.c.Name+"/kfake"].rps)
			switch q, ok := ratio(f.rps, k.rps); {
			case r.c.E2E:
			case !okK || !ok:
				verdict = "no Kafka figure"
			default:
				verdict = mark(q >= targetThroughput)
			}
		} else {
			toKafka = "\t\t"
		}
		note := ""
		if len(r.results) < r.attempts {
			note = fmt.Sprintf(" (%d/%d ok)", len(r.results), r.attempts)
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%.0f\t%.1f\t%.2f\t%.2f\t%.0f%%\t%s\t%s\t%s\t\n",
			r.c.Name, r.target, note, f.rps, f.mbs, f.p50, f.p99, spread(collect(r.results, result.RecordsPerSec)), toKafka, toKfake, verdict)
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

// printStartup prints the start and memory figures of each server and
// gokafka's ratios to Kafka against the targets.
func printStartup(w io.Writer, figs []startupFigures) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "1 fresh node, median of starts"
	for _, f := range figs {
		head += "\t" + f.name
	}
	fmt.Fprintln(tw, head+"\tgokafka/Kafka\ttarget\t\t")
	line := func(what string, target float64, get func(startupSample) float64) {
		meds := map[string]float64{}
		fmt.Fprint(tw, what)
		for _, f := range figs {
			m := median(collect(f.samples, get))
			meds[f.name] = m
			fmt.Fprintf(tw, "\t%.1f", m)
		}
		q, ok := ratio(meds["gokafka"], meds["Kafka"])
		verdict := ""
		if ok && target > 0 {
			verdict = mark(q <= target)
		}
		tgt := ""
		if target > 0 {
			tgt = fmt.Sprintf("≤ %.2f", target)
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%s\t\n", fmtRatio(meds["gokafka"], meds["Kafka"]), tgt, verdict)
	}
	line("exec → first Metadata (ms)", 0, func(s startupSample) float64 { return ms(s.metadata) })
	line("exec → first record acked (ms)", targetStart, func(s startupSample) float64 { return ms(s.ready) })
	line("idle RSS (MiB)", targetRSS, func(s startupSample) float64 { return float64(s.rss) / (1 << 20) })
	tw.Flush()
}

// printTurns prints, for each case run in turns with its baseline, its
// rate over the baseline's: the median over every pair of adjacent turns
// of every round, with the quartiles, against issue 15's target on
// gokafka.
func printTurns(w io.Writer, rows []*row, o runOpts) {
	for _, r := range rows {
		if len(r.ratios) == 0 {
			continue
		}
		m := median(r.ratios)
		verdict := ""
		if r.target == "gokafka" {
			verdict = fmt.Sprintf("; target ≥ %.1f: %s", targetTxn, mark(m >= targetTxn))
		}
		fmt.Fprintf(w, "%s / %s on %s, in turns of %v, both ≤%d records in flight: median %.2f over %d pairs of turns, quartiles %.2f-%.2f%s\n",
			r.c.Name, r.base.c.Name, r.target, o.Turn, r.c.turnDepth(o.Inflight), m, len(r.ratios), quantile(r.ratios, 0.25), quantile(r.ratios, 0.75), verdict)
	}
}

// quantile of xs by the nearest rank; xs is not modified.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}
