package config

import (
	"strings"
	"testing"
)

// TestCatalogue checks the invariants of doc.go: unique names, defaults
// their own Check accepts, a documentation string each, and every broker
// key that sets a topic key naming one that exists.
func TestCatalogue(t *testing.T) {
	for _, keys := range [][]Key{Broker, Topics} {
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k.Name] {
				t.Errorf("%s listed twice", k.Name)
			}
			seen[k.Name] = true
			if !k.NoDefault && k.Type != List && k.Type != String {
				if err := k.Check(k.Default); err != nil {
					t.Errorf("%s: default %q: %v", k.Name, k.Default, err)
				}
			}
			if len(k.Doc) < 20 || !strings.HasSuffix(k.Doc, ".") {
				t.Errorf("%s: documentation %q", k.Name, k.Doc)
			}
			if k.Topic != "" && TopicKey(k.Topic) == nil {
				t.Errorf("%s sets unknown topic key %s", k.Name, k.Topic)
			}
		}
	}
}

func TestSynonymsInPrecedence(t *testing.T) {
	var names []string
	for _, k := range Synonyms("retention.ms") {
		names = append(names, k.Name)
	}
	if got := strings.Join(names, " "); got != "log.retention.ms log.retention.minutes log.retention.hours" {
		t.Fatalf("retention.ms synonyms: %s", got)
	}
	if got := BrokerSynonyms("log.retention.minutes"); len(got) != 2 || got[1].Name != "log.retention.hours" {
		t.Fatalf("log.retention.minutes synonyms: %v", got)
	}
	if BrokerSynonyms("no.such.key") != nil || len(BrokerSynonyms("num.partitions")) != 1 {
		t.Fatal("synonyms of a key without a topic key")
	}
}

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		key, value string
		ok         bool
	}{
		{"log.cleaner.backoff.ms", "250", true},
		{"log.cleaner.backoff.ms", "0", false},
		{"log.cleaner.backoff.ms", "soon", false},
		{"log.cleaner.min.cleanable.ratio", "0.25", true},
		{"log.cleaner.min.cleanable.ratio", "1.5", false},
		{"log.cleaner.min.cleanable.ratio", "NaN", false},
		{"log.preallocate", "TRUE", true},
		{"log.preallocate", "yes", false},
		{"compression.type", "zstd", true},
		{"compression.type", "brotli", false},
		{"log.cleanup.policy", "compact, delete", true},
		{"log.cleanup.policy", "archive", false},
		{"message.max.bytes", "2147483648", false},
		{"compression.zstd.level", "-131073", false},
	} {
		err := BrokerKey(tt.key).Check(tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("%s=%s: %v, want ok=%v", tt.key, tt.value, err, tt.ok)
		}
	}
}

// TestRetiredNotInCatalogue keeps the two lists apart: a key gokafka reads
// is never reported as one it ignores.
func TestRetiredNotInCatalogue(t *testing.T) {
	for k := range retired {
		if BrokerKey(k) != nil {
			t.Errorf("%s is both retired and in the catalogue", k)
		}
	}
	if _, ok := Retired("zookeeper.ssl.client.enable"); !ok {
		t.Error("a zookeeper.* key is not retired")
	}
	if _, ok := Retired("log.dirs"); ok {
		t.Error("log.dirs is retired")
	}
}
