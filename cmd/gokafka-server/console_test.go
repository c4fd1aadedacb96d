package main

import (
	"crypto/tls"
	"testing"

	"github.com/gokafka/gokafka/broker"
)

func TestConsoleListener(t *testing.T) {
	tlsL := broker.Listener{Name: "SSL", Port: 9093, Security: &broker.Security{Protocol: "SSL", TLS: &tls.Config{}}}
	sasl := broker.Listener{Name: "SASL_PLAINTEXT", Host: "0.0.0.0", Port: 9094, Security: &broker.Security{Protocol: "SASL_PLAINTEXT", Mechanisms: []string{"PLAIN"}}}
	if l, err := consoleListener([]broker.Listener{tlsL, sasl}); err != nil || l.Name != "SASL_PLAINTEXT" {
		t.Errorf("console listener of SSL and SASL_PLAINTEXT: %+v, %v; want SASL_PLAINTEXT", l, err)
	}
	if _, err := consoleListener([]broker.Listener{tlsL}); err == nil {
		t.Error("a node with only TLS listeners gave the console one to dial")
	}
	for host, want := range map[string]string{"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "10.1.2.3": "10.1.2.3", "kafka-01": "kafka-01"} {
		if got := dialHost(host); got != want {
			t.Errorf("dialHost(%q) = %q, want %q", host, got, want)
		}
	}
}
