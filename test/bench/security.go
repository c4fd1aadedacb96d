package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gokafka/gokafka/test/harness"
	"github.com/gokafka/gokafka/test/kafka"
)

// The SASL_SSL comparison of issue 14: one node, 1 KiB records, acks=1,
// each server measured over PLAINTEXT and over SASL_SSL (SCRAM-SHA-512,
// TLS 1.3 with an ECDSA P-256 certificate) in alternation, driven by the
// in-process kgo client so that both sides of a ratio ran the same code.

// targetSASLSSL is the target: SASL_SSL throughput at least this
// fraction of PLAINTEXT's, at 1 KiB on this machine.
const targetSASLSSL = 0.7

var saslSSLCase = workload{Name: "1KiB-acks1", RecordSize: 1024, Partitions: 6, Replication: 1, Nodes: 1}

// The credential both servers' SASL_SSL listeners know.
const benchUser, benchPassword = "admin", "admin-secret"

// listener is one running single-node server on one protocol.
type listener struct {
	seeds  []string
	client []kgo.Opt
	stop   func() error
}

// securedPair is one server's PLAINTEXT and SASL_SSL listeners.
type securedPair struct {
	server      string
	plain, sasl listener
	rates       [2][]float64 // records/s per round: PLAINTEXT, SASL_SSL
	err         error
}

// measureSASLSSL starts each server twice, once per protocol, warms both
// up, then runs the case rounds times on each, alternating which goes
// first.
func measureSASLSSL(ctx context.Context, bin, dir string, withKafka bool, heap string, rounds int, warm time.Duration, o runOpts) ([]*securedPair, error) {
	pki, err := harness.NewPKIIn(mkdir(dir, "pki"))
	if err != nil {
		return nil, err
	}
	client := []kgo.Opt{kgo.DialTLSConfig(pki.ClientTLS(nil)),
		kgo.SASL(scram.Auth{User: benchUser, Pass: benchPassword}.AsSha512Mechanism())}
	pairs := []*securedPair{{server: "gokafka"}}
	if withKafka {
		pairs = append(pairs, &securedPair{server: "Kafka"})
	}
	for _, p := range pairs {
		fmt.Printf("starting %s over PLAINTEXT and over SASL_SSL ...\n", p.server)
		if p.server == "gokafka" {
			p.plain, p.err = startGokafka(bin, mkdir(dir, "gokafka-plain"), nil, nil)
			if p.err == nil {
				p.sasl, p.err = startGokafka(bin, mkdir(dir, "gokafka-sasl"), pki, client)
			}
		} else {
			p.plain, p.err = startKafka(mkdir(dir, "kafka-plain"), heap, nil, nil)
			if p.err == nil {
				p.sasl, p.err = startKafka(mkdir(dir, "kafka-sasl"), heap, pki, client)
			}
		}
		defer p.stop()
		for _, l := range []listener{p.plain, p.sasl} {
			if p.err != nil || warm <= 0 {
				break
			}
			// Said, not fatal, as warmUp's: a server still settling.
			if _, err := saslSSLCase.run(ctx, l.seeds, "warm-up", runOpts{Duration: warm, Inflight: o.Inflight, Client: l.client}); err != nil {
				fmt.Printf("(%s warm-up: %v)\n", p.server, firstLine(err))
			}
		}
	}
	for round := range rounds {
		for _, p := range pairs {
			if p.err != nil {
				continue
			}
			for i := range 2 {
				mode := (i + round) % 2 // alternate which protocol goes first
				l := []listener{p.plain, p.sasl}[mode]
				oo := o
				oo.Client = l.client
				res, err := saslSSLCase.run(ctx, l.seeds, fmt.Sprintf("sasl-ssl-%d-%d", round, mode), oo)
				if err != nil {
					p.err = err
					break
				}
				fmt.Printf("round %d/%d  %-8s %-9s %10.0f rec/s  p99 %6.1f ms\n", round+1, rounds, p.server,
					[]string{"PLAINTEXT", "SASL_SSL"}[mode], res.RecordsPerSec(), ms(res.P99))
				p.rates[mode] = append(p.rates[mode], res.RecordsPerSec())
			}
		}
	}
	return pairs, ctx.Err()
}

func (p *securedPair) stop() {
	for _, l := range []listener{p.plain, p.sasl} {
		if l.stop != nil {
			l.stop()
		}
	}
}

func mkdir(dir, name string) string {
	d := filepath.Join(dir, name)
	os.MkdirAll(d, 0o755)
	return d
}

// startGokafka starts one node, PLAINTEXT when pki is nil, else in
// harness.Secured's layout (clients on SASL_SSL).
func startGokafka(bin, dir string, pki *harness.PKI, client []kgo.Opt) (listener, error) {
	var (
		c   *harness.Cluster
		err error
	)
	if pki == nil {
		c, err = harness.Start(bin, dir, 1)
	} else {
		s := &harness.Secured{PKI: pki, Admin: benchUser, AdminPassword: benchPassword, Plain: map[string]string{benchUser: benchPassword}}
		c, err = harness.StartWith(bin, dir, 1, s.Listen, s.Props()...)
	}
	if err == nil {
		if err = c.WaitReady(30 * time.Second); err != nil {
			c.Stop()
		}
	}
	if err != nil {
		return listener{}, fmt.Errorf("gokafka: %w", err)
	}
	return listener{seeds: c.Seeds(), client: client, stop: c.Stop}, nil
}

// startKafka starts one Kafka node, PLAINTEXT when pki is nil, else with
// its client and inter-broker listener (kafka.sh names it PLAINTEXT) on
// SASL_SSL with SCRAM-SHA-512, PKCS12 stores (Kafka's PEM keystore files
// want an encrypted key), and the user formatted in with --add-scram.
func startKafka(dir, heap string, pki *harness.PKI, client []kgo.Opt) (listener, error) {
	var props []string
	if pki != nil {
		id, err := pki.Server("kafka-1")
		if err != nil {
			return listener{}, err
		}
		props = append([]string{
			"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:SASL_SSL",
			"sasl.enabled.mechanisms=SCRAM-SHA-512",
			"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
			fmt.Sprintf(`listener.name.plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`,
				benchUser, benchPassword),
		}, pki.JavaClientProps("SASL_SSL", id)[1:]...) // the stores, without security.protocol
		// kafka.sh passes KAFKA_SCRAM to the storage tool's --add-scram.
		os.Setenv("KAFKA_SCRAM", fmt.Sprintf("SCRAM-SHA-512=[name=%s,password=%s]", benchUser, benchPassword))
		defer os.Unsetenv("KAFKA_SCRAM")
	}
	c, err := kafka.Start(dir, 1, heap, props...)
	if err != nil {
		return listener{}, fmt.Errorf("kafka: %w", err)
	}
	return listener{seeds: c.Seeds, client: client, stop: c.Stop}, nil
}

// printSASLSSL prints each server's PLAINTEXT and SASL_SSL medians and
// their ratio against the target.
func printSASLSSL(w io.Writer, pairs []*securedPair, rounds int) {
	fmt.Fprintf(w, "SASL_SSL (SCRAM-SHA-512, TLS 1.3, ECDSA P-256) against PLAINTEXT: 1 node, %s, kgo driver, median of %d rounds; target SASL_SSL/PLAINTEXT ≥ %.1f\n\n",
		saslSSLCase.Name, rounds, targetSASLSSL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tPLAINTEXT rec/s\tspread\tSASL_SSL rec/s\tspread\tratio\ttarget\t")
	for _, p := range pairs {
		if p.err != nil {
			fmt.Fprintf(tw, "%s\tFAILED: %v\t\t\t\t\t\t\n", p.server, firstLine(p.err))
			continue
		}
		plain, sasl := median(p.rates[0]), median(p.rates[1])
		verdict := "met"
		if q, ok := ratio(sasl, plain); !ok || q < targetSASLSSL {
			verdict = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f%%\t%.0f\t%.0f%%\t%s\t%s\t\n", p.server, plain, spread(p.rates[0]), sasl, spread(p.rates[1]),
			fmtRatio(sasl, plain), verdict)
	}
	tw.Flush()
}
