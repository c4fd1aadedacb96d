package main

import (
	"fmt"
	"runtime/debug"
	"slices"
)

// buildVersion is the line Kafka's tools print for --version: the
// version, then the commit the binary was built from. (gokafka-server
// prints the same; the two commands share no package to hold it.)
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (Commit:unknown)"
	}
	commit := "unknown"
	if i := slices.IndexFunc(bi.Settings, func(s debug.BuildSetting) bool { return s.Key == "vcs.revision" }); i >= 0 {
		commit = bi.Settings[i].Value
	}
	return fmt.Sprintf("%s (Commit:%s)", bi.Main.Version, commit)
}
