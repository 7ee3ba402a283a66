package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release; the VCS revision is added from the build info.
const version = "0.1.0"

func versionString() string {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	return fmt.Sprintf("relayguard %s%s %s", version, rev, runtime.Version())
}
