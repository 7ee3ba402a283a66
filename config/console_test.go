package config

import (
	"errors"
	"testing"
	"time"
)

func TestConsoleSettings(t *testing.T) {
	tests := []struct {
		name, toml string
		wantKey    string // "" : loads
		check      func(*Config) bool
	}{
		{"off by default, history bounded", "", "", func(c *Config) bool {
			return c.Console.Listen == "" && c.Console.HistoryMax == 10000 && c.Console.HistoryAge.Duration == 7*24*time.Hour && !c.Console.StoreSubjects
		}},
		{"users file defaults to the SMTP AUTH one", "[access]\nusers_file = \"/etc/relayguard/users\"\n[console]\nlisten = \"127.0.0.1:9326\"\n", "", func(c *Config) bool {
			return c.ConsoleUsersFile() == "/etc/relayguard/users"
		}},
		{"own users file wins", "[access]\nusers_file = \"/a\"\n[console]\nlisten = \"127.0.0.1:9326\"\nusers_file = \"/b\"\n", "", func(c *Config) bool {
			return c.ConsoleUsersFile() == "/b"
		}},
		{"age in hours", "[console]\nhistory_age = \"36h\"\n", "", func(c *Config) bool { return c.Console.HistoryAge.Duration == 36*time.Hour }},
		{"listen without any users file", "[console]\nlisten = \"127.0.0.1:9326\"\n", "console.users_file", nil},
		{"listen not host:port", "[console]\nlisten = \"9326\"\nusers_file = \"/b\"\n", "console.listen", nil},
		{"history_max zero", "[console]\nhistory_max = 0\n", "console.history_max", nil},
		{"history_age too short", "[console]\nhistory_age = \"10s\"\n", "console.history_age", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.toml), "test.toml")
			if tc.wantKey != "" {
				var e *Error
				if !errors.As(err, &e) || e.Key != tc.wantKey {
					t.Fatalf("error %v, want one about %s", err, tc.wantKey)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("%+v", c.Console)
			}
		})
	}
}
