// Package classes puts each recipient in a policy class: the thresholds,
// explain level and mode its mail is judged by. [[policy]] blocks name
// recipients by address or domain; the forwarding class holds recipients
// whose mail leaves for another site (spam we forward is judged as ours
// and burns our IP), declared or read from an Exim-style aliases file.
// Everyone else is in the default class. The front door keeps one class
// per transaction (one verdict per message).
package classes

import (
	"fmt"
	"os"
	"strings"

	"relayguard/internal/mailaddr"
	"relayguard/scoring"
)

// Forwarding is the forwarding class's name.
const Forwarding = "forwarding"

// Class is a named policy and the recipients it covers (addresses or
// domains).
type Class struct {
	Name       string
	Recipients []string
	Policy     scoring.Policy
}

// Options configure a Table.
type Options struct {
	Default scoring.Policy
	// Classes are the [[policy]] blocks, in order.
	Classes []Class
	// Forwarding is the forwarding class (Name is ignored); AliasesFile,
	// when set, adds every local part of it that forwards off-site, in
	// each of LocalDomains (A-labels).
	Forwarding   Class
	AliasesFile  string
	LocalDomains []string
}

type entry struct {
	class string
	p     scoring.Policy
}

// Table answers "which class is this recipient in?". An address entry
// wins over a domain entry; within each, a [[policy]] block wins over the
// forwarding class, and an earlier block over a later one.
type Table struct {
	def     scoring.Policy
	addrs   map[string]entry
	domains map[string]entry
}

// New builds the table, reading the aliases file.
func New(o Options) (*Table, error) {
	t := &Table{def: o.Default, addrs: map[string]entry{}, domains: map[string]entry{}}
	for _, c := range o.Classes {
		if err := t.add(c.Name, c.Recipients, c.Policy); err != nil {
			return nil, err
		}
	}
	fwd := o.Forwarding.Recipients
	if o.AliasesFile != "" {
		f, err := os.Open(o.AliasesFile)
		if err != nil {
			return nil, fmt.Errorf("forwarding.aliases_file: %w", err)
		}
		aliases, err := ParseAliases(f, o.AliasesFile)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("forwarding.aliases_file: %w", err)
		}
		locals := OffSite(aliases, o.LocalDomains)
		for _, local := range locals {
			for _, d := range o.LocalDomains {
				fwd = append(fwd, local+"@"+d)
			}
		}
	}
	if err := t.add(Forwarding, fwd, o.Forwarding.Policy); err != nil {
		return nil, err
	}
	return t, nil
}

// add records entries that no earlier class claimed.
func (t *Table) add(name string, recipients []string, p scoring.Policy) error {
	for _, r := range recipients {
		key, isAddr, err := normalise(r)
		if err != nil {
			return fmt.Errorf("policy %s: %q: %w", name, r, err)
		}
		m := t.domains
		if isAddr {
			m = t.addrs
		}
		if _, taken := m[key]; !taken {
			m[key] = entry{name, p}
		}
	}
	return nil
}

// normalise is the form recipients compare in: local part in lower case
// (mailbox names are case-insensitive in practice, RFC 5321 §2.4 aside),
// domain in A-labels.
func normalise(r string) (key string, isAddr bool, err error) {
	local, domain, isAddr := mailaddr.Split(strings.TrimSpace(r))
	if !isAddr {
		domain = strings.TrimSpace(r)
	}
	d := mailaddr.Normalize(domain)
	if d == "" {
		return "", false, fmt.Errorf("not an address or domain")
	}
	if isAddr {
		return strings.ToLower(local) + "@" + d, true, nil
	}
	return d, false, nil
}

// Lookup returns rcpt's class ("" for the default) and its policy.
func (t *Table) Lookup(rcpt string) (string, scoring.Policy) {
	key, isAddr, err := normalise(rcpt)
	if err != nil {
		return "", t.def
	}
	if isAddr {
		if e, ok := t.addrs[key]; ok {
			return e.class, e.p
		}
		key = key[strings.LastIndexByte(key, '@')+1:]
	}
	if e, ok := t.domains[key]; ok {
		return e.class, e.p
	}
	return "", t.def
}

// Empty tells that every recipient is in the default class.
func (t *Table) Empty() bool { return len(t.addrs)+len(t.domains) == 0 }
