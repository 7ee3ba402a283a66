package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultsLoad(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:10025" || c.Relay.Upstream != "127.0.0.1:10026" {
		t.Errorf("listen/upstream = %q/%q", c.Server.Listen, c.Relay.Upstream)
	}
	if c.Scoring.Reject != 15 || c.Scoring.AddHeader != 6 {
		t.Errorf("thresholds = %v/%v", c.Scoring.Reject, c.Scoring.AddHeader)
	}
	if c.Server.IdleTimeout.Duration != 5*time.Minute {
		t.Errorf("idle_timeout = %v", c.Server.IdleTimeout)
	}
	if c.Server.Hostname == "" {
		t.Error("hostname not filled from the machine")
	}
}

func TestUserFileOverridesOnlyWhatItSays(t *testing.T) {
	c, err := Parse([]byte(`
[server]
listen = "0.0.0.0:25"
[access]
relay_networks = ["192.0.2.0/24", "2001:db8::1/64"]
local_domains = ["Example.COM.", "Bücher.example"]
`), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "0.0.0.0:25" {
		t.Errorf("listen = %q", c.Server.Listen)
	}
	if c.Server.MaxRecipients != 100 {
		t.Errorf("max_recipients lost its default: %d", c.Server.MaxRecipients)
	}
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/64")}
	if len(c.Access.RelayNetworks) != 2 || c.Access.RelayNetworks[0] != want[0] || c.Access.RelayNetworks[1] != want[1] {
		t.Errorf("relay_networks = %v, want %v (replacing, not appending to, the default)", c.Access.RelayNetworks, want)
	}
	// Local domains are kept in the form they are compared in: A-labels,
	// lower case, no trailing dot.
	if !slices.Equal(c.Access.LocalDomains, []string{"example.com", "xn--bcher-kva.example"}) {
		t.Errorf("local domains not normalised: %q", c.Access.LocalDomains)
	}
}

func TestInvalidConfigNamesKeyAndLine(t *testing.T) {
	tests := []struct {
		name, file string
		want       string // substring of the error
	}{
		{"unknown key", "[server]\nlisten = \"127.0.0.1:25\"\nlistne = \"x\"\n", "test.toml:3: server.listne: unknown key"},
		{"unknown table", "[srever]\nlisten = \"x\"\n", "srever"},
		{"bad cidr", "[access]\n\nrelay_networks = [\"10.0.0.0/33\"]\n", "test.toml:3"},
		{"bad address", "[server]\nlisten = \"localhost\"\n", "test.toml:2: server.listen: want host:port"},
		{"bad upstream", "[relay]\nupstream = \"mx.example.com\"\n", "test.toml:2: relay.upstream"},
		{"empty maildir", "[relay]\nupstream = \"maildir:\"\n", "relay.upstream: maildir: needs a path"},
		{"reject below add_header", "[scoring]\nreject = 5.0\nadd_header = 6.0\n", "test.toml:2: scoring.reject: 5.0 is below scoring.add_header 6.0"},
		{"bad mode", "[scoring]\nmode = \"enforcing\"\n", "scoring.mode"},
		{"bad explain", "[scoring]\nexplain = \"all\"\n", "scoring.explain"},
		{"bad starttls", "[relay]\nstarttls = \"yes\"\n", "relay.starttls"},
		{"bad duration", "[server]\nidle_timeout = \"5 minutes\"\n", "test.toml:2"},
		{"zero recipients", "[server]\nmax_recipients = 0\n", "server.max_recipients: must be positive"},
		{"short lines", "[server]\nmax_line_length = 512\n", "server.max_line_length"},
		{"per-ip above global", "[server]\nmax_connections = 10\nmax_connections_per_ip = 20\n", "max_connections_per_ip"},
		{"cert without key", "[server]\ntls_cert = \"/x.pem\"\n", "tls_cert and tls_key go together"},
		{"bad local domain", "[access]\nlocal_domains = [\"exa mple.com\"]\n", "access.local_domains"},
		{"local domain needing IDNA mapping", "[access]\nlocal_domains = [\"\u212Aiosk.test\"]\n", "access.local_domains"},
		{"bad dns server", "[dns]\nservers = [\"dns.example\"]\n", "dns.servers"},
		{"wrong type", "[server]\nmax_recipients = \"many\"\n", "max_recipients"},
		{"bad log format", "[log]\nformat = \"xml\"\n", "log.format"},
		{"syntax error", "[server\nlisten=1\n", "test.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file), "test.toml")
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.file)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestDefaultFileDocumentsEveryKey(t *testing.T) {
	// Every key a user can set appears, commented, in `config default`.
	text := string(Default())
	for _, key := range []string{"listen", "hostname", "max_message_bytes", "max_recipients", "max_connections",
		"max_connections_per_ip", "tls_cert", "tls_key", "upstream", "starttls", "timeout", "relay_networks",
		"local_domains", "users_file", "trusted_relays", "reject", "add_header", "mode", "explain"} {
		if !strings.Contains(text, "\n"+key+" = ") {
			t.Errorf("default config does not show %s", key)
		}
	}
}

func TestListsDecode(t *testing.T) {
	c, err := Parse([]byte(`
[dns]
servers = ["127.0.0.1:5353", "::1"]
on_error = "tempfail"

[[dnsbl]]
zone = "zen.spamhaus.org"
weight = 8.0
codes = { "127.0.0.10" = 3.0 }
policy = ["127.0.0.10"]

[[uribl]]
zone = "multi.surbl.org"
weight = 6.0
bitmask = true
`), "lists.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.DNSBL) != 1 || c.DNSBL[0].Codes["127.0.0.10"] != 3 || c.DNSBL[0].Policy[0] != "127.0.0.10" {
		t.Errorf("dnsbl = %+v", c.DNSBL)
	}
	if len(c.URIBL) != 1 || !c.URIBL[0].Bitmask || len(c.DNSWL) != 0 {
		t.Errorf("uribl = %+v, dnswl = %+v", c.URIBL, c.DNSWL)
	}
	if c.DNS.OnError != "tempfail" || len(c.DNS.Servers) != 2 {
		t.Errorf("dns = %+v", c.DNS)
	}
	for name, file := range map[string]string{
		"bad zone":      "[[dnsbl]]\nzone = \"not a zone\"\n",
		"bad server":    "[dns]\nservers = [\"resolver.example\"]\n",
		"bad on_error":  "[dns]\non_error = \"retry\"\n",
		"unknown field": "[[dnsbl]]\nzone = \"bl.example\"\nwieght = 3.0\n",
	} {
		if _, err := Parse([]byte(file), "x.toml"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestObservabilityKeys(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr string
		check   func(t *testing.T, c *Config)
	}{
		{name: "defaults: metrics off, egress every 15m, known removal pages", file: "",
			check: func(t *testing.T, c *Config) {
				if c.Metrics.Listen != "" || c.Blocklists.EgressCheckInterval.Duration != 15*time.Minute {
					t.Errorf("metrics.listen %q, egress_check_interval %v", c.Metrics.Listen, c.Blocklists.EgressCheckInterval)
				}
				if c.Blocklists.RemovalPages["spamhaus.org"] != "https://check.spamhaus.org/" {
					t.Errorf("removal_pages: %v", c.Blocklists.RemovalPages)
				}
			}},
		{name: "a removal page added keeps the built-in ones",
			file: "[blocklists.removal_pages]\n\"bl.example.net\" = \"https://bl.example.net/remove\"\n",
			check: func(t *testing.T, c *Config) {
				p := c.Blocklists.RemovalPages
				if p["bl.example.net"] != "https://bl.example.net/remove" || p["spamcop.net"] == "" {
					t.Errorf("removal_pages: %v", p)
				}
			}},
		{name: "metrics on loopback", file: "[metrics]\nlisten = \"127.0.0.1:9325\"\n"},
		{name: "metrics listen not host:port", file: "[metrics]\nlisten = \"9325\"\n", wantErr: "metrics.listen"},
		{name: "egress interval too short", file: "[blocklists]\negress_check_interval = \"100ms\"\n", wantErr: "blocklists.egress_check_interval"},
	}
	for _, tt := range tests {
		var data []byte
		if tt.file != "" {
			data = []byte(tt.file)
		}
		c, err := Parse(data, "test.toml")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want one naming %s", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if tt.check != nil {
			tt.check(t, c)
		}
	}
}
