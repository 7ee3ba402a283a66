package config

import (
	"fmt"
	"strings"

	"relayguard/internal/mailaddr"
	"relayguard/scoring/classes"
	"relayguard/scoring/lists"
)

// Lists are the operator's allow and block lists ([lists]): entries
// written here and, per list, a file of more (one per line, # comments)
// that SIGHUP reads again.
type Lists struct {
	AllowIPs            []string `toml:"allow_ips"`
	BlockIPs            []string `toml:"block_ips"`
	AllowSenders        []string `toml:"allow_senders"`
	BlockSenders        []string `toml:"block_senders"`
	AllowRecipients     []string `toml:"allow_recipients"`
	BlockRecipients     []string `toml:"block_recipients"`
	AllowIPsFile        string   `toml:"allow_ips_file"`
	BlockIPsFile        string   `toml:"block_ips_file"`
	AllowSendersFile    string   `toml:"allow_senders_file"`
	BlockSendersFile    string   `toml:"block_senders_file"`
	AllowRecipientsFile string   `toml:"allow_recipients_file"`
	BlockRecipientsFile string   `toml:"block_recipients_file"`
}

// Options are the lists in the form package lists loads them.
func (l Lists) Options(scores map[string]float64) lists.Options {
	return lists.Options{
		AllowIPs: l.AllowIPs, BlockIPs: l.BlockIPs,
		AllowSenders: l.AllowSenders, BlockSenders: l.BlockSenders,
		AllowRecipients: l.AllowRecipients, BlockRecipients: l.BlockRecipients,
		AllowIPsFile: l.AllowIPsFile, BlockIPsFile: l.BlockIPsFile,
		AllowSendersFile: l.AllowSendersFile, BlockSendersFile: l.BlockSendersFile,
		AllowRecipientsFile: l.AllowRecipientsFile, BlockRecipientsFile: l.BlockRecipientsFile,
		Scores: scores,
	}
}

// validate checks the entries written in the configuration; the files
// are read when the engine is built (and at every reload).
func (l Lists) validate() error {
	var ips lists.IPSet
	var addrs lists.AddrSet
	for _, set := range []struct {
		key     string
		entries []string
		add     func(string) error
	}{
		{"lists.allow_ips", l.AllowIPs, ips.Add}, {"lists.block_ips", l.BlockIPs, ips.Add},
		{"lists.allow_senders", l.AllowSenders, addrs.Add}, {"lists.block_senders", l.BlockSenders, addrs.Add},
		{"lists.allow_recipients", l.AllowRecipients, addrs.Add}, {"lists.block_recipients", l.BlockRecipients, addrs.Add},
	} {
		for _, e := range set.entries {
			if err := set.add(e); err != nil {
				return keyErr(set.key, "%v", err)
			}
		}
	}
	return nil
}

// PolicyClass is a [[policy]] block: thresholds, explain and mode for the
// recipients it names. A key left out is [scoring]'s.
type PolicyClass struct {
	Name       string   `toml:"name"`
	Recipients []string `toml:"recipients"`
	Reject     *float64 `toml:"reject"`
	AddHeader  *float64 `toml:"add_header"`
	Mode       *string  `toml:"mode"`
	Explain    *string  `toml:"explain"`
}

// Forwarding is the class of recipients whose mail leaves for another
// site ([forwarding]): listed here, or found in an Exim-style aliases file
// as local parts with a target outside access.local_domains.
type Forwarding struct {
	Recipients  []string `toml:"recipients"`
	AliasesFile string   `toml:"aliases_file"`
	Reject      float64  `toml:"reject"`
	AddHeader   float64  `toml:"add_header"`
	Mode        string   `toml:"mode"`
	Explain     string   `toml:"explain"`
}

// ForwardingClass is the name the forwarding class goes by in logs.
const ForwardingClass = classes.Forwarding

func (c *Config) validatePolicy() error {
	check := func(key string, reject, addHeader float64, mode, explain string) error {
		if reject < addHeader {
			return keyErr(key+".reject", "%.1f is below add_header %.1f", reject, addHeader)
		}
		if !oneOf(mode, "enforce", "monitor") {
			return keyErr(key+".mode", "want \"enforce\" or \"monitor\", got %q", mode)
		}
		if !oneOf(explain, "full", "summary", "none") {
			return keyErr(key+".explain", "want \"full\", \"summary\" or \"none\", got %q", explain)
		}
		return nil
	}
	f := c.Forwarding
	if err := check("forwarding", f.Reject, f.AddHeader, f.Mode, f.Explain); err != nil {
		return err
	}
	if err := recipientEntries("forwarding.recipients", f.Recipients); err != nil {
		return err
	}
	names := map[string]bool{"default": true, ForwardingClass: true}
	for _, p := range c.Policy {
		if p.Name == "" || names[p.Name] {
			return keyErr("policy", "each [[policy]] needs a name of its own (not default or forwarding), got %q", p.Name)
		}
		names[p.Name] = true
		if len(p.Recipients) == 0 {
			return keyErr("policy", "[[policy]] %q names no recipients", p.Name)
		}
		if err := recipientEntries("policy.recipients", p.Recipients); err != nil {
			return err
		}
		s := c.ClassPolicy(p)
		if err := check("policy", s.Reject, s.AddHeader, s.Mode, s.Explain); err != nil {
			return fmt.Errorf("[[policy]] %q: %w", p.Name, err)
		}
	}
	return nil
}

// ClassPolicy is a [[policy]] block's settings with [scoring]'s filling
// what it leaves out.
func (c *Config) ClassPolicy(p PolicyClass) Scoring {
	s := c.Scoring
	if p.Reject != nil {
		s.Reject = *p.Reject
	}
	if p.AddHeader != nil {
		s.AddHeader = *p.AddHeader
	}
	if p.Mode != nil {
		s.Mode = *p.Mode
	}
	if p.Explain != nil {
		s.Explain = *p.Explain
	}
	return s
}

// recipientEntries checks addresses and domains (no subdomain trees:
// a policy names what it covers).
func recipientEntries(key string, entries []string) error {
	for _, e := range entries {
		d := e
		if _, dom, ok := mailaddr.Split(e); ok {
			d = dom
		}
		if strings.Contains(d, "@") || !mailaddr.ValidDomain(strings.TrimSuffix(d, ".")) {
			return keyErr(key, "want an address or a domain, got %q", e)
		}
	}
	return nil
}
