package config

import (
	"strings"
	"testing"
)

func TestListsAndPolicyConfigValidated(t *testing.T) {
	for _, tc := range []struct {
		name, toml, wantErr string
	}{
		{"bad IP entry", "[lists]\nblock_ips = [\"192.0.2.300\"]\n", "lists.block_ips"},
		{"bad sender entry", "[lists]\nallow_senders = [\"user@exa mple.com\"]\n", "lists.allow_senders"},
		{"policy without a name", "[[policy]]\nrecipients = [\"example.com\"]\n", "needs a name"},
		{"policy named default", "[[policy]]\nname = \"default\"\nrecipients = [\"example.com\"]\n", "needs a name"},
		{"policy without recipients", "[[policy]]\nname = \"x\"\n", "names no recipients"},
		{"policy recipient not a domain", "[[policy]]\nname = \"x\"\nrecipients = [\"not a domain\"]\n", "policy.recipients"},
		{"policy reject under inherited add_header", "[[policy]]\nname = \"x\"\nrecipients = [\"example.com\"]\nreject = 5.0\n", "below add_header"},
		{"forwarding mode", "[forwarding]\nmode = \"maybe\"\n", "forwarding.mode"},
		{"unknown key", "[lists]\nallow = []\n", "unknown key"},
		{"good", "[lists]\nallow_ips = [\"2001:db8::/32\"]\nblock_senders = [\".spam.example\"]\n[[policy]]\nname = \"lenient\"\nrecipients = [\"sales.example.com\", \"ceo@example.net\"]\nreject = 25.0\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.toml), "test.toml")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				s := c.ClassPolicy(c.Policy[0])
				if s.Reject != 25 || s.AddHeader != c.Scoring.AddHeader || s.Explain != c.Scoring.Explain {
					t.Errorf("class policy %+v: want reject 25 and [scoring]'s other settings", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
