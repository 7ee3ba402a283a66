package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// RateLimit is one [[ratelimit]] block: how many messages and recipients
// one value of Key may send per Window. Several blocks with one key and
// different windows give per-minute, per-hour and per-day limits together.
type RateLimit struct {
	// Key is what is counted by: "user" (SMTP AUTH), "sender" (MAIL
	// FROM), "ip" (the client; IPv6 by /64) or "original_ip" (the hop
	// behind a trusted relay, known only at end of DATA).
	Key    string `toml:"key"`
	Window Window `toml:"window"`
	// Messages and Recipients are the limits; 0 is none; one must be set.
	Messages   int64 `toml:"messages"`
	Recipients int64 `toml:"recipients"`
	// Override replaces the limits for one value of the key: a user name,
	// a sender address or domain, an IP or a prefix. An override that
	// leaves a limit out has none of it.
	Override map[string]Limits `toml:"override"`
}

// Limits are an override's limits.
type Limits struct {
	Messages   int64 `toml:"messages"`
	Recipients int64 `toml:"recipients"`
}

// Hold is the [hold] section: an authenticated account that sends
// SpamMessages messages scoring at or above add_header within Window is
// held for Duration. SpamMessages = 0 turns it off.
type Hold struct {
	SpamMessages int64  `toml:"spam_messages"`
	Window       Window `toml:"window"`
	Duration     Window `toml:"duration"`
}

// AuthFailures is the [auth_failures] section: Max failed AUTH attempts
// from one client address within Window block AUTH from it for Block, on
// every instance sharing the store. Max = 0 turns it off.
type AuthFailures struct {
	Max    int64  `toml:"max"`
	Window Window `toml:"window"`
	Block  Window `toml:"block"`
}

// Window is a length of time written "minute", "hour", "day", "2d" or as
// a Go duration ("10m", "1h30m").
type Window struct{ time.Duration }

func (w *Window) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch s {
	case "minute":
		w.Duration = time.Minute
		return nil
	case "hour":
		w.Duration = time.Hour
		return nil
	case "day":
		w.Duration = 24 * time.Hour
		return nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		// Bounded, or days*24h overflows time.Duration (found by FuzzWindow).
		if days, err := strconv.Atoi(n); err == nil && days > 0 && days <= 3660 {
			w.Duration = time.Duration(days) * 24 * time.Hour
			return nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf(`not a window (want "minute", "hour", "day", "2d" or e.g. "10m"): %q`, b)
	}
	w.Duration = d
	return nil
}

func (w Window) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

func (c *Config) validateLimits() error {
	for i, r := range c.RateLimit {
		key := fmt.Sprintf("ratelimit[%d]", i)
		if !oneOf(r.Key, "user", "sender", "ip", "original_ip") {
			return keyErr("key", `%s: want "user", "sender", "ip" or "original_ip", got %q`, key, r.Key)
		}
		// Counters live in whole seconds of a bucket; a window under a
		// second is a typo.
		if r.Window.Duration < time.Second {
			return keyErr("window", "%s: want a window of a second or more, got %q", key, r.Window.Duration)
		}
		if r.Messages < 0 || r.Recipients < 0 || r.Messages == 0 && r.Recipients == 0 {
			return keyErr("messages", "%s: set messages, recipients or both to a positive limit", key)
		}
		for v, o := range r.Override {
			if o.Messages < 0 || o.Recipients < 0 {
				return keyErr("override", "%s.override %q: limits must not be negative", key, v)
			}
			if r.Key == "ip" || r.Key == "original_ip" {
				if _, err := netip.ParsePrefix(v); err != nil {
					if _, err := netip.ParseAddr(v); err != nil {
						return keyErr("override", "%s.override %q: want an IP or a prefix", key, v)
					}
				}
			}
		}
	}
	if h := c.Hold; h.SpamMessages < 0 {
		return keyErr("hold.spam_messages", "must not be negative")
	} else if h.SpamMessages > 0 && (h.Window.Duration < time.Second || h.Duration.Duration <= 0) {
		return keyErr("hold.window", "hold.window (a second or more) and hold.duration must be set when spam_messages is")
	}
	if a := c.AuthFailures; a.Max < 0 {
		return keyErr("auth_failures.max", "must not be negative")
	} else if a.Max > 0 && (a.Window.Duration < time.Second || a.Block.Duration <= 0) {
		return keyErr("auth_failures.window", "auth_failures.window (a second or more) and auth_failures.block must be set when max is")
	}
	return nil
}
