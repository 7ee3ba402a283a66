package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRatelimitCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "relayguard.toml")
	os.WriteFile(cfg, []byte(`
[store]
dir = "`+dir+`"

[[ratelimit]]
key = "user"
window = "hour"
messages = 500
recipients = 2000

[[ratelimit]]
key = "user"
window = "day"
messages = 2000

[hold]
spam_messages = 5
`), 0o600)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"show lists every window of the key", []string{"ratelimit", "show", "-config", cfg, "user:alice"}, 0,
			[]string{"user:alice", "messages", "recipients", "hour", "day", "500", "2000"}},
		{"show of a key no block counts", []string{"ratelimit", "show", "-config", cfg, "ip:192.0.2.1"}, 0,
			[]string{"no [[ratelimit]] block counts"}},
		{"release of an account not held", []string{"ratelimit", "release", "-config", cfg, "alice"}, 0,
			[]string{"account alice was not held"}},
		{"bad key", []string{"ratelimit", "show", "-config", cfg, "host:x"}, 1, []string{"unknown kind"}},
		{"no subcommand", []string{"ratelimit"}, 2, []string{"Usage: relayguard ratelimit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}
