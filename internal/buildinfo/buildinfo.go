// Package buildinfo answers which build a binary is, for both commands.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"slices"
)

// Version is the line Kafka's tools print for --version: the version, then
// the commit the binary was built from.
func Version() string {
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
