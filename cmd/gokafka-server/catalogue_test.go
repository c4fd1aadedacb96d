package main

import (
	"strings"
	"testing"

	"github.com/gokafka/gokafka/broker"

	"github.com/gokafka/gokafka/config"
)

// TestSettingsInCatalogue checks that every setting is a catalogue key,
// and that server.properties takes the catalogue keys no setting reads:
// checked by the catalogue, shown as the file set them.
func TestSettingsInCatalogue(t *testing.T) {
	for _, s := range settings {
		if config.BrokerKey(s.key) == nil {
			t.Errorf("%s is not in the catalogue", s.key)
		}
	}
	c, warnings := mustParse(t, minimal+"compression.type=zstd\nlog.cleaner.threads=2\n")
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	got := map[string]broker.ServerConfig{}
	for _, sc := range c.Broker.ServerConfigs {
		got[sc.Name] = sc
	}
	if sc := got["compression.type"]; sc.Value != "zstd" || sc.Default {
		t.Errorf("compression.type: %+v", sc)
	}
	if sc := got["log.preallocate"]; sc.Value != "false" || !sc.Default {
		t.Errorf("log.preallocate: %+v", sc)
	}
	if _, _, err := parse(t, minimal+"compression.type=brotli"); err == nil || !strings.Contains(err.Error(), "compression.type=brotli: ") {
		t.Errorf("compression.type=brotli gives %v, want an error naming it", err)
	}
}
