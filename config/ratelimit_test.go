package config

import (
	"strings"
	"testing"
	"time"
)

func TestRateLimitBlocksDecode(t *testing.T) {
	c, err := Parse([]byte(`
[[ratelimit]]
key = "user"
window = "hour"
messages = 500
recipients = 2000
[ratelimit.override]
"alice" = { messages = 2000 }

[[ratelimit]]
key = "ip"
window = "2d"
recipients = 10
[ratelimit.override]
"192.0.2.0/24" = { recipients = 100 }

[hold]
spam_messages = 5
window = "10m"
duration = "1h"
`), "limits.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RateLimit) != 2 {
		t.Fatalf("ratelimit = %+v", c.RateLimit)
	}
	r := c.RateLimit[0]
	if r.Key != "user" || r.Window.Duration != time.Hour || r.Messages != 500 || r.Recipients != 2000 ||
		r.Override["alice"] != (Limits{Messages: 2000}) {
		t.Errorf("first block = %+v", r)
	}
	if c.RateLimit[1].Window.Duration != 48*time.Hour || c.RateLimit[1].Override["192.0.2.0/24"].Recipients != 100 {
		t.Errorf("second block = %+v", c.RateLimit[1])
	}
	if c.Hold.SpamMessages != 5 || c.Hold.Window.Duration != 10*time.Minute || c.AuthFailures.Max != 0 {
		t.Errorf("hold = %+v, auth_failures = %+v", c.Hold, c.AuthFailures)
	}
}

func TestLimitsOffByDefault(t *testing.T) {
	c, err := Parse(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RateLimit) != 0 || c.Hold.SpamMessages != 0 || c.AuthFailures.Max != 0 {
		t.Errorf("limits on by default: %+v %+v %+v", c.RateLimit, c.Hold, c.AuthFailures)
	}
}

func TestBadRateLimitRefused(t *testing.T) {
	for name, tt := range map[string]struct{ file, want string }{
		"unknown key":      {"[[ratelimit]]\nkey = \"host\"\nwindow = \"1h\"\nmessages = 1\n", `"host"`},
		"no limit":         {"[[ratelimit]]\nkey = \"user\"\nwindow = \"1h\"\n", "positive limit"},
		"no window":        {"[[ratelimit]]\nkey = \"user\"\nmessages = 1\n", "window"},
		"bad window":       {"[[ratelimit]]\nkey = \"user\"\nwindow = \"fortnight\"\nmessages = 1\n", "not a window"},
		"bad ip override":  {"[[ratelimit]]\nkey = \"ip\"\nwindow = \"1h\"\nmessages = 1\n[ratelimit.override]\n\"bob\" = { messages = 2 }\n", "IP or a prefix"},
		"hold sans window": {"[hold]\nspam_messages = 5\nwindow = \"0s\"\n", "hold.window"},
		"negative auth":    {"[auth_failures]\nmax = -1\n", "auth_failures.max"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file), "bad.toml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// FuzzWindow: a window either parses to a non-negative length or is
// refused with an error; never a panic.
func FuzzWindow(f *testing.F) {
	for _, s := range []string{"minute", "hour", "day", "2d", "10m", "1h30m", "-1h", "d", "0d", "99999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var w Window
		if err := w.UnmarshalText([]byte(s)); err == nil && w.Duration < 0 {
			t.Errorf("%q parsed to %v", s, w.Duration)
		}
	})
}
