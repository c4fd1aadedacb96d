package group

import (
	"testing"
	"time"
)

// Kafka's defaults are valid; each setting the coordinator cannot run
// with is refused.
func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	zeroMin := DefaultConfig()
	zeroMin.MinSessionTimeout = 0 // Kafka takes 0
	if err := zeroMin.Validate(); err != nil {
		t.Fatalf("group.min.session.timeout.ms=0: %v", err)
	}
	for name, bad := range map[string]func(*Config){
		"max below min":       func(c *Config) { c.MaxSessionTimeout = c.MinSessionTimeout - time.Millisecond },
		"group.max.size 0":    func(c *Config) { c.MaxSize = 0 },
		"negative delay":      func(c *Config) { c.InitialRebalanceDelay = -1 },
		"no partitions":       func(c *Config) { c.OffsetsPartitions = 0 },
		"no retention":        func(c *Config) { c.OffsetsRetention = 0 },
		"no retention checks": func(c *Config) { c.OffsetsRetentionCheckInterval = 0 },
	} {
		c := DefaultConfig()
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
