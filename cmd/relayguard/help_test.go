package main

import (
	"regexp"
	"strings"
	"testing"
)

// usageCommands lists every command and subcommand the top-level usage
// names ("relayguard config check FILE" → "config check"), so a command
// added to the usage is covered by the help tests without editing them.
func usageCommands(t *testing.T) [][]string {
	t.Helper()
	line := regexp.MustCompile(`(?m)^  relayguard ([a-z]+)((?: [a-z]+(?:\|[a-z]+)*)?)`)
	var cmds [][]string
	for _, m := range line.FindAllStringSubmatch(usage, -1) {
		subs := strings.Fields(m[2])
		if len(subs) == 0 {
			cmds = append(cmds, []string{m[1]})
			continue
		}
		for _, sub := range strings.Split(subs[0], "|") {
			cmds = append(cmds, []string{m[1], sub})
		}
	}
	if len(cmds) < 8 {
		t.Fatalf("found only %d commands in the usage text: %v", len(cmds), cmds)
	}
	return cmds
}

// TestEveryCommandHelpExitsZeroOnStdout: -h and --help are a question, not
// a mistake: the answer goes to stdout (so `| less` works) with exit 0, for
// every command and subcommand, and nothing else runs.
func TestEveryCommandHelpExitsZeroOnStdout(t *testing.T) {
	for _, cmd := range usageCommands(t) {
		for _, flag := range []string{"-h", "--help", "-help"} {
			args := append(append([]string(nil), cmd...), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut := runCmd(args...)
				if code != 0 {
					t.Errorf("exit %d, want 0; stderr %q", code, errOut)
				}
				if errOut != "" {
					t.Errorf("stderr not empty: %q", errOut)
				}
				if !strings.Contains(out, "Usage:") || !strings.Contains(out, "relayguard "+cmd[0]) {
					t.Errorf("stdout does not show the %q usage:\n%s", cmd[0], out)
				}
			})
		}
	}
}

// TestUsageNamesEveryCommand: the top-level usage lists every command the
// dispatcher knows, subcommands included.
func TestUsageNamesEveryCommand(t *testing.T) {
	for _, want := range []string{"serve", "dev", "check", "passwd", "config default", "config check", "rules default", "lookup", "version", "store stats", "bounce"} {
		if !strings.Contains(usage, "relayguard "+want) {
			t.Errorf("usage does not name %q", want)
		}
	}
}
